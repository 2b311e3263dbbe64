"""The RAG baseline: passages from the user's documents placed in the question.

Retrieval-augmented generation is the other way to give a model knowledge it
lacks without training it, so a tuned model should be compared with it, and
may be combined with it (``tuned+rag``). :class:`DocumentIndex` reads a folder
of text documents (``.txt``, ``.md``, PDFs already converted to text), cuts
them into overlapping passages at word boundaries, and indexes them with BM25
(the ``bm25s`` package, as the retrieval baseline). :meth:`DocumentIndex.render`
rewrites an evaluation prompt's last user message with the template: its
``{context}`` becomes the ``k`` most relevant passages (most relevant first,
each under its file's name), its ``{question}`` the original message.

Everything that can be wrong with the input (no folder, an empty folder, a
binary file, more passages asked for than exist, a template without its
placeholders) is said here, naming the file or the config key, before any
model is asked anything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunekit.errors import ConfigError, DataError, DependencyMissingError

if TYPE_CHECKING:
    from tunekit.config import RagConfig

__all__ = ["DocumentIndex", "Passage", "chunk_text", "read_documents"]

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


class DocumentIndex:
    """BM25 over the passages of a folder of documents; ``render(prompt)`` puts the ``k`` best into it."""

    def __init__(self, settings: RagConfig) -> None:
        try:
            import bm25s
        except ImportError as exc:
            raise DependencyMissingError("the rag baseline", "tunekit[retrieval]") from exc
        self.settings = settings
        self.k = settings.k
        documents = read_documents(settings.docs)
        self.passages = [
            Passage(source, text)
            for source, body in documents.items()
            for text in chunk_text(body, settings.chunk_chars, settings.overlap)
        ]
        if not self.passages:
            raise ConfigError(f"eval.rag.docs: the documents in {settings.docs} hold no text")
        if settings.k > len(self.passages):
            raise ConfigError(
                f"eval.rag.k: {settings.k} passages asked for, but the {len(documents)} documents in "
                f"{settings.docs} make only {len(self.passages)} (chunk_chars={settings.chunk_chars})"
            )
        self._bm25 = bm25s
        self._index = bm25s.BM25()
        self._index.index(self._tokenize([f"{p.source}\n{p.text}" for p in self.passages]), show_progress=False)

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
        context = "\n\n".join(f"[{n}] {p.source}\n{p.text}" for n, p in enumerate(passages, 1))
        values = {"context": context, "question": _text(message)}
        # One pass, so a passage that happens to contain "{question}" is sent as written.
        content = _PLACEHOLDER.sub(lambda m: values[m.group(1)], self.settings.template)
        messages[index] = {**message, "content": content}
        return messages


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
