"""OpenAI job objects and events as tunekit's JobState and JobEvent."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from tunekit.plugin import JobEvent, JobState, JobStatus, normalize_status

__all__ = ["METRIC_KEYS", "OPENAI_STATUSES", "error_message", "to_event", "to_state", "unix_time"]

OPENAI_STATUSES: Mapping[str, JobStatus] = {
    "validating_files": JobStatus.VALIDATING,
    "queued": JobStatus.QUEUED,
    "running": JobStatus.RUNNING,
    "paused": JobStatus.PAUSED,
    "succeeded": JobStatus.SUCCEEDED,
    "failed": JobStatus.FAILED,
    "cancelled": JobStatus.CANCELLED,
}

METRIC_KEYS = (
    "train_loss",
    "valid_loss",
    "full_valid_loss",
    "train_mean_token_accuracy",
    "valid_mean_token_accuracy",
    "full_valid_mean_token_accuracy",
)
"""The metrics OpenAI reports per step, under tunekit's names (which are OpenAI's)."""


def unix_time(value: float | int | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromtimestamp(value, tz=timezone.utc)


def error_message(job: Any) -> str | None:
    """A failed job's reason in the API's own words, with the code and the parameter it names."""
    error = getattr(job, "error", None)
    if error is None:
        return None
    message = getattr(error, "message", None) or "the job failed"
    details = [f"code {error.code}"] if getattr(error, "code", None) else []
    if getattr(error, "param", None):
        details.append(f"param {error.param}")
    return f"{message} ({', '.join(details)})" if details else message


def to_state(
    job: Any,
    *,
    statuses: Mapping[str, JobStatus] = OPENAI_STATUSES,
    provider: str = "openai",
    step: int | None = None,
    total_steps: int | None = None,
) -> JobState:
    """A ``FineTuningJob`` as a :class:`JobState`; an unknown status is kept raw and polled on."""
    raw = getattr(job, "status", None)
    status = normalize_status(raw, statuses, provider=provider)
    return JobState(
        status=status,
        raw_status=raw,
        job_id=job.id,
        message=error_message(job) if status == JobStatus.FAILED else None,
        step=step,
        total_steps=total_steps,
        estimated_finish=unix_time(getattr(job, "estimated_finish", None)),
        fine_tuned_model=getattr(job, "fine_tuned_model", None),
        trained_tokens=getattr(job, "trained_tokens", None),
    )


def to_event(event: Any) -> JobEvent:
    """A ``FineTuningJobEvent`` as a :class:`JobEvent`, metrics lifted out of ``data``."""
    data = event.data if isinstance(event.data, dict) else {}
    kind = event.type or "message"
    metrics = {k: float(v) for k, v in data.items() if k in METRIC_KEYS and _is_number(v)}
    step = _as_int(data.get("step"))
    total = _as_int(data.get("total_steps"))
    if kind == "message" and "checkpoint" in (event.message or "").lower():
        kind = "checkpoint"
    return JobEvent(
        id=event.id,
        created_at=unix_time(event.created_at) or datetime.now(timezone.utc),
        level=event.level or "info",
        type="metrics" if metrics else kind,
        message=event.message or "",
        step=step,
        total_steps=total,
        metrics=metrics,
        data=data,
    )


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _as_int(value: object) -> int | None:
    if isinstance(value, (int, float)) and _is_number(value):
        return int(value)
    return None
