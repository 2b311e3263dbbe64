"""The retrieval baseline: few-shot with the training examples most similar to the question.

Random shots show the base model the task's format; the *most similar* shots
often show it the answer's neighbour, which is why retrieval is the
prompting baseline most likely to match a tuned model. Similarity is BM25
over the training prompts' user text (the ``bm25s`` package: offline, numpy
only), the question's user text as the query.

Leakage guard: a held-out example may also sit in the training data. A shot
that *is* the evaluation example (same non-system turns and the same answer)
would hand the model its reference, so such training examples are never
retrieved for it; :attr:`Retrieval.excluded` counts how many were skipped, and
the report says so.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Protocol

from tunekit.errors import ConfigError, DataError, DependencyMissingError

__all__ = ["Retrieval"]


class _Item(Protocol):
    """A held-out item (:class:`tunekit.evaluate.candidates.EvalItem`): its prompt and reference answer."""

    @property
    def prompt(self) -> list[dict[str, Any]]: ...
    @property
    def reference(self) -> str: ...


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _turns(messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if m.get("role") not in ("system", "developer")]


def _key(turns: Sequence[dict[str, Any]]) -> str:
    """What makes two conversations the same example: their non-system turns, whitespace-trimmed."""
    return json.dumps([[m.get("role"), _text(m.get("content")).strip()] for m in turns], ensure_ascii=False)


def _query(turns: Sequence[dict[str, Any]]) -> str:
    return "\n".join(_text(m.get("content")) for m in turns if m.get("role") == "user")


class Retrieval:
    """BM25 over training conversations; ``shots_for(items)`` gives each item its ``k`` nearest, leaks excluded.

    ``conversations`` are the training examples as lists of OpenAI-style message dicts
    (:func:`tunekit.evaluate.candidates.conversation_of` makes them from canonical examples).
    """

    def __init__(self, conversations: Sequence[Sequence[dict[str, Any]]], k: int) -> None:
        try:
            import bm25s
        except ImportError as exc:
            raise DependencyMissingError("the retrieval baseline", "tunekit[retrieval]") from exc
        if k <= 0:
            raise ConfigError("eval.few_shot: the retrieval baseline needs k of at least 1")
        self.conversations = [_turns(messages) for messages in conversations]
        if not self.conversations:
            raise DataError("the retrieval baseline needs training examples, and there are none")
        if k > len(self.conversations):
            raise ConfigError(
                f"eval.few_shot: retrieval asks for {k} shots but the training data has only "
                f"{len(self.conversations)} examples"
            )
        self.k = k
        self.excluded = 0
        """Training examples the last :meth:`shots_for` skipped as the evaluation example itself (or a copy)."""
        self._by_key: dict[str, list[int]] = defaultdict(list)
        for index, turns in enumerate(self.conversations):
            self._by_key[_key(turns)].append(index)
        self._bm25 = bm25s
        self._index = bm25s.BM25()
        corpus = [_query(turns) for turns in self.conversations]
        self._index.index(self._tokenize(corpus), show_progress=False)

    def _tokenize(self, texts: list[str]) -> list[list[str]]:
        tokens: list[list[str]] = self._bm25.tokenize(texts, stopwords="en", return_ids=False, show_progress=False)
        return tokens

    def shots_for(self, items: Sequence[_Item]) -> list[list[dict[str, Any]]]:
        """Each item's ``k`` most similar training conversations as prior turns, most similar last."""
        if not items:
            return []
        leaks = [
            self._by_key.get(_key([*_turns(item.prompt), {"role": "assistant", "content": item.reference}]), [])
            for item in items
        ]
        depth = min(len(self.conversations), self.k + max(len(found) for found in leaks))
        ranked, _ = self._index.retrieve(
            self._tokenize([_query(_turns(item.prompt)) for item in items]), k=depth, show_progress=False
        )
        out = []
        self.excluded = 0
        for row, leaked in zip(ranked.tolist(), leaks, strict=True):
            skip = set(leaked)
            self.excluded += len(skip)
            chosen = [int(index) for index in row if int(index) not in skip][: self.k]
            turns: list[dict[str, Any]] = []
            for index in reversed(chosen):  # the nearest shot sits right before the question
                turns.extend(dict(m) for m in self.conversations[index])
            out.append(turns)
        return out
