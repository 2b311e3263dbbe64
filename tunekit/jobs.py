"""Normalized job states and events, shared by every provider.

Each provider keeps its own raw status string (``validating_files``,
``pending``, ``SCHEDULING``, ...) and maps it to :class:`JobStatus` with
:func:`normalize_status`. An unknown raw value never crashes a poll: it maps
to a safe default and the raw value is kept for the user to see.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from tunekit.secrets import get_logger

if TYPE_CHECKING:
    from tunekit.ledger import Ledger, RunRecord
    from tunekit.provider import Checkpoint, FineTunedModel, JobRef, Provider

__all__ = ["Job", "JobEvent", "JobState", "JobStatus", "normalize_status"]

logger = get_logger("tunekit.jobs")


class JobStatus(str, enum.Enum):
    """The provider-neutral lifecycle of a fine-tuning job."""

    PENDING = "pending"
    VALIDATING = "validating"
    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    def __str__(self) -> str:
        return self.value


_TERMINAL = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})


def normalize_status(
    raw: str | None,
    mapping: Mapping[str, JobStatus],
    *,
    default: JobStatus = JobStatus.RUNNING,
    provider: str = "",
) -> JobStatus:
    """Map a provider's raw status to :class:`JobStatus`.

    Matching ignores case, spaces, dashes and underscores. Unknown values map
    to ``default`` (non-terminal, so a watcher keeps polling rather than
    declaring a result) and are logged once per call.
    """
    if raw is None:
        return JobStatus.PENDING
    key = _squash(raw)
    for name, status in mapping.items():
        if _squash(name) == key:
            return status
    for status in JobStatus:
        if status.value == key:
            return status
    logger.warning("unknown %s job status %r; treating it as %s", provider or "provider", raw, default.value)
    return default


def _squash(value: str) -> str:
    return value.lower().replace("_", "").replace("-", "").replace(" ", "")


def _now() -> datetime:
    return datetime.now(timezone.utc)


class JobState(BaseModel):
    """A snapshot of a job: normalized status plus what the provider said."""

    model_config = ConfigDict(frozen=True)

    status: JobStatus
    raw_status: str | None = None
    job_id: str | None = None
    message: str | None = None
    """Provider's error or status message (a failed job's reason)."""
    step: int | None = None
    total_steps: int | None = None
    estimated_finish: datetime | None = None
    fine_tuned_model: str | None = None
    trained_tokens: int | None = None
    updated_at: datetime = Field(default_factory=_now)

    @property
    def is_terminal(self) -> bool:
        return self.status.is_terminal

    @property
    def progress(self) -> float | None:
        if self.step is None or not self.total_steps:
            return None
        return min(1.0, self.step / self.total_steps)


class JobEvent(BaseModel):
    """Something that happened to a job: a message, a metric, a status change.

    ``id`` is the provider's event id when it has one, so re-reading events
    after a crash never duplicates them.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    created_at: datetime = Field(default_factory=_now)
    level: str = "info"
    type: str = "message"
    """``message``, ``metrics``, ``status`` or ``checkpoint``."""
    message: str = ""
    step: int | None = None
    total_steps: int | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    """E.g. ``train_loss``, ``valid_loss``, ``train_mean_token_accuracy``."""
    data: dict[str, Any] = Field(default_factory=dict)


