"""Normalized job states and events, shared by every provider.

Each provider keeps its own raw status string (``validating_files``,
``pending``, ``SCHEDULING``, ...) and maps it to :class:`JobStatus` with
:func:`normalize_status`. An unknown raw value never crashes a poll: it maps
to a safe default and the raw value is kept for the user to see.

Plain values below the ledger and the provider contract: both speak them,
and neither needs the :class:`~tunekit.jobs.Job` driver to do so.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tunekit.secrets import get_logger

__all__ = ["JobEvent", "JobState", "JobStatus", "events_after", "normalize_status", "state_events"]

logger = get_logger("tunekit.jobs")  # the name users configure logging by


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


def events_after(events: list[JobEvent], after: str | None) -> list[JobEvent]:
    """The events that follow the one whose id is ``after`` (all of them when it is None or not among them).

    For a provider that reads a job's whole event log on every poll: an id no
    longer listed (a log the service trimmed) replays the log rather than
    hiding what is left of it.
    """
    ids = [event.id for event in events]
    return events[ids.index(after) + 1 :] if after in ids else events


def state_events(state: JobState, after: str | None = None) -> list[JobEvent]:
    """The events of a service that keeps no event log: the state the job is in, and its progress if known.

    Their ids are made of the job id, the raw state and the step, so each is
    recorded once however often the job is polled; ``after`` is the last id seen.
    """
    job = state.job_id or ""
    events = [JobEvent(id=f"{job}:{state.raw_status}", type="status", message=str(state.raw_status))]
    if state.step is not None and state.progress is not None:
        done = {"step": state.step, "total_steps": state.total_steps, "metrics": {"progress": state.progress}}
        message = f"{round(100 * state.progress)}% done"
        events.append(JobEvent(id=f"{job}:progress:{state.step}", type="metrics", message=message, **done))
    return events_after(events, after)
