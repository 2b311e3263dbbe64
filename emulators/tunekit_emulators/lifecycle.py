"""How emulated resources (fine-tuning jobs, deployments, Hub jobs) move through their states.

Three modes, as in moto's state manager:

* ``immediate`` — a resource runs to its final state the first time it is read after creation;
* ``manual`` — it moves only when the test says so (``emulator.advance(...)``);
* ``timed`` — it spends ``step_seconds`` in each state, measured from when it entered it.

Transitions are evaluated lazily when a resource is read, so no background threads race the test.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

__all__ = ["Lifecycle", "LifecycleMode"]

LifecycleMode = Literal["immediate", "manual", "timed"]


@dataclass
class Lifecycle:
    """The transition policy shared by every resource of one emulator."""

    mode: LifecycleMode = "immediate"
    step_seconds: float = 1.0
    clock: Callable[[], float] = field(default=time.time, repr=False)

    def __post_init__(self) -> None:
        if self.mode not in get_args(LifecycleMode):
            raise ValueError(f"lifecycle must be one of {', '.join(get_args(LifecycleMode))}; got {self.mode!r}")
        if self.step_seconds <= 0:
            raise ValueError(f"step_seconds must be > 0, got {self.step_seconds}")

    def now(self) -> float:
        return self.clock()

    def due(self, path: Sequence[str], current: str, entered_at: float) -> list[tuple[str, float]]:
        """The states a resource in ``current`` (entered at ``entered_at``) passes through on a read.

        Returns ``(state, entered_at)`` pairs in order; empty when nothing is due. A state outside
        ``path`` (paused, failed, cancelled) never moves on its own.
        """
        if current not in path or self.mode == "manual":
            return []
        index = path.index(current)
        remaining = path[index + 1 :]
        if self.mode == "immediate":
            now = self.now()
            return [(state, now) for state in remaining]
        elapsed_steps = int((self.now() - entered_at) // self.step_seconds)
        return [(state, entered_at + (i + 1) * self.step_seconds) for i, state in enumerate(remaining[:elapsed_steps])]

    def progress(self, entered_at: float) -> float:
        """Fraction (0..1) of a timed state already spent; 1.0 in the other modes' terms is decided by callers."""
        if self.mode != "timed":
            return 0.0
        return min(1.0, max(0.0, (self.now() - entered_at) / self.step_seconds))

    @staticmethod
    def steps(path: Sequence[str], current: str, to: str | None = None) -> list[str]:
        """The states a forced move from ``current`` on to ``to`` (default: the next state) passes, in order.

        ValueError when ``to`` is not ahead of ``current`` on ``path`` (a control call that cannot happen).
        """
        target = to or Lifecycle.next_state(path, current)
        if current not in path or target not in path or path.index(target) <= path.index(current):
            raise ValueError(f"cannot move from {current} to {target}")
        return list(path[path.index(current) + 1 : path.index(target) + 1])

    @staticmethod
    def next_state(path: Sequence[str], current: str) -> str | None:
        if current not in path:
            return None
        index = path.index(current)
        return path[index + 1] if index + 1 < len(path) else None
