"""One container run and its lifecycle: SCHEDULING -> RUNNING -> COMPLETED / ERROR / CANCELED.

A :class:`Run` moves on its own schedule (``timed``: ``step_seconds`` of
scheduling, then ``step_seconds`` of training), only when told (``manual``),
or straight to its end (``immediate``). Nothing runs in the background: a
timed run catches up whenever it is looked at, so the emulator stays
deterministic and cheap.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from tunekit_emulators.hub.container import ContainerPlan, Outcome, TrainingScript, model_files
from tunekit_emulators.hub.store import HubError
from tunekit_emulators.lifecycle import Lifecycle

__all__ = ["TERMINAL", "ContainerHost", "LogLine", "Phase", "Run"]

Phase = Literal["SCHEDULING", "RUNNING", "COMPLETED", "ERROR", "CANCELED", "DELETED"]
TERMINAL: frozenset[str] = frozenset({"COMPLETED", "ERROR", "CANCELED", "DELETED"})


@dataclass(frozen=True)
class LogLine:
    text: str
    at: datetime


class ContainerHost(Protocol):
    """What a container may do on the Hub: read its dataset, push its model."""

    def dataset_rows(self, plan: ContainerPlan) -> int: ...

    def push_model(self, plan: ContainerPlan, files: dict[str, bytes]) -> None: ...


_DEFAULT_ERROR = ("torch.OutOfMemoryError", "CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has 14.58 GiB.")
_DEFAULT_SWALLOWED = (
    "huggingface_hub.errors.HfHubHTTPError",
    "500 Server Error: Internal Server Error for url: https://huggingface.co/api/repos/create",
)


class Run:
    """The emulated container behind a Job or a Space."""

    def __init__(
        self,
        plan: ContainerPlan,
        *,
        host: ContainerHost,
        lifecycle: Lifecycle,
        rng: random.Random,
        clock: Callable[[], datetime],
        outcome: Outcome = "success",
        message: str | None = None,
        losses: Sequence[float] | None = None,
        space: bool = False,
        timeout_s: float | None = None,
    ) -> None:
        self.plan = plan
        self.host = host
        self.lifecycle = lifecycle
        self.rng = rng
        self.clock = clock
        self.outcome: Outcome = outcome
        self.outcome_message = message
        self.losses = list(losses) if losses else None
        self.space = space
        self.timeout_s = timeout_s
        self.phase: Phase = "SCHEDULING"
        self.message: str | None = None
        self.created_at = clock()
        self.started_at: datetime | None = None
        self.finished_at: datetime | None = None
        self.logs: list[LogLine] = []
        self.script: TrainingScript | None = None
        self.released_steps = 0
        self.doomed: tuple[str, str] | None = None
        self.pushed = False

    @property
    def terminal(self) -> bool:
        return self.phase in TERMINAL

    def _emit(self, lines: Sequence[str]) -> None:
        now = self.clock()
        self.logs.extend(LogLine(text, now) for text in lines)

    # -- transitions -----------------------------------------------------------------------------

    def start(self) -> None:
        """SCHEDULING -> RUNNING: the container starts and loads its data."""
        if self.phase != "SCHEDULING":
            return
        self.phase = "RUNNING"
        self.started_at = self.clock()
        if not self.space:
            self._emit([f"===== Job started at {self.started_at.strftime('%Y-%m-%d %H:%M:%S')} ====="])
        else:
            self._emit(["INFO:     Started server process [1]", "INFO:     Uvicorn running on http://0.0.0.0:7860"])
        rows = 0
        if self.plan.problem is not None:
            self.doomed = ("ValueError", self.plan.problem)
        elif self.plan.runner != "generic":
            try:
                rows = self.host.dataset_rows(self.plan)
            except HubError as exc:
                self.doomed = _dataset_error(self.plan, exc)
        self.script = TrainingScript(
            self.plan, rng=self.rng, clock=self.clock, rows=max(rows, 1), losses=self.losses, space=self.space
        )
        self._emit(self.script.preamble())
        if self.doomed is None:
            self._emit(self.script.data_loaded())

    def progress_to(self, fraction: float) -> None:
        """Release the training log lines up to ``fraction`` of the run."""
        if self.phase == "SCHEDULING":
            self.start()
        if self.phase != "RUNNING" or self.script is None or self.doomed is not None:
            return
        target = int(len(self.script.steps) * min(1.0, max(0.0, fraction)))
        while self.released_steps < target:
            self._emit(self.script.step_lines(self.released_steps))
            self.released_steps += 1

    def finish(self, to: Phase | None = None, message: str | None = None) -> None:
        """End the run: by its outcome, or as ``to`` (``ERROR`` with ``message``) says."""
        if self.terminal:
            return
        if to == "CANCELED":
            self.cancel()
            return
        if self.phase == "SCHEDULING":
            self.start()
        if to == "ERROR":
            self.outcome, self.outcome_message = "error", message or self.outcome_message
        elif to == "COMPLETED" and self.outcome == "error":
            self.outcome = "success"
        script = self.script
        assert script is not None
        if self.doomed is not None:
            self._fail_early(script, *self.doomed)
            return
        if self.outcome == "error":
            self.progress_to(0.5)
            exception, text = _DEFAULT_ERROR if self.outcome_message is None else ("RuntimeError", self.outcome_message)
            self._emit(script.crashed(exception, text))
            self._end("ERROR", self.outcome_message or "Job failed with exit code: 1")
            return
        self.progress_to(1.0)
        self._emit(script.training_done())
        if self.outcome == "no_files":
            self._emit(script.pushing()[:1])
            if self.plan.runner == "autotrain":
                exception, text = (
                    _DEFAULT_SWALLOWED
                    if self.outcome_message is None
                    else ("huggingface_hub.errors.HfHubHTTPError", self.outcome_message)
                )
                self._emit(script.swallowed(exception, text))
            self._end("COMPLETED")
            return
        if self.plan.push and self.plan.target_repo:
            self._emit(script.pushing())
            try:
                self.host.push_model(self.plan, model_files(self.plan))
                self.pushed = True
            except HubError as exc:
                self._fail_early(script, "huggingface_hub.errors.HfHubHTTPError", f"{exc.status} {exc.message}")
                return
        self._emit(script.finished())
        self._end("COMPLETED")

    def _fail_early(self, script: TrainingScript, exception: str, text: str) -> None:
        """AutoTrain swallows the exception and exits 0; TRL (or any other program) exits 1."""
        if self.plan.runner == "autotrain":
            self._emit(script.swallowed(exception, text))
            self._end("COMPLETED")
        else:
            self._emit(script.crashed(exception, text))
            self._end("ERROR", "Job failed with exit code: 1")

    def cancel(self) -> None:
        if self.terminal:
            return
        self._emit(["Received SIGTERM: the job was canceled"] if self.phase == "RUNNING" else [])
        self._end("CANCELED", "Job canceled by user")

    def _end(self, phase: Phase, message: str | None = None) -> None:
        self.phase = phase
        self.message = message
        self.finished_at = self.clock()

    # -- lifecycle -------------------------------------------------------------------------------

    def advance(self, to: Phase | None = None, *, progress: float | None = None, message: str | None = None) -> None:
        """One step (SCHEDULING -> RUNNING -> end), or straight to ``to``; ``progress`` moves within RUNNING."""
        if progress is not None:
            self.progress_to(progress)
            if to is None:
                return
        if to is None:
            if self.phase == "SCHEDULING":
                self.start()
            else:
                self.finish()
        elif to == "RUNNING":
            self.start()
        elif to == "SCHEDULING":
            return
        else:
            self.finish(to, message)

    def tick(self) -> None:
        """Catch up with the clock (timed lifecycle only)."""
        if self.lifecycle.mode != "timed" or self.terminal:
            return
        elapsed = (self.clock() - self.created_at).total_seconds()
        scheduling = running = self.lifecycle.step_seconds
        if elapsed < scheduling:
            return
        self.start()
        ran = elapsed - scheduling
        if self.timeout_s is not None and self.timeout_s < running and ran >= self.timeout_s:
            self.progress_to(self.timeout_s / running)
            self._emit(["Job timed out: it ran longer than its timeout"])
            self._end("ERROR", f"Job timed out after {self.timeout_s:g}s")
            return
        self.progress_to(ran / running if running > 0 else 1.0)
        if ran >= running:
            self.finish()


def _dataset_error(plan: ContainerPlan, exc: HubError) -> tuple[str, str]:
    if exc.status == 401:
        return ("huggingface_hub.errors.HfHubHTTPError", "401 Client Error: Unauthorized: Invalid credentials")
    if exc.code == "UnknownSplit":
        return ("ValueError", exc.message)
    return (
        "datasets.exceptions.DatasetNotFoundError",
        f"Dataset '{plan.dataset}' doesn't exist on the Hub or cannot be accessed.",
    )
