"""Token counting: tiktoken the way OpenAI's cookbook counts, or a Hugging Face chat template.

OpenAI-style (``TiktokenCounter``): per message 3 tokens plus the tokens of
each string field (role, content, name + 1), and 3 to prime the reply, with
o200k_base for the gpt-4o / gpt-4.1 / o-series families and cl100k_base for
older models. Hugging Face (``HFTokenCounter``): the length of the model's
chat template applied to the conversation; transformers is imported only when
a tokenizer has to be loaded, and an already-loaded tokenizer can be passed in.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple, Protocol, runtime_checkable

from tunekit.data.examples import (
    ROLES,
    ChatExample,
    Message,
    PreferenceExample,
    PromptCompletionExample,
    TextExample,
    Tool,
)
from tunekit.data.profile import model_key
from tunekit.data.tiktoken_cache import ENCODING_FILES, fastest_counter, get_encoding
from tunekit.errors import DependencyMissingError
from tunekit.secrets import get_logger

__all__ = [
    "CounterSource",
    "HFTokenCounter",
    "TiktokenCounter",
    "TokenCount",
    "TokenCounter",
    "count_tokens",
    "encoding_for_model",
    "load_tokenizer",
    "token_counter",
]

logger = get_logger("tunekit.data.tokens")

AnyExample = ChatExample | PreferenceExample | PromptCompletionExample | TextExample

_HUGE = 1_000_000
"""Strings longer than this many characters are estimated (4 bytes a token), not encoded."""

_O200K = re.compile(r"^(gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o1|o3|o4|chatgpt-4o|gpt-oss|codex)")


class TokenCount(NamedTuple):
    """Tokens of one example: all of them, the trained ones, and the longest sequence the model sees."""

    total: int
    trained: int
    longest: int


@runtime_checkable
class TokenCounter(Protocol):
    """Counts tokens of examples for one model."""

    name: str
    approximate: bool

    def count_text(self, text: str) -> int: ...

    def count_messages(self, messages: Sequence[Message], tools: Sequence[Tool] | None = None) -> int: ...

    def count_example(self, example: AnyExample) -> TokenCount: ...


def _tiktoken_encoding(model: str) -> str | None:
    """The encoding tiktoken's own model table gives ``model`` (fine-tuned ids reduced to their base), or None."""
    from tiktoken.model import encoding_name_for_model

    try:
        return encoding_name_for_model(model_key(model))
    except KeyError:
        return None


def encoding_for_model(model: str) -> str:
    """The tiktoken encoding of a model id, fine-tuned ids included (o200k_base for the newer families)."""
    name = model_key(model)
    known = _tiktoken_encoding(name)
    if known is not None:
        return known
    return "o200k_base" if _O200K.match(name) else "cl100k_base"


