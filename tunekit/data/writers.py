"""Writers: canonical examples to each provider's format, as dict rows or as a file.

The ``to_*_rows`` functions are what providers reuse (the local provider builds
its TRL dataset from :func:`to_trl_rows`, AutoTrain its columns from
:func:`to_autotrain_rows`); :func:`write_examples` streams rows to a JSONL file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

from tunekit.data.examples import (
    ChatExample,
    Message,
    PreferenceExample,
    PromptCompletionExample,
    TextExample,
    Tool,
)
from tunekit.errors import DataError
from tunekit.secrets import get_logger

__all__ = [
    "CHAT_TEMPLATES",
    "TARGETS",
    "autotrain_params",
    "render_chat",
    "to_autotrain_rows",
    "to_hf_dataset",
    "to_openai_preference_rows",
    "to_openai_reinforcement_rows",
    "to_openai_rows",
    "to_trl_rows",
    "write_examples",
]

logger = get_logger("tunekit.data.writers")

AnyExample = ChatExample | PreferenceExample | PromptCompletionExample | TextExample
TrlFormat = Literal["auto", "conversational", "prompt-completion", "preference", "text"]
ChatTemplate = Literal["tokenizer", "chatml", "zephyr", "none"]
CHAT_TEMPLATES = ("tokenizer", "chatml", "zephyr", "none")


def _cannot(example: AnyExample, target: str, hint: str = "") -> DataError:
    source = example.source
    return DataError(
        f"a {example.kind} example cannot be written as {target}" + (f": {hint}" if hint else ""),
        file=source.file if source else None,
        line=source.line if source else None,
    )


def _messages(messages: Iterable[Message], *, weights: bool = True) -> list[dict[str, Any]]:
    return [m.to_dict(weights=weights) for m in messages]


def _tools(tools: list[Tool] | None) -> list[dict[str, Any]] | None:
    return [t.model_dump(exclude_none=True) for t in tools] if tools is not None else None


def to_openai_rows(examples: Iterable[AnyExample]) -> Iterator[dict[str, Any]]:
    """OpenAI (and Azure) chat fine-tuning rows: ``{"messages": [...], "tools": [...]}``."""
    for ex in examples:
        if isinstance(ex, ChatExample):
            row: dict[str, Any] = {"messages": _messages(ex.messages)}
            if ex.tools is not None:
                row["tools"] = _tools(ex.tools)
            if ex.parallel_tool_calls is not None:
                row["parallel_tool_calls"] = ex.parallel_tool_calls
            yield row
        elif isinstance(ex, PromptCompletionExample):
            yield {"messages": _messages(ex.to_messages())}
        elif isinstance(ex, PreferenceExample):
            raise _cannot(ex, "openai chat", "write it as openai-preference")
        else:
            raise _cannot(ex, "openai chat", "OpenAI trains on conversations, not plain text")


def to_openai_preference_rows(examples: Iterable[AnyExample]) -> Iterator[dict[str, Any]]:
    """OpenAI DPO rows: ``input`` / ``preferred_output`` / ``non_preferred_output``."""
    for ex in examples:
        if not isinstance(ex, PreferenceExample):
            raise _cannot(ex, "openai-preference", "it needs chosen and rejected answers")
        payload: dict[str, Any] = {"messages": _messages(ex.prompt)}
        if ex.tools is not None:
            payload["tools"] = _tools(ex.tools)
        yield {
            "input": payload,
            "preferred_output": _messages(ex.chosen),
            "non_preferred_output": _messages(ex.rejected),
        }


def to_openai_reinforcement_rows(
    examples: Iterable[AnyExample], *, reference: str = "reference", target: str = "openai-reinforcement"
) -> Iterator[dict[str, Any]]:
    """Reinforcement rows: the prompt's ``messages``, the last answer as ``reference``, the other fields.

    An OpenAI grader reads them as ``{{item.reference}}`` and ``{{item.<field>}}``. The
    ``reinforcement`` target names the answer ``ground_truth`` instead, as Eval Protocol
    (reward-kit) evaluators, such as Fireworks' reinforcement fine-tuning, read it.
    """
    for ex in examples:
        if isinstance(ex, PromptCompletionExample):
            ex_messages = ex.to_messages()
        elif isinstance(ex, ChatExample):
            ex_messages = list(ex.messages)
        else:
            raise _cannot(ex, target, "it needs a prompt and a reference answer")
        last = max((i for i, m in enumerate(ex_messages) if m.role == "assistant"), default=None)
        if not last:
            raise _cannot(ex, target, "it needs a prompt and an assistant answer (the reference)")
        fields = dict(ex.fields or {})
        for reserved in ("messages", reference, "tools"):
            if reserved in fields:
                raise _cannot(ex, target, f"its field {reserved!r} would hide the row's own")
        row: dict[str, Any] = {"messages": _messages(ex_messages[:last], weights=False)}
        if isinstance(ex, ChatExample) and ex.tools is not None:
            row["tools"] = _tools(ex.tools)
        row[reference] = ex_messages[last].text()
        row.update(fields)
        yield row


def to_trl_rows(
    examples: Iterable[AnyExample], *, format: TrlFormat = "auto", tools: bool = True, weights: bool = False
) -> Iterator[dict[str, Any]]:
    """Rows of a TRL dataset (conversational, prompt-completion, preference or text).

    ``auto`` keeps each kind in its natural TRL shape; ``prompt-completion``
    splits a conversation before its last assistant turn. TRL has no
    per-message weight: ``weights=True`` keeps them on conversational messages
    for a trainer that honours them (tunekit-local trains only weight-1
    turns); otherwise they are dropped, with a warning logged once.
    """
    warned = weights
    for ex in examples:
        if isinstance(ex, ChatExample):
            if not warned and any(m.weight is not None for m in ex.messages):
                logger.warning("TRL has no per-message weight: weights are dropped, all assistant turns train")
                warned = True
            if format == "prompt-completion":
                last = max((i for i, m in enumerate(ex.messages) if m.role == "assistant"), default=None)
                if last is None:
                    raise _cannot(ex, "trl-prompt-completion", "it has no assistant message")
                yield {
                    "prompt": _messages(ex.messages[:last], weights=False),
                    "completion": _messages(ex.messages[last:], weights=False),
                }
                continue
            if format not in ("auto", "conversational"):
                raise _cannot(ex, f"trl-{format}")
            row: dict[str, Any] = {"messages": _messages(ex.messages, weights=weights)}
            if tools and ex.tools is not None:
                row["tools"] = _tools(ex.tools)
            yield row
        elif isinstance(ex, PromptCompletionExample):
            if format == "conversational":
                yield {"messages": _messages(ex.to_messages())}
                continue
            if format not in ("auto", "prompt-completion"):
                raise _cannot(ex, f"trl-{format}")
            yield {
                "prompt": ex.prompt if isinstance(ex.prompt, str) else _messages(ex.prompt),
                "completion": ex.completion if isinstance(ex.completion, str) else _messages(ex.completion),
            }
        elif isinstance(ex, PreferenceExample):
            if format not in ("auto", "preference"):
                raise _cannot(ex, f"trl-{format}")
            row = {
                "prompt": _messages(ex.prompt),
                "chosen": _messages(ex.chosen),
                "rejected": _messages(ex.rejected),
            }
            if tools and ex.tools is not None:
                row["tools"] = _tools(ex.tools)
            yield row
        else:
            if format not in ("auto", "text"):
                raise _cannot(ex, f"trl-{format}")
            yield {"text": ex.text}


def render_chat(messages: Iterable[Message], template: ChatTemplate = "chatml", tokenizer: Any = None) -> str:
    """A conversation as one string: with ``tokenizer``'s chat template, or ChatML / Zephyr markup."""
    dicts = _messages(messages, weights=False)
    if tokenizer is not None:
        return str(tokenizer.apply_chat_template(dicts, tokenize=False))
    if template == "zephyr":
        return "".join(f"<|{m['role']}|>\n{Message.model_validate(m).text()}</s>\n" for m in dicts)
    return "".join(f"<|im_start|>{m['role']}\n{Message.model_validate(m).text()}<|im_end|>\n" for m in dicts)


