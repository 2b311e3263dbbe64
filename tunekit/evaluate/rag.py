"""The RAG baseline: passages from the user's documents placed in the question.

Retrieval-augmented generation is the other way to give a model knowledge it
lacks without training it, so a tuned model should be compared with it, and
may be combined with it (``tuned+rag``). :class:`DocumentIndex` reads a folder
of text documents (``.txt``, ``.md``, PDFs already converted to text), cuts
them into overlapping passages at word boundaries (sized in characters, or in
the base model's tokens with ``chunk_tokens``: :func:`chunk_by_tokens`), and indexes them with BM25
(the ``bm25s`` package, as the retrieval baseline). :meth:`DocumentIndex.render`
rewrites an evaluation prompt's last user message with the template: its
``{context}`` becomes the ``k`` most relevant passages (most relevant first,
each under its file's name), its ``{question}`` the original message.

Everything that can be wrong with the input (no folder, an empty folder, a
binary file, more passages asked for than exist, a template without its
placeholders, passages that cannot fit ``context_tokens``) is said here,
naming the file or the config key, before any model is asked anything.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunekit.errors import ConfigError, DataError, DependencyMissingError
from tunekit.secrets import get_logger

if TYPE_CHECKING:
    from tunekit.config import RagConfig
    from tunekit.data.token_cuts import TokenCuts
    from tunekit.data.tokens import TokenCounter

__all__ = ["DocumentIndex", "Passage", "chunk_by_tokens", "chunk_text", "read_documents", "token_spans"]

logger = get_logger("tunekit.evaluate")

_PLACEHOLDER = re.compile(r"\{(context|question)\}")


@dataclass(frozen=True)
class Passage:
    """A piece of one document: where it came from, and its text."""

    source: str
    """The file, relative to the documents folder."""
    text: str


def read_documents(folder: str | Path) -> dict[str, str]:
    """Every non-hidden file under ``folder`` (recursively) as text, by path relative to the folder.

    Raises :class:`ConfigError` (naming ``eval.rag.docs``) when the folder is
    missing or holds no files, and :class:`DataError` naming the file when one
    is not UTF-8 text (a PDF or an image left in the folder, for example).
    """
    root = Path(folder)
    if not root.is_dir():
        what = "is a file, not a folder" if root.exists() else "does not exist"
        raise ConfigError(f"eval.rag.docs: {root} {what}; give a folder of .txt or .md documents")
    documents: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        text, problem = _decode(path.read_bytes())
        if problem is not None:
            raise DataError(
                f"{relative} is not UTF-8 text ({problem}); RAG reads text documents: convert PDFs and other "
                "formats to .txt or .md first, or move the file out of the folder",
                file=str(path),
            )
        documents[relative.as_posix()] = text
    if not documents:
        raise ConfigError(f"eval.rag.docs: {root} holds no documents; add .txt or .md files")
    return documents


def _decode(raw: bytes) -> tuple[str, str | None]:
    """The text of a file, or why it is not text (a NUL byte or invalid UTF-8, with the offset)."""
    nul = raw.find(b"\x00")
    if nul >= 0:
        return "", f"a NUL byte at offset {nul}"
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        return "", f"invalid UTF-8 at offset {exc.start}"


def chunk_text(text: str, chunk_chars: int, overlap: int) -> list[str]:
    """``text`` cut into passages of at most ``chunk_chars`` characters, each repeating up to ``overlap``
    characters from the end of the one before; cuts fall between words (a longer word is a passage alone)."""
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    chunks: list[str] = []
    first = 0
    while first < len(words):
        start = words[first][0]
        last = first
        while last + 1 < len(words) and words[last + 1][1] - start <= chunk_chars:
            last += 1
        end = words[last][1]
        chunks.append(text[start:end])
        if last + 1 >= len(words):
            break
        following = last + 1
        # The next passage starts at the first word that lies within the last ``overlap`` characters,
        # and always at least one word further on, so the loop ends.
        nxt = next((i for i in range(first + 1, following) if words[i][0] >= end - overlap), following)
        first = nxt
    return chunks


def chunk_by_tokens(
    text: str, cuts: TokenCuts, chunk_tokens: int, overlap_tokens: int, count: Callable[[str], int]
) -> list[str]:
    """The passages of :func:`token_spans`, as text."""
    return [text[start:end] for start, end in token_spans(text, cuts, chunk_tokens, overlap_tokens, count)]


def token_spans(
    text: str, cuts: TokenCuts, chunk_tokens: int, overlap_tokens: int, count: Callable[[str], int]
) -> list[tuple[int, int]]:
    """``text`` cut into passages of at most ``chunk_tokens`` tokens, each repeating up to ``overlap_tokens`` tokens
    from the end of the one before.

    ``cuts`` are the places ``text`` may be cut between two tokens (:func:`tunekit.data.token_cuts.token_cuts`);
    passages start and end at them, between words where one fits (a longer word is cut between its tokens), and
    leave out whitespace-only tokens at either end (a token's own leading space stays with it). ``count``
    counts a passage's tokens on its own, as the model will see it: a passage whose count comes out higher
    than its share of the document's tokens ends one word earlier. The work is per passage (a binary search
    over the cuts), not per token.
    """
    offsets, tokens = cuts
    last = len(offsets) - 1

    def blank(i: int) -> bool:  # the tokens between cut i and the next are whitespace
        return text[offsets[i] : offsets[i + 1]].isspace()

    def word_start(i: int) -> bool:
        at = offsets[i]
        return i in (0, last) or text[at].isspace() or text[at - 1].isspace()

    def first_word(i: int, stop: int) -> int:  # the first cut from i on that starts a word and no whitespace
        while i < stop and (blank(i) or not word_start(i)):
            i += 1
        return i

    chunks: list[tuple[int, int]] = []
    start = first_word(0, last)
    reached = 0  # the cut the last passage ended at
    while start < last:
        # The furthest cut within the budget, moved back to the end of a word when one ends on the way.
        end = max(start + 1, bisect_right(tokens, tokens[start] + chunk_tokens) - 1)
        while True:
            stop = end
            while stop > start + 1 and not word_start(stop):
                stop -= 1
            if not word_start(stop):
                stop = end  # one word longer than the budget: cut between its tokens
            while stop > start + 1 and blank(stop - 1):
                stop -= 1
            passage = text[offsets[start] : offsets[stop]]
            if stop == start + 1 or count(passage) <= chunk_tokens:
                break
            end = stop - 1
        if stop <= reached:  # inside the previous passage (the words after it did not fit): go on without overlap
            start = reached
            while start < last and blank(start):
                start += 1
            continue
        chunks.append((offsets[start], offsets[stop]))
        reached = stop
        if stop >= last or text[offsets[stop] :].isspace():
            break
        # The next passage starts at the first word within the last ``overlap_tokens`` tokens, and always at least
        # one cut further on, so the loop ends.
        # (Where a long word was cut, the next passage goes on from the cut.)
        start = first_word(max(start + 1, bisect_left(tokens, tokens[stop] - overlap_tokens)), stop)
        if start == stop:
            while start < last and blank(start):
                start += 1
    return chunks


class DocumentIndex:
    """BM25 over the passages of a folder of documents; ``render(prompt)`` puts the ``k`` best into it."""

    def __init__(self, settings: RagConfig, *, counter: TokenCounter | None = None) -> None:
        """``counter`` counts the base model's tokens: it sizes passages (``chunk_tokens``) and checks
        ``context_tokens``, and is required when either is set."""
        try:
            import bm25s
        except ImportError as exc:
            raise DependencyMissingError("the rag baseline", "tunekit[retrieval]") from exc
        self.settings = settings
        self.k = settings.k
        documents = read_documents(settings.docs)
        if counter is not None and counter.approximate:
            logger.warning("RAG passages are measured in tokens of %s, an estimate for this model", counter.name)
        self.passages = [
            Passage(source, text) for source, body in documents.items() for text in self._chunks(body, counter)
        ]
        if not self.passages:
            raise ConfigError(f"eval.rag.docs: the documents in {settings.docs} hold no text")
        if settings.k > len(self.passages):
            size = (
                f"chunk_tokens={settings.chunk_tokens}"
                if settings.chunk_tokens is not None
                else f"chunk_chars={settings.chunk_chars}"
            )
            raise ConfigError(
                f"eval.rag.k: {settings.k} passages asked for, but the {len(documents)} documents in "
                f"{settings.docs} make only {len(self.passages)} ({size})"
            )
        if settings.context_tokens is not None:
            self._check_budget(settings.context_tokens, self._need(counter, "context_tokens"))
        self._bm25 = bm25s
        self._index = bm25s.BM25()
        self._index.index(self._tokenize([f"{p.source}\n{p.text}" for p in self.passages]), show_progress=False)

    def _need(self, counter: TokenCounter | None, key: str) -> TokenCounter:
        if counter is None:
            raise ConfigError(f"eval.rag.{key}: counting tokens needs the base model's tokenizer (give a counter)")
        return counter

    def _chunks(self, body: str, counter: TokenCounter | None) -> list[str]:
        settings = self.settings
        if settings.chunk_tokens is None:
            return chunk_text(body, settings.chunk_chars, settings.overlap)
        from tunekit.data.token_cuts import token_cuts

        counter = self._need(counter, "chunk_tokens")
        try:
            cuts = token_cuts(counter, body)
        except ValueError as exc:
            raise ConfigError(f"eval.rag.chunk_tokens: cannot cut passages by tokens: {exc}") from None
        overlap = settings.overlap_tokens or 0
        return chunk_by_tokens(body, cuts, settings.chunk_tokens, overlap, counter.count_text)

    def _check_budget(self, budget: int, counter: TokenCounter) -> None:
        """Refuse passages whose ``k`` longest, as the template places them, take more than ``budget`` tokens."""
        longest = sorted(self.passages, key=lambda p: counter.count_text(_block(self.k, p)), reverse=True)
        worst = counter.count_text("\n\n".join(_block(n, p) for n, p in enumerate(longest[: self.k], 1)))
        if worst > budget:
            raise ConfigError(
                f"eval.rag.context_tokens: the {self.k} longest passages take {worst} tokens of "
                f"{counter.name} with their headers, more than {budget}; lower eval.rag.k or eval.rag.chunk_tokens"
            )

    def _tokenize(self, texts: list[str]) -> list[list[str]]:
        tokens: list[list[str]] = self._bm25.tokenize(texts, stopwords="en", return_ids=False, show_progress=False)
        return tokens

    def search(self, questions: Sequence[str]) -> list[list[Passage]]:
        """The ``k`` most relevant passages for each question, the most relevant first."""
        if not questions:
            return []
        ranked, _ = self._index.retrieve(self._tokenize(list(questions)), k=self.k, show_progress=False)
        return [[self.passages[int(index)] for index in row] for row in ranked.tolist()]

    def render_all(self, prompts: Sequence[Sequence[Mapping[str, Any]]]) -> list[list[dict[str, Any]]]:
        """Each prompt with its last user message rewritten by the template (passages retrieved for all at once)."""
        questions = [_text(_last_user(prompt)[1]) for prompt in prompts]
        found = self.search(questions)
        return [self._render(prompt, passages) for prompt, passages in zip(prompts, found, strict=True)]

    def _render(self, prompt: Sequence[Mapping[str, Any]], passages: Sequence[Passage]) -> list[dict[str, Any]]:
        messages = [dict(m) for m in prompt]
        index, message = _last_user(messages)
        context = "\n\n".join(_block(n, p) for n, p in enumerate(passages, 1))
        values = {"context": context, "question": _text(message)}
        # One pass, so a passage that happens to contain "{question}" is sent as written.
        content = _PLACEHOLDER.sub(lambda m: values[m.group(1)], self.settings.template)
        messages[index] = {**message, "content": content}
        return messages


def _block(number: int, passage: Passage) -> str:
    """A passage as the context shows it: its rank and file name, then its text."""
    return f"[{number}] {passage.source}\n{passage.text}"


def _last_user(messages: Sequence[Mapping[str, Any]]) -> tuple[int, Mapping[str, Any]]:
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].get("role") == "user":
            return index, messages[index]
    raise DataError("a RAG prompt needs a user message to put the passages in; this example has none")


def _text(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, Mapping))
    return ""
