"""Azure's job and file values, normalized.

Azure OpenAI reports the OpenAI statuses plus its own (``pending``,
``notRunning``, ``created``, the US spelling ``canceled``), and leaves fields
``null`` that OpenAI always fills (``method``, ``hyperparameters``,
``estimated_finish``, an empty ``error`` object). The shared conversions in
:mod:`tunekit_openai.states` already tolerate the nulls; this adds the values.
"""

from __future__ import annotations

from collections.abc import Mapping

from tunekit.plugin import JobStatus
from tunekit_openai.states import OPENAI_STATUSES

__all__ = ["AZURE_STATUSES"]

AZURE_STATUSES: Mapping[str, JobStatus] = {
    **OPENAI_STATUSES,
    "created": JobStatus.PENDING,
    "pending": JobStatus.PENDING,
    "notRunning": JobStatus.QUEUED,
    "queued": JobStatus.QUEUED,
    "canceled": JobStatus.CANCELLED,
    "cancelling": JobStatus.RUNNING,
    "deleted": JobStatus.CANCELLED,
}
