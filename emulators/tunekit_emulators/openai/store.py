"""The emulated account's resources (files, uploads, jobs, models) and how each renders as JSON.

One :class:`OpenAIState` holds everything behind a re-entrant lock: routes run on the server's
event loop thread while tests call the Python control handle from theirs. A :class:`Flavor` holds
what differs between OpenAI and Azure OpenAI (status names, model naming, limits).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tunekit_emulators.base import IdFactory
from tunekit_emulators.lifecycle import Lifecycle
from tunekit_emulators.openai.training import TrainingData

__all__ = [
    "FINE_TUNABLE_MODELS",
    "JOB_PATH",
    "OPENAI_CHAT_MODELS",
    "EventRecord",
    "FileRecord",
    "Flavor",
    "JobRecord",
    "ModelRecord",
    "OpenAIState",
    "UploadRecord",
    "openai_flavor",
]

_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
JOB_PATH = ("validating_files", "queued", "running", "succeeded")
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})

# Snapshots OpenAI accepts for fine-tuning, and which methods each supports.
FINE_TUNABLE_MODELS: dict[str, frozenset[str]] = {
    "gpt-4.1-2025-04-14": frozenset({"supervised", "dpo"}),
    "gpt-4.1-mini-2025-04-14": frozenset({"supervised", "dpo"}),
    "gpt-4.1-nano-2025-04-14": frozenset({"supervised", "dpo"}),
    "gpt-4o-2024-08-06": frozenset({"supervised", "dpo"}),
    "gpt-4o-mini-2024-07-18": frozenset({"supervised", "dpo"}),
    "gpt-3.5-turbo-0125": frozenset({"supervised"}),
    "gpt-3.5-turbo": frozenset({"supervised"}),
    "o4-mini-2025-04-16": frozenset({"reinforcement"}),
    "babbage-002": frozenset({"supervised"}),
    "davinci-002": frozenset({"supervised"}),
}

OPENAI_CHAT_MODELS: tuple[str, ...] = (
    "gpt-4.1",
    "gpt-4.1-2025-04-14",
    "gpt-4.1-mini",
    "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano",
    "gpt-4.1-nano-2025-04-14",
    "gpt-4o",
    "gpt-4o-2024-08-06",
    "gpt-4o-mini",
    "gpt-4o-mini-2024-07-18",
    "gpt-3.5-turbo",
    "gpt-3.5-turbo-0125",
    "o4-mini",
    "o4-mini-2025-04-16",
    "babbage-002",
    "davinci-002",
)


def _openai_model_name(base: str, suffix: str | None, job_id: str, organization: str) -> str:
    return f"ft:{base}:{organization}:{suffix or ''}:{job_id[-8:]}"


@dataclass(frozen=True)
class Flavor:
    """What differs between the OpenAI and Azure OpenAI renderings of the same resources."""

    name: str
    organization: str = "tunekit-emulator"
    suffix_max: int = 64
    fine_tunable: dict[str, frozenset[str]] = field(default_factory=lambda: dict(FINE_TUNABLE_MODELS))
    chat_models: tuple[str, ...] = OPENAI_CHAT_MODELS
    job_status: dict[str, str] = field(default_factory=dict)
    file_status: dict[str, str] = field(default_factory=dict)
    model_name: Callable[[str, str | None, str, str], str] = _openai_model_name
    file_id_prefix: str = "file-"
    job_id_prefix: str = "ftjob-"
    id_alphabet: str | None = None
    id_length: int = 24
    min_examples: int = 10
    file_create_status: int = 200
    not_ready_code: str = "file_not_ready"
    not_ready_message: str = "File '{file_id}' is not ready yet (status '{status}'); wait until it is processed."
    job_defaults: dict[str, Any] = field(default_factory=dict)
    validate_extra: Callable[[Mapping[str, Any]], None] | None = None

    def new_id(self, ids: IdFactory, prefix: str) -> str:
        return ids.new(prefix, self.id_length, self.id_alphabet or _ALNUM)

    def render_job_status(self, status: str) -> str:
        return self.job_status.get(status, status)

    def render_file_status(self, status: str) -> str:
        return self.file_status.get(status, status)


def openai_flavor(min_examples: int = 10) -> Flavor:
    return Flavor(name="openai", min_examples=min_examples)


@dataclass
class FileRecord:
    id: str
    filename: str
    purpose: str
    content: bytes
    created_at: int
    status: str
    entered_at: float
    expires_at: int | None = None
    status_details: str | None = None
    failure: str | None = None

    def to_api(self, flavor: Flavor) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "object": "file",
            "bytes": len(self.content),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": flavor.render_file_status(self.status),
        }
        # Optional in the spec but not nullable: absent rather than null.
        if self.expires_at is not None:
            body["expires_at"] = self.expires_at
        if self.status_details is not None:
            body["status_details"] = self.status_details
        return body


@dataclass
class UploadRecord:
    id: str
    filename: str
    purpose: str
    size: int
    mime_type: str
    created_at: int
    expires_at: int
    status: str = "pending"
    parts: dict[str, bytes] = field(default_factory=dict)
    file_id: str | None = None

    def to_api(self, file: dict[str, Any] | None) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "upload",
            "bytes": self.size,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": self.status,
            "file": file,
        }


@dataclass
class EventRecord:
    id: str
    created_at: int
    level: str
    message: str
    type: str = "message"
    data: dict[str, Any] | None = None

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "fine_tuning.job.event",
            "created_at": self.created_at,
            "level": self.level,
            "message": self.message,
            "type": self.type,
            "data": self.data if self.data is not None else {},
        }


@dataclass
class CheckpointRecord:
    id: str
    created_at: int
    model: str
    step: int
    metrics: dict[str, Any]
    job_id: str

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "fine_tuning.job.checkpoint",
            "created_at": self.created_at,
            "fine_tuned_model_checkpoint": self.model,
            "fine_tuning_job_id": self.job_id,
            "step_number": self.step,
            "metrics": self.metrics,
        }


@dataclass
class JobRecord:
    id: str
    model: str
    training_file: str
    validation_file: str | None
    suffix: str | None
    seed: int
    method: dict[str, Any]
    hyperparameters: dict[str, Any]
    metadata: dict[str, str] | None
    integrations: list[dict[str, Any]] | None
    created_at: int
    status: str
    entered_at: float
    extra: dict[str, Any] = field(default_factory=dict)
    base_model: str = ""
    error: dict[str, Any] | None = None
    fine_tuned_model: str | None = None
    finished_at: int | None = None
    trained_tokens: int | None = None
    estimated_finish: int | None = None
    result_files: list[str] = field(default_factory=list)
    events: list[EventRecord] = field(default_factory=list)
    checkpoints: list[CheckpointRecord] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    metrics_emitted: int = 0
    total_steps: int = 0
    training: TrainingData | None = None

    @property
    def method_type(self) -> str:
        return str(self.method.get("type", "supervised"))

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def to_api(self, flavor: Flavor) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "object": "fine_tuning.job",
            "created_at": self.created_at,
            "error": self.error,
            "fine_tuned_model": self.fine_tuned_model,
            "finished_at": self.finished_at,
            "hyperparameters": dict(self.hyperparameters),
            "model": self.model,
            "organization_id": f"org-{flavor.organization}",
            "result_files": list(self.result_files),
            "seed": self.seed,
            "status": flavor.render_job_status(self.status),
            "trained_tokens": self.trained_tokens,
            "training_file": self.training_file,
            "validation_file": self.validation_file,
            "integrations": self.integrations,
            "estimated_finish": self.estimated_finish,
            "method": self.method,
            "metadata": self.metadata,
            "user_provided_suffix": self.suffix,
        }
        body.update(self.extra)
        return body


@dataclass
class ModelRecord:
    id: str
    created: int
    owned_by: str
    base: str | None = None
    replies: dict[str, str] = field(default_factory=dict)

    def to_api(self) -> dict[str, Any]:
        return {"id": self.id, "object": "model", "created": self.created, "owned_by": self.owned_by}


class OpenAIState:
    """Every resource of one emulated account, plus the switches a test flips."""

    def __init__(self, flavor: Flavor, lifecycle: Lifecycle, ids: IdFactory) -> None:
        self.flavor = flavor
        self.lifecycle = lifecycle
        self.ids = ids
        self.lock = threading.RLock()
        self.files: dict[str, FileRecord] = {}
        self.uploads: dict[str, UploadRecord] = {}
        self.jobs: dict[str, JobRecord] = {}
        self.models: dict[str, ModelRecord] = {}
        self.deny: tuple[str, str | None] | None = None
        self.rejected_keys: set[str] = set()
        self.shutdown_dates: dict[str, str] = {}
        """Base model → the ``shutdown_date`` GET /v1/models reports (YYYY-MM-DD)."""
        self.created_at = int(time.time())

    def clear(self) -> None:
        with self.lock:
            self.files.clear()
            self.uploads.clear()
            self.jobs.clear()
            self.models.clear()
            self.deny = None
            self.rejected_keys.clear()
            self.shutdown_dates.clear()

    def now(self) -> int:
        return int(self.lifecycle.now())
