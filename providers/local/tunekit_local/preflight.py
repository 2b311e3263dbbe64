"""Checks on what the model will actually learn, before the first step.

A run can train for hours on the wrong tokens: the prompt instead of the
answer, or every turn but without the end-of-turn token, so the model never
learns to stop. These checks look at one example exactly as the trainer
tokenized and masked it, show which tokens carry the loss, and refuse to start
when none do or when the end-of-turn / EOS token is not among them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tunekit.plugin import DataError

__all__ = ["Supervision", "check_supervision", "inspect_dpo_row", "inspect_sft_row", "stop_token_ids"]

IGNORE = -100


@dataclass
class Supervision:
    """One tokenized example and which of its tokens carry the loss."""

    tokens: list[str]
    supervised: list[bool]
    stop_ids: set[int]
    stop_supervised: bool
    warnings: list[str] = field(default_factory=list)

    @property
    def supervised_count(self) -> int:
        return sum(self.supervised)

    def render(self, limit: int = 2000) -> str:
        """The example's text with the supervised spans in ``[[ ]]``."""
        parts: list[str] = []
        inside = False
        for token, on in zip(self.tokens, self.supervised, strict=True):
            if on and not inside:
                parts.append("[[")
            elif inside and not on:
                parts.append("]]")
            inside = on
            parts.append(token)
        if inside:
            parts.append("]]")
        text = "".join(parts)
        return text if len(text) <= limit else text[:limit] + f"... ({len(text) - limit} more characters)"

    def to_json(self) -> dict[str, Any]:
        return {
            "tokens": len(self.tokens),
            "supervised_tokens": self.supervised_count,
            "stop_token_supervised": self.stop_supervised,
            "rendered": self.render(),
            "warnings": self.warnings,
        }


def stop_token_ids(tokenizer: Any, model: Any = None) -> set[int]:
    """The ids that end a reply: the tokenizer's EOS and the generation config's end tokens."""
    ids: set[int] = set()
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    config = getattr(model, "generation_config", None)
    configured = getattr(config, "eos_token_id", None)
    if isinstance(configured, int):
        ids.add(configured)
    elif isinstance(configured, Iterable):
        ids.update(int(i) for i in configured)
    return ids


def _pieces(tokenizer: Any, ids: Sequence[int]) -> list[str]:
    return [tokenizer.decode([i]) for i in ids]


def _pad_warning(tokenizer: Any) -> list[str]:
    if tokenizer.pad_token_id is not None and tokenizer.pad_token_id == tokenizer.eos_token_id:
        return [
            f"the pad token equals EOS ({tokenizer.eos_token!r}): the trainer masks padding by position, so EOS "
            "still trains, but code that masks labels by token id would drop every EOS"
        ]
    return []


def inspect_sft_row(row: dict[str, Any], tokenizer: Any, stop_ids: set[int]) -> Supervision:
    """A row of TRL's prepared SFT dataset (``input_ids`` and ``labels``)."""
    ids = list(row["input_ids"])
    labels = list(row.get("labels") or ids)
    supervised = [label != IGNORE for label in labels]
    return Supervision(
        tokens=_pieces(tokenizer, ids),
        supervised=supervised,
        stop_ids=stop_ids,
        stop_supervised=any(on and token in stop_ids for token, on in zip(ids, supervised, strict=True)),
        warnings=_pad_warning(tokenizer),
    )


def inspect_dpo_row(row: dict[str, Any], tokenizer: Any, stop_ids: set[int]) -> Supervision:
    """A row of TRL's prepared DPO dataset: the chosen completion is what the policy learns to prefer."""
    prompt, chosen = list(row["prompt_ids"]), list(row["chosen_ids"])
    ids = prompt + chosen
    supervised = [False] * len(prompt) + [True] * len(chosen)
    warnings = _pad_warning(tokenizer)
    rejected = list(row.get("rejected_ids") or [])
    if rejected and not any(token in stop_ids for token in rejected):
        warnings.append("the rejected answer of the first pair does not end with an end-of-turn / EOS token")
    return Supervision(
        tokens=_pieces(tokenizer, ids),
        supervised=supervised,
        stop_ids=stop_ids,
        stop_supervised=any(token in stop_ids for token in chosen),
        warnings=warnings,
    )


def check_supervision(report: Supervision, tokenizer: Any, *, file: str | None = None) -> None:
    """Raise :class:`DataError` when the example teaches nothing, or never teaches the model to stop."""
    if report.supervised_count == 0:
        raise DataError(
            "no token of the first training example carries the loss (after masking and truncation); "
            f"the example as the trainer sees it: {report.render(600)!r}",
            file=file,
            line=1,
        )
    if not report.stop_supervised:
        names = ", ".join(repr(tokenizer.decode([i])) for i in sorted(report.stop_ids)) or "none defined"
        raise DataError(
            f"the end-of-turn / EOS token ({names}) is not among the supervised tokens, so the model would never "
            "learn to stop. Check the chat template (the assistant's end-of-turn must be inside its turn), "
            "the loss setting, and that max_seq_length does not cut it off. "
            f"Supervised spans in [[ ]]: {report.render(600)!r}",
            file=file,
            line=1,
        )
