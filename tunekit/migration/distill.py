"""Distillation: the source model answers the prompts, and its answers become the target's training set.

Used when the source's training data is gone (a model tunekit did not train) or
when the user prefers what the model says now to what it was taught. Every
kept row has its provenance in a sidecar file (source model, date, prompt hash);
answers that fail are dropped with their reason and never uploaded.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunekit.errors import ProviderError
from tunekit.secrets import get_logger

if TYPE_CHECKING:
    from tunekit.evaluate.candidates import EvalItem
    from tunekit.inference.base import ChatClient

__all__ = ["DistillResult", "distill", "prompt_hash"]

logger = get_logger("tunekit.migrate")

MIN_KEPT_FRACTION = 0.5
"""Below this share of usable answers the source is refusing or broken: stop before anything is trained."""


@dataclass
class DistillResult:
    """The distilled training file and what was dropped on the way."""

    path: Path
    provenance: Path
    kept: int
    dropped: Counter[str] = field(default_factory=Counter)
    """Reason → how many answers were dropped for it."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "provenance": str(self.provenance),
            "kept": self.kept,
            "dropped": dict(self.dropped),
        }


def prompt_hash(messages: Sequence[dict[str, Any]]) -> str:
    """SHA-256 of the prompt's canonical JSON: the same prompt has the same hash on every machine."""
    canonical = json.dumps(list(messages), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def distill(
    client: ChatClient,
    items: Sequence[EvalItem],
    out: Path,
    *,
    source_model: str,
    max_new_tokens: int = 512,
    concurrency: int = 8,
    check: Callable[[list[dict[str, Any]]], dict[int, str]] | None = None,
) -> DistillResult:
    """Ask ``client`` every prompt (greedy), keep the usable answers as chat rows in ``out``.

    ``check`` maps the finished rows to ``{index: why it cannot be trained on}``;
    such rows are dropped and counted. Raises :class:`ProviderError` when most
    requests fail: a source that refuses must not lead to a target trained on
    scraps. The file appears whole or not at all.
    """
    if not items:
        raise ValueError("nothing to distill: no prompts")
    results = client.batch(
        [item.prompt for item in items], concurrency=concurrency, max_tokens=max_new_tokens, temperature=0.0
    )
    today = datetime.now(timezone.utc).date().isoformat()
    answered: list[tuple[EvalItem, dict[str, Any]]] = []
    dropped: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    for item, result in zip(items, results, strict=True):
        if result.error is not None:
            dropped["the source model did not answer"] += 1
            errors[result.error.splitlines()[0][:200]] += 1
        elif not result.text.strip():
            dropped["empty answer"] += 1
        else:
            answered.append((item, {"messages": [*item.prompt, {"role": "assistant", "content": result.text}]}))
    failing = check([row for _, row in answered]) if check is not None and answered else {}
    for reason in failing.values():
        dropped[reason] += 1
    kept = [(item, row) for index, (item, row) in enumerate(answered) if index not in failing]
    rows = [json.dumps(row, ensure_ascii=False) for _, row in kept]
    provenance = [
        json.dumps(
            {
                "line": line,
                "source_model": source_model,
                "date": today,
                "prompt_sha256": prompt_hash(item.prompt),
                "prompt_from": item.where,
            }
        )
        for line, (item, _) in enumerate(kept, 1)
    ]
    if len(rows) < MIN_KEPT_FRACTION * len(items):
        common = "; ".join(f"{text} ({n}x)" for text, n in errors.most_common(2)) or "answers unusable"
        raise ProviderError(
            f"the source model {source_model} gave usable answers to only {len(rows)} of {len(items)} prompts "
            f"({common}); nothing was trained",
            provider="migrate",
        )
    _write_atomically(out, rows)
    sidecar = out.with_name(out.stem + ".provenance.jsonl")
    _write_atomically(sidecar, provenance)
    for reason, count in dropped.items():
        logger.warning("distillation dropped %d answer(s): %s", count, reason)
    return DistillResult(out, sidecar, len(rows), dropped)


def _write_atomically(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write("".join(line + "\n" for line in lines))
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)
