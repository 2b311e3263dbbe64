"""The fine-tuning job engine: creation, lifecycle transitions, events, metrics, checkpoints, results.

Shared by the OpenAI and Azure emulators; callers hold ``state.lock`` around every method.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from tunekit_emulators.openai.errors import APIError, invalid_request, not_found
from tunekit_emulators.openai.store import (
    JOB_PATH,
    CheckpointRecord,
    EventRecord,
    FileRecord,
    JobRecord,
    ModelRecord,
    OpenAIState,
)
from tunekit_emulators.openai.training import (
    TrainingData,
    generate_metrics,
    parse_training_file,
    results_csv,
)
from tunekit_emulators.openai.validation import validate_job_request

__all__ = ["JobEngine"]

_AUTO_EPOCHS = 3
_AUTO_LR = 1.8
_CHECKPOINTS = 3
_CONTROL_STATES = frozenset({*JOB_PATH, "failed", "cancelled", "paused"})


def _resolve(value: Any, auto: float) -> float:
    return auto if value in (None, "auto") else float(value)


class JobEngine:
    """Moves jobs through validating_files → queued → running → succeeded (or failed / cancelled / paused)."""

    def __init__(self, state: OpenAIState, *, extra_fields: frozenset[str] = frozenset()) -> None:
        self.state = state
        self.extra_fields = extra_fields

    # --- lookup -------------------------------------------------------------------------------------------

    def get(self, job_id: str) -> JobRecord:
        job = self.state.jobs.get(job_id)
        if job is None:
            raise not_found(f"Fine-tuning job {job_id} not found.", param="fine_tuning_job_id")
        return job

    # --- events -------------------------------------------------------------------------------------------

    def _event(
        self, job: JobRecord, message: str, *, level: str = "info", kind: str = "message", data: Any = None
    ) -> None:
        job.events.append(
            EventRecord(self.state.ids.new("ftevent-"), self.state.now(), level, message, type=kind, data=data)
        )

    def _emit_metrics(self, job: JobRecord, upto: int) -> None:
        for point in job.metrics[job.metrics_emitted : upto]:
            data = {**point, "total_steps": job.total_steps}
            message = f"Step {point['step']}/{job.total_steps}: training loss={float(point['train_loss']):.2f}"
            if point.get("valid_loss") is not None:
                message += f", validation loss={float(point['valid_loss']):.2f}"
            self._event(job, message, kind="metrics", data=data)
        job.metrics_emitted = max(job.metrics_emitted, min(upto, len(job.metrics)))

    # --- create -------------------------------------------------------------------------------------------

    def create(self, body: Mapping[str, Any]) -> JobRecord:
        state = self.state
        if state.deny is not None:
            message, code = state.deny
            raise APIError(403, message, code=code)
        request = validate_job_request(state, body, self.extra_fields)
        job_id = state.flavor.new_id(state.ids, state.flavor.job_id_prefix)
        seed = request.seed if request.seed is not None else int(state.ids.new("", 9, "0123456789"))
        hyper = {
            key: request.hyperparameters.get(key, "auto")
            for key in ("batch_size", "learning_rate_multiplier", "n_epochs")
        }
        job = JobRecord(
            id=job_id,
            model=request.model,
            training_file=request.training_file,
            validation_file=request.validation_file,
            suffix=request.suffix,
            seed=seed,
            method=request.method,
            hyperparameters=hyper,
            metadata=request.metadata,
            integrations=request.integrations,
            created_at=state.now(),
            status="validating_files",
            entered_at=state.lifecycle.now(),
            extra={**state.flavor.job_defaults, **request.extra},
            base_model=request.base_model,
        )
        state.jobs[job_id] = job
        self._event(job, f"Validating training file: {job.training_file}")
        if job.validation_file:
            self._event(job, f"Validating validation file: {job.validation_file}")
        self._event(job, f"Created fine-tuning job: {job_id}")
        return job

    # --- transitions --------------------------------------------------------------------------------------

    def tick(self, job: JobRecord) -> JobRecord:
        """Apply every transition the lifecycle says is due (a client read the job)."""
        for target, at in self.state.lifecycle.due(JOB_PATH, job.status, job.entered_at):
            if not self._enter(job, target, at):
                break
        if job.status == "running" and self.state.lifecycle.mode == "timed" and job.metrics:
            fraction = self.state.lifecycle.progress(job.entered_at)
            self._emit_metrics(job, math.floor(fraction * len(job.metrics)))
        return job

    def _enter(self, job: JobRecord, target: str, at: float) -> bool:
        """Move ``job`` into ``target``; False when the move failed the job instead."""
        if target == "queued":
            if not self._validate_files(job):
                return False
            self._event(job, "Files validated, moving job to queued state")
        elif target == "running":
            self._event(job, "Fine-tuning job started")
            job.estimated_finish = int(at + self.state.lifecycle.step_seconds)
        elif target == "succeeded":
            self._succeed(job)
        job.status = target
        job.entered_at = at
        return True

    def _parse(self, file_id: str, method: str) -> TrainingData:
        record = self.state.files.get(file_id)
        if record is None:
            data = TrainingData()
            data.errors.append(f"file {file_id} was deleted")
            return data
        return parse_training_file(record.content, method)

    def _validate_files(self, job: JobRecord) -> bool:
        method = job.method_type
        data = self._parse(job.training_file, method)
        if not data.valid:
            self.fail(
                job, f"Invalid file format. {data.errors[0]}", code="invalid_training_file", param="training_file"
            )
            return False
        minimum = self.state.flavor.min_examples
        if data.examples < minimum:
            self.fail(
                job,
                f"Training file has {data.examples} example(s), but must have at least {minimum} examples",
                code="invalid_training_file",
                param="training_file",
            )
            return False
        if job.validation_file:
            valid = self._parse(job.validation_file, method)
            if not valid.valid:
                self.fail(
                    job,
                    f"Invalid file format. {valid.errors[0]}",
                    code="invalid_validation_file",
                    param="validation_file",
                )
                return False
        job.training = data
        n = data.examples
        requested = job.hyperparameters
        batch = int(_resolve(requested.get("batch_size"), max(1, min(256, round(n * 0.002)))))
        epochs = int(_resolve(requested.get("n_epochs"), _AUTO_EPOCHS))
        lr = _resolve(requested.get("learning_rate_multiplier"), _AUTO_LR)
        job.hyperparameters = {"batch_size": batch, "learning_rate_multiplier": lr, "n_epochs": epochs}
        section = job.method.get(method)
        if isinstance(section, dict):
            resolved = dict(section.get("hyperparameters") or {})
            resolved.update(job.hyperparameters)
            if method == "dpo":
                resolved["beta"] = _resolve(resolved.get("beta"), 0.1)
            section["hyperparameters"] = resolved
        if not job.metrics:
            job.total_steps = epochs * math.ceil(n / batch)
            job.metrics = generate_metrics(
                f"{job.id}:{job.seed}", job.total_steps, with_validation=bool(job.validation_file)
            )
        job.trained_tokens = data.tokens * epochs
        return True

    def _succeed(self, job: JobRecord) -> None:
        state = self.state
        self._emit_metrics(job, len(job.metrics))
        base = job.base_model or job.model
        model_id = state.flavor.model_name(base, job.suffix, job.id, state.flavor.organization)
        job.fine_tuned_model = model_id
        self._make_checkpoints(job, model_id)
        for checkpoint in job.checkpoints:
            self._event(job, f"Checkpoint created at step {checkpoint.step}")
        previous = state.models.get(job.model)
        replies = dict(previous.replies) if previous is not None else {}
        replies.update(job.training.replies if job.training else {})
        state.models[model_id] = ModelRecord(model_id, state.now(), state.flavor.organization, base, replies)
        for checkpoint in job.checkpoints:  # a checkpoint is a model too: chat with it, or tune it further
            if checkpoint.model not in state.models:
                state.models[checkpoint.model] = ModelRecord(
                    checkpoint.model, state.now(), state.flavor.organization, base, replies
                )
        self._event(job, f"New fine-tuned model created: {model_id}")
        result = FileRecord(
            id=state.flavor.new_id(state.ids, state.flavor.file_id_prefix),
            filename="results.csv",
            purpose="fine-tune-results",
            content=results_csv(job.metrics),
            created_at=state.now(),
            status="processed",
            entered_at=state.lifecycle.now(),
        )
        state.files[result.id] = result
        job.result_files = [result.id]
        job.finished_at = state.now()
        job.estimated_finish = None
        self._event(job, "The job has successfully completed")

    def _make_checkpoints(self, job: JobRecord, model_id: str) -> None:
        epochs = int(job.hyperparameters.get("n_epochs", 1) or 1)
        total = max(1, job.total_steps)
        per_epoch = total / epochs
        steps = sorted({max(1, round(per_epoch * e)) for e in range(max(1, epochs - _CHECKPOINTS + 1), epochs + 1)})
        job.checkpoints = []
        for step in steps:
            point = _metrics_at(job.metrics, step)
            metrics = {
                "step": float(step),
                "train_loss": point.get("train_loss"),
                "train_mean_token_accuracy": point.get("train_mean_token_accuracy"),
                "valid_loss": point.get("valid_loss"),
                "valid_mean_token_accuracy": point.get("valid_mean_token_accuracy"),
                "full_valid_loss": point.get("full_valid_loss"),
                "full_valid_mean_token_accuracy": point.get("full_valid_mean_token_accuracy"),
            }
            job.checkpoints.append(
                CheckpointRecord(
                    id=self.state.ids.new("ftckpt_"),
                    created_at=self.state.now(),
                    model=model_id if step == total else f"{model_id}:ckpt-step-{step}",
                    step=step,
                    metrics={k: v for k, v in metrics.items() if v is not None},
                    job_id=job.id,
                )
            )

    # --- client and control actions -----------------------------------------------------------------------

    def fail(
        self, job: JobRecord, message: str, *, code: str = "invalid_training_file", param: str | None = None
    ) -> None:
        if job.terminal:
            raise ValueError(f"job {job.id} is already {job.status}")
        job.status = "failed"
        job.error = {"code": code, "message": message, "param": param}
        job.finished_at = self.state.now()
        job.estimated_finish = None
        self._event(job, f"The job failed: {message}" if not message.startswith("The job") else message, level="error")

    def cancel(self, job: JobRecord) -> JobRecord:
        self.tick(job)
        if job.terminal:
            raise invalid_request(
                f"Job {job.id} has already {job.status} and cannot be cancelled.", param="fine_tuning_job_id"
            )
        job.status = "cancelled"
        job.estimated_finish = None
        self._event(job, "Fine-tuning job cancelled")
        return job

    def pause(self, job: JobRecord) -> JobRecord:
        self.tick(job)
        if job.status != "running":
            raise invalid_request(
                f"Job {job.id} is {job.status}; only a running job can be paused.", param="fine_tuning_job_id"
            )
        job.status = "paused"
        self._event(job, "Fine-tuning job paused")
        return job

    def resume(self, job: JobRecord) -> JobRecord:
        if job.status != "paused":
            raise invalid_request(
                f"Job {job.id} is {job.status}; only a paused job can be resumed.", param="fine_tuning_job_id"
            )
        # The service requeues a resumed job (see the API reference's resume example) before it runs again.
        job.status = "queued"
        job.entered_at = self.state.lifecycle.now()
        self._event(job, "Fine-tuning job resumed")
        return job

    def advance(self, job: JobRecord, to: str | None = None) -> JobRecord:
        """Move a job one state on (or on to ``to``), whatever the lifecycle mode."""
        if to is not None and to not in _CONTROL_STATES:
            raise ValueError(f"unknown job state {to!r}; expected one of {', '.join(sorted(_CONTROL_STATES))}")
        if to == "failed":
            self.fail(job, "The job failed due to an internal error.", code="internal_error")
            return job
        if to == "cancelled":
            return self.cancel(job)
        if to == "paused":
            return self.pause(job)
        if job.status == "paused":
            return self.resume(job)
        if job.terminal:
            raise ValueError(f"job {job.id} is already {job.status}")
        if to is not None and JOB_PATH.index(to) <= JOB_PATH.index(job.status):
            raise ValueError(f"job {job.id} is already past {to!r} (it is {job.status})")
        target = to or JOB_PATH[JOB_PATH.index(job.status) + 1]
        now = self.state.lifecycle.now()
        while job.status != target:
            step = JOB_PATH[JOB_PATH.index(job.status) + 1]
            if not self._enter(job, step, now):
                break
        return job

    def seed_metrics(self, job: JobRecord, points: Sequence[Mapping[str, Any]]) -> None:
        """Replace the job's metric series; events already emitted are re-emitted from the new series."""
        if not points:
            raise ValueError("seed_metrics needs at least one point")
        cleaned = sorted((dict(p) for p in points), key=lambda p: int(p["step"]))
        for point in cleaned:
            if "train_loss" not in point:
                raise ValueError(f"metric point {point} lacks 'train_loss'")
        emitted = job.metrics_emitted
        job.events = [event for event in job.events if event.type != "metrics"]
        job.metrics = cleaned
        job.total_steps = int(cleaned[-1]["step"])
        job.metrics_emitted = 0
        if job.status == "succeeded":
            self._emit_metrics(job, len(cleaned))
            if job.fine_tuned_model:
                self._make_checkpoints(job, job.fine_tuned_model)
            for file_id in job.result_files:
                result = self.state.files.get(file_id)
                if result is not None:
                    result.content = results_csv(cleaned)
        elif emitted:
            self._emit_metrics(job, min(emitted, len(cleaned)))


def _metrics_at(points: Sequence[Mapping[str, Any]], step: int) -> Mapping[str, Any]:
    best: Mapping[str, Any] = points[0] if points else {}
    for point in points:
        if int(point["step"]) <= step:
            best = point
    return best