def to_autotrain_rows(
    examples: Iterable[AnyExample], *, chat_template: ChatTemplate = "tokenizer", tokenizer: Any = None
) -> Iterator[dict[str, Any]]:
    """AutoTrain LLM rows: ``text`` for SFT, ``prompt``/``chosen``/``rejected`` for DPO and ORPO.

    With a ``chat_template`` (tokenizer, chatml, zephyr) the columns hold
    message lists and AutoTrain applies the template; with ``none`` they hold
    text rendered here (the tokenizer's template when one is given, else ChatML).
    """
    if chat_template not in CHAT_TEMPLATES:
        raise DataError(f"unknown chat_template {chat_template!r}; use one of {', '.join(CHAT_TEMPLATES)}")
    as_text = chat_template == "none"
    warned = False
    for ex in examples:
        if isinstance(ex, (ChatExample, PromptCompletionExample)):
            messages = ex.to_messages()
            if not warned and any(m.weight is not None for m in messages):
                logger.warning("AutoTrain has no per-message weight: weights are dropped, all assistant turns train")
                warned = True
            text = render_chat(messages, "chatml", tokenizer) if as_text else _messages(messages, weights=False)
            yield {"text": text}
        elif isinstance(ex, PreferenceExample):
            if as_text:
                yield {
                    "prompt": render_chat(ex.prompt, "chatml", tokenizer),
                    "chosen": "".join(m.text() for m in ex.chosen),
                    "rejected": "".join(m.text() for m in ex.rejected),
                }
            else:
                yield {
                    "prompt": _messages(ex.prompt, weights=False),
                    "chosen": _messages(ex.chosen, weights=False),
                    "rejected": _messages(ex.rejected, weights=False),
                }
        else:
            yield {"text": ex.text}