class Job:
    """A handle on one run's remote or local job.

    Built by :class:`~tunekit.tuner.Tuner`; every status it sees and every
    event it reads is written to the ledger, so ``tunekit status`` and
    ``tunekit show`` work from any process, and re-reading events after a
    crash adds no duplicates.
    """

    def __init__(self, run_id: str, provider: Provider, ledger: Ledger) -> None:
        self.run_id = run_id
        self.provider = provider
        self.ledger = ledger

    def __repr__(self) -> str:
        return f"Job(run_id={self.run_id!r}, provider={self.provider.name!r})"

    @property
    def record(self) -> RunRecord:
        return self.ledger.get(self.run_id)

    @property
    def ref(self) -> JobRef:
        from tunekit.errors import JobError
        from tunekit.provider import JobRef

        remote = self.record.remote
        if "job_id" not in remote:
            raise JobError("the run has no job yet: submit it first", run_id=self.run_id)
        return JobRef(provider=self.provider.name, job_id=remote["job_id"], extra=remote.get("job_extra", {}))

    @property
    def job_id(self) -> str:
        return self.ref.job_id

    def status(self) -> JobState:
        """Poll the provider once and record the state."""
        state = self.provider.status(self.ref)
        before = self.record
        if before.status != state.status or before.raw_status != state.raw_status:
            self.ledger.update(
                self.run_id,
                status=state.status,
                raw_status=state.raw_status,
                error=state.message if state.status == JobStatus.FAILED else None,
            )
            self.ledger.record(
                self.run_id,
                "status",
                message=f"{state.status.value} ({state.raw_status})",
                data={"status": state.status.value, "raw": state.raw_status},
            )
        return state

    def events(self) -> Iterator[JobEvent]:
        """New provider events since the last one recorded, each recorded once."""
        after = self.ledger.last_event_key(self.run_id, "job_event")
        for event in self.provider.events(self.ref, after=after):
            if self.ledger.record(
                self.run_id,
                "job_event",
                message=event.message,
                data=event.model_dump(mode="json"),
                key=event.id,
            ):
                yield event

    def history(self) -> list[JobEvent]:
        """Every provider event recorded so far, oldest first."""
        return [JobEvent.model_validate(e.data) for e in self.ledger.events(self.run_id, kinds=["job_event"])]

    def metrics(self) -> list[JobEvent]:
        """The recorded events that carry metrics (for loss curves)."""
        return [e for e in self.history() if e.metrics]

    def watch(self, *, poll_interval: float = 5.0, timeout: float | None = None) -> Iterator[JobEvent | JobState]:
        """Yield new events and each state change until the job ends.

        Polls with ``poll_interval`` seconds between rounds; raises
        ``TimeoutError`` after ``timeout`` seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        last: JobState | None = None
        while True:
            yield from self.events()
            state = self.status()
            changed = last is None or (state.status, state.step, state.raw_status) != (
                last.status,
                last.step,
                last.raw_status,
            )
            if changed:
                yield state
            last = state
            if state.is_terminal:
                yield from self.events()  # the final messages arrive with the last state
                return
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"run {self.run_id} still {state.status.value} after {timeout} s")
            time.sleep(poll_interval)

    def wait(
        self,
        *,
        poll_interval: float = 5.0,
        timeout: float | None = None,
        on_event: Callable[[JobEvent | JobState], None] | None = None,
    ) -> JobState:
        """Block until the job ends; return its final state.

        Ctrl-C (``KeyboardInterrupt``) stops a job that runs on this machine
        before it propagates, as it would stop a training script; a remote job
        goes on, and ``watch`` or ``wait`` can follow it again.
        """
        state: JobState | None = None
        try:
            for item in self.watch(poll_interval=poll_interval, timeout=timeout):
                if on_event is not None:
                    on_event(item)
                if isinstance(item, JobState):
                    state = item
        except KeyboardInterrupt:
            self.interrupted()
            raise
        assert state is not None
        return state

    def interrupted(self) -> bool:
        """The user pressed Ctrl-C while following the job: cancel it if it runs on this machine (True).

        A remote job is left running (False): only watching it stopped.
        """
        if not self.provider.runs_here:
            return False
        self.cancel()
        return True

    def result(self) -> FineTunedModel:
        """The tuned model; raises if the job failed, was cancelled, or is still running."""
        from tunekit.errors import JobCancelledError, JobError, JobFailedError
        from tunekit.provider import FineTunedModel

        record = self.record
        if record.result is not None:
            return FineTunedModel.model_validate(record.result).bind(self.provider)
        state = self.status()
        if state.status == JobStatus.FAILED:
            raise JobFailedError(state.message or "the job failed", run_id=self.run_id, job_id=state.job_id)
        if state.status == JobStatus.CANCELLED:
            raise JobCancelledError("the job was cancelled", run_id=self.run_id, job_id=state.job_id)
        if state.status != JobStatus.SUCCEEDED:
            raise JobError(f"the job is still {state.status.value}; wait for it first", run_id=self.run_id)
        model = self.provider.result(self.ref)
        model.run_id = self.run_id
        self.ledger.update(self.run_id, result=model.model_dump(mode="json"))
        self.ledger.record(self.run_id, "outcome", step="result", message=model.model_id)
        return model.bind(self.provider)

    def cancel(self) -> None:
        self.ledger.record(self.run_id, "intent", step="cancel")
        self.provider.cancel(self.ref)
        self.ledger.record(self.run_id, "outcome", step="cancel")

    def pause(self) -> None:
        self.ledger.record(self.run_id, "intent", step="pause")
        self.provider.pause(self.ref)
        self.ledger.record(self.run_id, "outcome", step="pause")

    def resume(self) -> None:
        # A resume may start work (the local provider launches a training process): one process at a time.
        with self.ledger.lock(self.run_id):
            self.ledger.record(self.run_id, "intent", step="resume")
            self.provider.resume(self.ref)
            self.ledger.record(self.run_id, "outcome", step="resume")

    def checkpoints(self) -> list[Checkpoint]:
        return self.provider.checkpoints(self.ref)

    def checkpoint(self, checkpoint: str | int) -> Checkpoint:
        """The saved checkpoint with this id or step that holds a model: the one place a checkpoint is chosen."""
        from tunekit.errors import JobError

        wanted = str(checkpoint)
        for saved in self.checkpoints():
            if wanted in (saved.id, str(saved.step)) and (saved.model_id is not None or saved.path is not None):
                return saved
        raise JobError(f"no usable checkpoint {wanted!r} (see `tunekit checkpoints`)", run_id=self.run_id)

    def checkpoint_model(self, checkpoint: str | int) -> FineTunedModel:
        """The model a saved checkpoint (by id or step) holds, without making it the run's result."""
        from tunekit.provider import FineTunedModel

        chosen = self.checkpoint(checkpoint)
        return FineTunedModel(
            provider=self.provider.name,
            model_id=chosen.model_id or chosen.path or "",
            base_model=self.record.model,
            kind="model_id" if chosen.model_id else "adapter",
            run_id=self.run_id,
            path=chosen.path,
            checkpoint=chosen.id,
            metadata={"job_id": self.job_id, "step": chosen.step, "metrics": chosen.metrics},
        ).bind(self.provider)

    def use_checkpoint(self, checkpoint: str | int) -> FineTunedModel:
        """Make a saved checkpoint (by id or step) the run's result, instead of the final model."""
        model = self.checkpoint_model(checkpoint)
        self.ledger.update(self.run_id, result=model.model_dump(mode="json"))
        self.ledger.record(
            self.run_id, "outcome", step="result", message=f"checkpoint {model.checkpoint}: {model.model_id}"
        )
        return model