class TiktokenCounter:
    """OpenAI-style counting with the cookbook's per-message overhead.

    Repeated strings (system prompts, roles) are counted once: a small
    bounded cache keeps memory flat however large the data.
    """

    tokens_per_message = 3
    tokens_per_name = 1
    reply_priming = 3
    _cache_chars = 32 << 20
    """Characters of memoized strings before the memo starts over: flat memory, whatever the data's size."""

    def __init__(self, encoding: str = "o200k_base", *, approximate: bool = False) -> None:
        self.encoding_name = encoding
        self.name = f"tiktoken:{encoding}"
        self.approximate = approximate
        tiktoken_encoding = get_encoding(encoding)
        self._encode_checked = tiktoken_encoding.encode_ordinary
        # The fastest counter known to give tiktoken's counts for this encoding (see fastest_counter).
        self._count, self.backend = fastest_counter(encoding, tiktoken_encoding)
        self._cache: dict[str, int] = {}
        self._cached_chars = 0
        self._roles = {role: self._count(role) for role in ROLES}

    @classmethod
    def for_model(cls, model: str) -> TiktokenCounter:
        return cls(encoding_for_model(model))

    def count_text(self, text: str) -> int:
        cache = self._cache
        n = cache.get(text)
        if n is not None:
            return n
        if len(text) > _HUGE:
            return len(text.encode("utf-8", "replace")) // 4
        try:
            n = self._count(text)
        except (UnicodeEncodeError, ValueError):  # lone surrogates: tiktoken's wrapper replaces them
            n = len(self._encode_checked(text))
        # Memoized by content: a system prompt repeated on every line is encoded once, however long.
        self._cached_chars += len(text)
        if self._cached_chars > self._cache_chars:
            cache.clear()
            self._cached_chars = len(text)
        cache[text] = n
        return n

    def _content(self, message: Message) -> int:
        content = message.content
        if isinstance(content, str):
            return self.count_text(content)
        if content:
            return self.count_text(message.text())
        return 0

    def _message(self, message: Message) -> tuple[int, int]:
        """(all tokens of the message, tokens the model learns from it)."""
        count = self.count_text
        body = self._content(message)
        if message.tool_calls:
            for call in message.tool_calls:
                body += count(call.id) + count(call.function.name) + count(call.function.arguments)
        if message.function_call is not None:
            body += count(message.function_call.name) + count(message.function_call.arguments)
        n = self.tokens_per_message + count(message.role) + body
        if message.name is not None:
            n += count(message.name) + self.tokens_per_name
        if message.tool_call_id is not None:
            n += count(message.tool_call_id)
        trained = body if message.role == "assistant" and message.weight != 0 else 0
        return n, trained

    def _tools(self, tools: Sequence[Tool] | None) -> int:
        if not tools:
            return 0
        return self.count_text(json.dumps([t.model_dump(exclude_none=True) for t in tools], ensure_ascii=False))

    def count_messages(self, messages: Sequence[Message], tools: Sequence[Tool] | None = None) -> int:
        total = self.reply_priming + self._tools(tools)
        for message in messages:
            total += self._message(message)[0]
        return total

    def _conversation(self, messages: Sequence[Message], tools: Sequence[Tool] | None) -> TokenCount:
        total = self.reply_priming + self._tools(tools)
        trained = 0
        cache = self._cache
        roles = self._roles
        per_message = self.tokens_per_message
        for message in messages:
            fields = message.__dict__
            content = fields["content"]
            role = fields["role"]
            if (
                type(content) is str
                and fields["name"] is None
                and fields["tool_calls"] is None
                and fields["function_call"] is None
                and fields["tool_call_id"] is None
            ):
                # The common plain message, inlined: this loop is most of validation's time.
                n = cache.get(content)
                if n is None:
                    n = self.count_text(content)
                total += per_message + roles[role] + n
                if role == "assistant" and fields["weight"] != 0:
                    trained += n
            else:
                n, t = self._message(message)
                total += n
                trained += t
        return TokenCount(total, trained, total)

    def count_pairs(self, pairs: Sequence[tuple[str, str]]) -> tuple[int, int]:
        """(total, trained) of plain ``(role, content)`` messages: what :meth:`count_example` gives their example."""
        cache = self._cache
        roles = self._roles
        total = self.reply_priming + self.tokens_per_message * len(pairs)
        trained = 0
        for role, content in pairs:
            n = cache.get(content)
            if n is None:
                n = self.count_text(content)
            total += roles[role] + n
            if role == "assistant":
                trained += n
        return total, trained

    def count_example(self, example: AnyExample) -> TokenCount:
        if isinstance(example, ChatExample):
            return self._conversation(example.messages, example.tools)
        if isinstance(example, PreferenceExample):
            chosen = self._conversation([*example.prompt, *example.chosen], example.tools)
            rejected = self._conversation([*example.prompt, *example.rejected], example.tools)
            return TokenCount(
                chosen.total + rejected.total, chosen.trained + rejected.trained, max(chosen.total, rejected.total)
            )
        if isinstance(example, PromptCompletionExample):
            return self._conversation(example.to_messages(), None)
        n = self.count_text(example.text)
        return TokenCount(n, n, n)


class HFTokenCounter:
    """Counting with a Hugging Face tokenizer and its chat template."""

    approximate = False

    def __init__(self, tokenizer: Any, *, name: str | None = None) -> None:
        self.tokenizer = tokenizer
        self.name = f"hf:{name or getattr(tokenizer, 'name_or_path', '') or type(tokenizer).__name__}"
        self._has_template = bool(getattr(tokenizer, "chat_template", None))

    @classmethod
    def from_pretrained(cls, model: str) -> HFTokenCounter:
        """Load ``model``'s tokenizer without downloading anything; lazy transformers import.

        A Hub id must be in the local cache; a folder or a ``.gguf`` file (or a
        built-in alias) is read from disk. A GGUF tokenizer takes long to parse,
        so the first load saves it under ``$TUNEKIT_HOME/cache/tokenizers``.
        """
        return cls(load_tokenizer(model), name=model)

    @property
    def model_max_length(self) -> int | None:
        value = getattr(self.tokenizer, "model_max_length", None)
        return int(value) if isinstance(value, int) and 0 < value < 10_000_000 else None

    def count_text(self, text: str) -> int:
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        return len(ids)

    def _ids_length(self, result: Any) -> int:
        if isinstance(result, dict) or hasattr(result, "keys"):
            result = result["input_ids"]
        if result and isinstance(result[0], list):
            result = result[0]
        return len(result)

    def count_messages(self, messages: Sequence[Message], tools: Sequence[Tool] | None = None) -> int:
        dicts = [m.to_dict(weights=False) for m in messages]
        if not self._has_template:
            return self.count_text("\n".join(f"{d['role']}: {Message.model_validate(d).text()}" for d in dicts))
        tool_dicts = [t.model_dump(exclude_none=True) for t in tools] if tools else None
        result = self.tokenizer.apply_chat_template(dicts, tools=tool_dicts, tokenize=True, return_dict=False)
        return self._ids_length(result)

    def _trained(self, messages: Sequence[Message]) -> int:
        return sum(self.count_text(m.text()) for m in messages if m.role == "assistant" and m.weight != 0 and m.content)

    def count_example(self, example: AnyExample) -> TokenCount:
        if isinstance(example, ChatExample):
            n = self.count_messages(example.messages, example.tools)
            return TokenCount(n, self._trained(example.messages), n)
        if isinstance(example, PreferenceExample):
            a = self.count_messages([*example.prompt, *example.chosen], example.tools)
            b = self.count_messages([*example.prompt, *example.rejected], example.tools)
            return TokenCount(a + b, self._trained(example.chosen) + self._trained(example.rejected), max(a, b))
        if isinstance(example, PromptCompletionExample):
            if isinstance(example.prompt, str) and isinstance(example.completion, str):
                n = self.count_text(example.prompt + example.completion)
                return TokenCount(n, self.count_text(example.completion), n)
            messages = example.to_messages()
            n = self.count_messages(messages)
            return TokenCount(n, self._trained(messages), n)
        n = self.count_text(example.text)
        return TokenCount(n, n, n)


