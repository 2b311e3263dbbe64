"""Lineage: the earlier run a run started from (``init_from``), as the ledger records it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Lineage"]


@dataclass(frozen=True)
class Lineage:
    """Where a run started: its parent run, the parent's model (or checkpoint), what the provider started from."""

    run_id: str
    """The parent run."""
    model_id: str
    """The parent's tuned model: an ``ft:`` model id, an adapter folder, a Hub repo."""
    base_model: str
    """The base model under the whole line of runs."""
    start: str
    """What the provider started the job from (its answer to ``Provider.start_from``)."""
    checkpoint: str | None = None
    """The parent's checkpoint, when ``init_from`` named a step (``RUN@STEP``)."""
    step: int | None = None

    def __str__(self) -> str:
        at = f" at step {self.step}" if self.step is not None else ""
        return f"{self.run_id}{at} ({self.model_id})"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Lineage:
        step = data.get("step")
        return cls(
            run_id=str(data["run_id"]),
            model_id=str(data["model_id"]),
            base_model=str(data["base_model"]),
            start=str(data["start"]),
            checkpoint=str(data["checkpoint"]) if data.get("checkpoint") is not None else None,
            step=int(step) if step is not None else None,
        )