def autotrain_params(kind: str, chat_template: ChatTemplate = "tokenizer") -> dict[str, Any]:
    """The AutoTrain column parameters matching :func:`to_autotrain_rows`' output for a kind of example."""
    template = None if chat_template == "none" else chat_template
    params: dict[str, Any] = {"text_column": "text", "chat_template": template}
    if kind == "preference":
        params.update(text_column="chosen", prompt_text_column="prompt", rejected_text_column="rejected")
    return params


def to_hf_dataset(examples: Iterable[AnyExample], *, format: TrlFormat = "auto") -> Any:
    """A ``datasets.Dataset`` of :func:`to_trl_rows` (lazy import of datasets)."""
    try:
        import datasets
    except ImportError:
        from tunekit.errors import DependencyMissingError

        raise DependencyMissingError("building a Hugging Face dataset", "tunekit[datasets]") from None
    return datasets.Dataset.from_list(list(to_trl_rows(examples, format=format)))


TARGETS = (
    "openai",
    "openai-preference",
    "openai-reinforcement",
    "azure",
    "azure-preference",
    "azure-reinforcement",
    "reinforcement",
    "trl",
    "trl-conversational",
    "trl-prompt-completion",
    "trl-preference",
    "trl-text",
    "autotrain",
)


_TRL_FORMATS: dict[str, TrlFormat] = {
    "trl-conversational": "conversational",
    "trl-prompt-completion": "prompt-completion",
    "trl-preference": "preference",
    "trl-text": "text",
}


def _rows(
    examples: Iterable[AnyExample], target: str, chat_template: ChatTemplate, tokenizer: Any, weights: bool
) -> Iterator[Any]:
    if target in ("openai", "azure"):
        return to_openai_rows(examples)
    if target in ("openai-preference", "azure-preference"):
        return to_openai_preference_rows(examples)
    if target in ("openai-reinforcement", "azure-reinforcement"):
        return to_openai_reinforcement_rows(examples)
    if target == "reinforcement":
        return to_openai_reinforcement_rows(examples, reference="ground_truth", target=target)
    if target == "trl":
        return to_trl_rows(examples, weights=weights)
    if target.startswith("trl-"):
        return to_trl_rows(examples, format=_TRL_FORMATS[target], weights=weights)
    if target == "autotrain":
        return to_autotrain_rows(examples, chat_template=chat_template, tokenizer=tokenizer)
    raise DataError(f"unknown target {target!r}; use one of {', '.join(TARGETS)}")


def write_examples(
    examples: Iterable[AnyExample],
    path: str | os.PathLike[str],
    target: str,
    *,
    chat_template: ChatTemplate = "tokenizer",
    tokenizer: Any = None,
    weights: bool = False,
) -> Path:
    """Write examples as JSONL for ``target``; Azure files start with a UTF-8 byte-order mark.

    ``weights=True`` keeps per-message weights in TRL conversational rows (see :func:`to_trl_rows`).

    The file appears only when every example was written (a temporary file is
    renamed into place), so a failed conversion leaves nothing half-written.
    """
    target = target.lower()
    if target not in TARGETS:
        raise DataError(f"unknown target {target!r}; use one of {', '.join(TARGETS)}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    try:
        with tmp.open("w", encoding="utf-8-sig" if target.startswith("azure") else "utf-8", newline="\n") as out:
            for row in _rows(examples, target, chat_template, tokenizer, weights):
                out.write(dumps(row))
                out.write("\n")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