class CounterSource(Protocol):
    """A provider's token counter hook (:meth:`tunekit.provider.Provider.token_counter`)."""

    def token_counter(self, model: str) -> TokenCounter | None: ...


def token_counter(model: str, provider: CounterSource | None = None, *, tokenizer: Any = None) -> TokenCounter:
    """The right counter for a model on a provider.

    In order: a tokenizer passed in; the provider's ``token_counter`` hook
    (OpenAI-style services count with tiktoken); without a provider, tiktoken
    for a model tiktoken knows; the model's Hugging Face tokenizer. When no
    tokenizer can be loaded (offline, not cached, a hosted-only model), counts
    fall back to o200k_base and the counter says it is approximate.
    """
    if tokenizer is not None:
        return HFTokenCounter(tokenizer)
    if provider is not None:
        counter = provider.token_counter(model)
        if counter is not None:
            return counter
    elif _tiktoken_encoding(model) in ENCODING_FILES:  # the encodings that load offline
        return TiktokenCounter.for_model(model)
    try:
        return HFTokenCounter.from_pretrained(model)
    except Exception as exc:  # any load failure (offline, gated, unknown id) means: estimate instead
        logger.info("cannot load the tokenizer of %s (%s); estimating tokens with o200k_base", model, exc)
        return TiktokenCounter("o200k_base", approximate=True)


def count_tokens(
    value: str | Sequence[Message | dict[str, Any]] | AnyExample,
    model: str = "gpt-4o-mini",
    *,
    provider: CounterSource | None = None,
    tokenizer: Any = None,
    counter: TokenCounter | None = None,
) -> int:
    """Tokens of a text, a list of messages or an example, as ``model`` sees them."""
    counter = counter or token_counter(model, provider, tokenizer=tokenizer)
    if isinstance(value, str):
        return counter.count_text(value)
    if isinstance(value, (ChatExample, PreferenceExample, PromptCompletionExample, TextExample)):
        return counter.count_example(value).total
    messages = [m if isinstance(m, Message) else Message.model_validate(m) for m in value]
    return counter.count_messages(messages)


def _tokenizer_cache(gguf: Path) -> Path:
    from tunekit.paths import tunekit_home

    stat = gguf.stat()
    ident = f"{gguf.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    return tunekit_home() / "cache" / "tokenizers" / f"{gguf.stem}-{hashlib.sha256(ident.encode()).hexdigest()[:16]}"


def load_tokenizer(model: str) -> Any:
    """A Hugging Face tokenizer for ``model`` from local files only (Hub cache, folder, GGUF, alias)."""
    from tunekit.inference.loading import resolve_model

    # Resolved first: a model that is not on this machine fails here, without importing transformers (and torch).
    source = resolve_model(model)
    try:
        from transformers import AutoTokenizer
    except ImportError:
        raise DependencyMissingError("counting tokens with a HF tokenizer", "tunekit[tokenizers]") from None
    if source.kind == "hub":
        return AutoTokenizer.from_pretrained(source.location, revision=source.revision, local_files_only=True)
    if source.kind != "gguf":
        return AutoTokenizer.from_pretrained(source.location, local_files_only=True)
    gguf = Path(source.location)
    cached = _tokenizer_cache(gguf)
    if (cached / "tokenizer_config.json").is_file():
        return AutoTokenizer.from_pretrained(str(cached), local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name, local_files_only=True)
    partial = cached.with_name(f"{cached.name}.{os.getpid()}.partial")
    try:
        tokenizer.save_pretrained(str(partial))
        os.replace(partial, cached)
    except OSError as exc:  # a read-only home only costs the next load its time
        logger.debug("cannot cache the tokenizer of %s: %s", gguf, exc)
        shutil.rmtree(partial, ignore_errors=True)
    return tokenizer
