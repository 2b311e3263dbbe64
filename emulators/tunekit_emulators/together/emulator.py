"""The Together AI emulator: files (presigned upload), fine-tunes, their events, checkpoints and downloads, chat.

The routes are the ones the official ``together`` SDK calls (read from its
source): ``POST /v1/files`` answers 302 with a storage URL the SDK PUTs the
bytes to, then ``POST /v1/files/{id}/preprocess``; a file whose checksum is
already stored answers 409 with its id. ``create`` asks
``GET /v1/fine-tunes/models/limits`` and ``POST /v1/fine-tunes/estimate-price``
before ``POST /v1/fine-tunes``. Jobs move ``pending → queued → running →
compressing → uploading → completed`` under the shared :class:`Lifecycle`.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import secrets
import tarfile
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from tunekit_emulators.base import CONTROL_PREFIX, Emulator, control_action
from tunekit_emulators.lifecycle import Lifecycle, LifecycleMode
from tunekit_emulators.openai.common import json_body, json_response, multipart
from tunekit_emulators.openai.errors import APIError, error_body, handle_api_error, invalid_request, not_found
from tunekit_emulators.openai.training import parse_training_file
from tunekit_emulators.ratelimit import RateLimiter
from tunekit_emulators.replies import echo_completion
from tunekit_emulators.together.catalog import SERVERLESS_LORA, model_limits
from tunekit_emulators.together.endpoints import HARDWARE, Endpoints

__all__ = ["PATH", "TogetherEmulator"]

PATH = ("pending", "queued", "running", "compressing", "uploading", "completed")
FINAL = frozenset({"completed", "cancelled", "error"})
_EVENTS = {
    "queued": ("job_pending", "Job is queued"),
    "running": ("training_start", "Training started"),
    "compressing": ("training_complete", "Training completed"),
    "uploading": ("model_uploading", "Uploading the model"),
    "completed": ("job_complete", "Job finished"),
}
_STEPS = 10
MAX_FILE_BYTES = 50 * 1024**3


def _json(value: dict[str, Any]) -> bytes:
    return json.dumps(value, indent=2).encode()


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, timezone.utc).isoformat()


def _checkpoint_steps(job: _Job) -> list[int]:
    """The steps at which a completed job saved its ``n_checkpoints`` checkpoints (the last is the final model)."""
    count = int(job.body.get("n_checkpoints") or 1) if job.status == "completed" else 0
    return [_STEPS * (i + 1) // count for i in range(count)]


@dataclass
class _File:
    id: str
    filename: str
    purpose: str
    checksum: str
    created_at: float
    content: bytes | None = None
    status: str = "PENDING"

    def to_api(self) -> dict[str, Any]:
        lines = self.content.count(b"\n") if self.content else 0
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.content or b""),
            "created_at": int(self.created_at),
            "filename": self.filename,
            "FileType": "jsonl",
            "purpose": self.purpose,
            "processing_status": self.status,
            "validation_report": {"valid": self.status == "COMPLETED", "nlines": lines, "file_id": self.id},
        }


@dataclass
class _Job:
    id: str
    body: dict[str, Any]
    output_name: str
    created_at: float
    status: str = "pending"
    entered_at: float = 0.0
    events: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    def event(self, at: float, kind: str, message: str, **extra: Any) -> None:
        self.events.append(
            {"object": "fine-tune-event", "created_at": _iso(at), "type": kind, "message": message, "level": "info"}
            | extra
        )

    def to_api(self) -> dict[str, Any]:
        body = self.body
        lora = (body.get("training_type") or {}).get("type") == "Lora"
        done = self.status == "completed"
        return {
            "id": self.id,
            "status": self.status,
            "user_id": "user-emulator",
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.entered_at),
            "model": body.get("model"),
            "suffix": body.get("suffix"),
            "training_file": body.get("training_file"),
            "validation_file": body.get("validation_file") or None,
            "n_epochs": body.get("n_epochs"),
            "n_checkpoints": body.get("n_checkpoints"),
            "n_evals": body.get("n_evals"),
            "batch_size": body.get("batch_size"),
            "learning_rate": body.get("learning_rate"),
            "warmup_ratio": body.get("warmup_ratio"),
            "training_type": body.get("training_type"),
            "training_method": body.get("training_method"),
            "from_checkpoint": body.get("from_checkpoint"),
            "wandb_project_name": body.get("wandb_project_name"),
            "wandb_url": f"https://wandb.ai/{body['wandb_project_name']}/{self.id}"
            if body.get("wandb_project_name")
            else None,
            "model_output_name": self.output_name,
            "adapter_output_name": f"{self.output_name}-adapter" if lora else None,
            "token_count": 1000 if done else None,
            "total_price": 1 if done else None,
            "events": self.events,
        }


class TogetherEmulator(Emulator):
    """Together AI over loopback HTTP; point ``together.Together(base_url=emu.url, api_key=emu.api_key)`` at it."""

    service: ClassVar[str] = "together"

    def __init__(
        self,
        *,
        lifecycle: LifecycleMode = "immediate",
        seed: int | None = None,
        step_seconds: float = 1.0,
        rpm: int | None = None,
        tpm: int | None = None,
        port: int = 0,
        host: str = "127.0.0.1",
        max_file_bytes: int = MAX_FILE_BYTES,
        artifacts: dict[str, Path] | None = None,
        access_log: bool = False,
    ) -> None:
        super().__init__(seed=seed, port=port, host=host, access_log=access_log)
        self.lifecycle = Lifecycle(lifecycle, step_seconds)
        self.limiter = RateLimiter(rpm, tpm)
        self.max_file_bytes = max_file_bytes
        self.artifacts = dict(artifacts or {})
        """``adapter`` / ``merged`` -> a folder whose files a download of that kind returns (real weights for
        ``tunekit serve`` and ``export``); without one, a download holds only a config naming the job."""
        self.api_key = "tgp_v1_" + (
            hashlib.sha256(f"together-{seed}".encode()).hexdigest() if self.seeded else secrets.token_hex(32)
        )
        self.lock = threading.RLock()
        self._files: dict[str, _File] = {}
        self._jobs: dict[str, _Job] = {}
        self.endpoints = Endpoints(self.lifecycle, self.ids, self.lock, self._servable, self._authorize)
        """The dedicated endpoints (``endpoints.listed()``, ``endpoints.fail_starts``)."""

    def describe(self) -> dict[str, str]:
        return {**super().describe(), "base_url": self.url, "api_key": self.api_key}

    def reset_state(self) -> None:
        with self.lock:
            self._files.clear()
            self._jobs.clear()
            self.endpoints.records.clear()
            self.endpoints.fail_starts = False
            self.endpoints.unservable.clear()
            self.endpoints.prices = dict(HARDWARE)
            self.limiter.reset()

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        return error_body(status, message)

    # --- the Python control handle ------------------------------------------------------------------------

    def jobs(self) -> list[dict[str, Any]]:
        """Every fine-tuning job as the API renders it, oldest first (reading here moves no job)."""
        with self.lock:
            return [job.to_api() for job in self._jobs.values()]

    def files(self) -> list[dict[str, Any]]:
        with self.lock:
            return [f.to_api() for f in self._files.values() if f.content is not None]

    def advance(self, job_id: str, to: str | None = None) -> dict[str, Any]:
        """Move a job to its next state, or on to state ``to``."""
        with self.lock:
            job = self._jobs[job_id]
            for state in Lifecycle.steps(PATH, job.status, to):
                self._enter(job, state, self.lifecycle.now())
            return job.to_api()

    def fail(self, job_id: str, message: str = "the training failed") -> dict[str, Any]:
        with self.lock:
            job = self._jobs[job_id]
            job.status, job.error, job.entered_at = "error", message, self.lifecycle.now()
            job.event(job.entered_at, "job_error", message, level="error")
            return job.to_api()

    # --- the app ------------------------------------------------------------------------------------------

    def build_app(self) -> Starlette:
        v1 = [
            Route("/files", self._upload_url, methods=["POST"]),
            Route("/files", self._list_files, methods=["GET"]),
            Route("/files/{id}", self._get_file, methods=["GET"]),
            Route("/files/{id}/content", self._file_content, methods=["GET"]),
            Route("/files/{id}/preprocess", self._preprocess, methods=["POST"]),
            Route("/fine-tunes", self._create_job, methods=["POST"]),
            Route("/fine-tunes", self._list_jobs, methods=["GET"]),
            Route("/fine-tunes/models/limits", self._limits, methods=["GET"]),
            Route("/fine-tunes/estimate-price", self._estimate, methods=["POST"]),
            Route("/fine-tunes/{id}", self._get_job, methods=["GET"]),
            Route("/fine-tunes/{id}/cancel", self._cancel, methods=["POST"]),
            Route("/fine-tunes/{id}/events", self._events, methods=["GET"]),
            Route("/fine-tunes/{id}/checkpoints", self._checkpoints, methods=["GET"]),
            Route("/fine-tunes/{id}/metrics", self._metrics, methods=["GET"]),
            Route("/finetune/download", self._download, methods=["GET"]),
            Route("/chat/completions", self._chat, methods=["POST"]),
            *self.endpoints.routes(),
        ]
        advance = control_action("/fine-tunes/{id}/advance", lambda job_id, body: self.advance(job_id, body.get("to")))
        fail = control_action(
            "/fine-tunes/{id}/fail",
            lambda job_id, body: self.fail(job_id, body.get("message") or "the training failed"),
        )
        control = [*self.control_routes(), advance, fail]
        routes: list[BaseRoute] = [
            Mount(CONTROL_PREFIX, routes=control),
            Mount("/v1", routes=v1),
            Route("/_storage/{id}", self._store, methods=["PUT"]),
        ]
        return Starlette(routes=routes, exception_handlers={APIError: handle_api_error})

    def _authorize(self, request: Request) -> None:
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            raise APIError(401, "Invalid API key provided. You can find your API key at https://api.together.ai.")

    def _file(self, file_id: str) -> _File:
        found = self._files.get(file_id)
        if found is None or found.content is None:
            raise not_found(f"File {file_id} not found")
        return found

    def _base_of(self, name: str) -> str:
        """The base model of a job id or tuned model name (a checkpoint to continue from), else ``name`` itself."""
        for job in self._jobs.values():
            if name in (job.id, job.output_name):
                return str(job.body.get("model"))
        return name

    def _continued(self, start: str) -> str:
        """The base model of the job ``from_checkpoint`` continues (``JOB_ID`` or output name, ``:STEP`` optional).

        Like the service: the parent must be a completed job of this account and the step one it saved."""
        name, _, step = start.partition(":")
        parent = next((j for j in self._jobs.values() if name in (j.id, j.output_name)), None)
        if parent is None:
            raise invalid_request(
                f"from_checkpoint {start}: no fine-tuning job or model {name}", param="from_checkpoint"
            )
        parent = self._job(parent.id)
        if parent.status != "completed":
            raise invalid_request(
                f"from_checkpoint {start}: job {parent.id} is {parent.status}; only a completed job can be continued",
                param="from_checkpoint",
            )
        steps = _checkpoint_steps(parent)
        if step and (not step.isdigit() or int(step) not in steps):
            listed = ", ".join(map(str, steps))
            raise invalid_request(
                f"from_checkpoint {start}: job {parent.id} has no checkpoint at step {step} (steps: {listed})",
                param="from_checkpoint",
            )
        return str(parent.body.get("model"))

    def _job(self, job_id: str) -> _Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise not_found(f"Fine-tune job {job_id} not found")
        for state, at in self.lifecycle.due(PATH, job.status, job.entered_at):
            self._enter(job, state, at)
        return job

    def _enter(self, job: _Job, state: str, at: float) -> None:
        job.status, job.entered_at = state, at
        kind, message = _EVENTS[state]
        extra = {"step": _STEPS, "total_steps": _STEPS} if state == "compressing" else {}
        job.event(at, kind, message, **extra)

    # files: a presigned upload in three requests
    async def _upload_url(self, request: Request) -> Response:
        self._authorize(request)
        form = await multipart(request)
        checksum, name = str(form.get("checksum") or ""), str(form.get("file_name") or "")
        with self.lock:
            for existing in self._files.values():
                if existing.checksum == checksum and existing.content is not None:
                    return json_response({"message": "File already exists", "file_id": existing.id}, status=409)
            record = _File(self.ids.new("file-", 32), name, str(form.get("purpose")), checksum, self.lifecycle.now())
            self._files[record.id] = record
        headers = {"Location": f"{self.url}/_storage/{record.id}", "X-Together-File-Id": record.id}
        return Response(status_code=302, headers=headers)

    async def _store(self, request: Request) -> Response:
        size = int(request.headers.get("content-length") or 0)
        if size > self.max_file_bytes:
            return json_response(error_body(413, f"File size exceeds the limit of {self.max_file_bytes} bytes"), 413)
        content = await request.body()
        with self.lock:
            record = self._files.get(request.path_params["id"])
            if record is None:
                return Response(status_code=404)
            record.content = content
        return Response(status_code=200)

    async def _preprocess(self, request: Request) -> Response:
        self._authorize(request)
        with self.lock:
            record = self._file(request.path_params["id"])
            try:
                rows = [json.loads(line) for line in (record.content or b"").splitlines() if line.strip()]
                record.status = "COMPLETED" if rows and all(isinstance(r, dict) for r in rows) else "INVALID_FORMAT"
            except ValueError:
                record.status = "INVALID_FORMAT"
            return json_response(record.to_api())

    async def _list_files(self, request: Request) -> Response:
        self._authorize(request)
        return json_response({"data": self.files()})

    async def _get_file(self, request: Request) -> Response:
        self._authorize(request)
        with self.lock:
            return json_response(self._file(request.path_params["id"]).to_api())

    async def _file_content(self, request: Request) -> Response:
        self._authorize(request)
        with self.lock:
            return Response(self._file(request.path_params["id"]).content, media_type="application/octet-stream")

    # fine-tuning
    async def _limits(self, request: Request) -> Response:
        self._authorize(request)
        model = request.query_params.get("model_name", "")
        with self.lock:
            limits = model_limits(self._base_of(model))
        if limits is None:
            raise not_found(f"Model {model} is not available for fine-tuning")
        return json_response(limits)

    async def _estimate(self, request: Request) -> Response:
        self._authorize(request)
        body = await json_body(request)
        with self.lock:
            tokens = len((self._file(str(body.get("training_file"))).content or b"").split())
        tokens *= int(body.get("n_epochs") or 1)
        price = round(tokens * 0.48 / 1e6, 6)
        return json_response(
            {
                "estimation_available": True,
                "estimated_total_price": price,
                "allowed_to_proceed": True,
                "user_limit": 100.0,
                "estimated_train_token_count": tokens,
                "estimated_eval_token_count": 0,
            }
        )

    async def _create_job(self, request: Request) -> Response:
        self._authorize(request)
        body = await json_body(request)
        start = str(body.get("from_checkpoint") or "")
        if bool(body.get("model")) == bool(start):
            raise invalid_request("Specify either a model or a checkpoint to start from, not both", param="model")
        with self.lock:
            model = self._continued(start) if start else str(body["model"])
        limits = model_limits(model)
        if limits is None:
            raise not_found(f"Model {model} is not available for fine-tuning")
        body["model"] = model
        suffix = body.get("suffix")
        if suffix is not None and len(str(suffix)) > 40:
            raise invalid_request("suffix must be at most 40 characters", param="suffix")
        rank, most = (body.get("training_type") or {}).get("lora_r"), limits["lora_training"]["max_rank"]
        if rank is not None and int(rank) > most:
            raise invalid_request(f"lora_r must be at most {most} for {model} (got {rank})", param="lora_r")
        if (body.get("training_type") or {}).get("type") == "Full" and not limits["supports_full_training"]:
            raise invalid_request(f"Full fine-tuning is not supported for {model}", param="training_type")
        with self.lock:
            for role in ("training_file", "validation_file"):
                if body.get(role):
                    record = self._file(str(body[role]))
                    if record.status != "COMPLETED":
                        raise invalid_request(f"{role} {record.id} did not pass validation ({record.status})")
            now = self.lifecycle.now()
            job_id = self.ids.new("ft-", 32, alphabet="0123456789abcdef")
            name = f"emulator/{model.split('/')[-1]}-{suffix or 'tuned'}-{job_id[3:9]}"
            job = _Job(job_id, body, name, now, entered_at=now)
            job.event(now, "job_pending", "Fine-tune job created")
            self._jobs[job_id] = job
            return json_response(job.to_api())

    async def _list_jobs(self, request: Request) -> Response:
        self._authorize(request)
        with self.lock:
            return json_response({"data": [self._job(i).to_api() for i in list(self._jobs)][::-1]})

    async def _get_job(self, request: Request) -> Response:
        self._authorize(request)
        with self.lock:
            return json_response(self._job(request.path_params["id"]).to_api())

    async def _cancel(self, request: Request) -> Response:
        self._authorize(request)
        with self.lock:
            job = self._job(request.path_params["id"])
            if job.status in FINAL:
                raise invalid_request(f"Job {job.id} is already {job.status} and cannot be cancelled")
            job.status, job.entered_at = "cancelled", self.lifecycle.now()
            job.event(job.entered_at, "cancel_requested", "Cancel requested")
            job.event(job.entered_at, "job_stopped", "Job cancelled")
            return json_response(job.to_api())

    async def _events(self, request: Request) -> Response:
        self._authorize(request)
        with self.lock:
            return json_response({"data": self._job(request.path_params["id"]).events})

    async def _checkpoints(self, request: Request) -> Response:
        self._authorize(request)
        with self.lock:
            job = self._job(request.path_params["id"])
            data = [
                {
                    "checkpoint_type": "Final" if step == _STEPS else f"Intermediate step {step}",
                    "step": step,
                    "created_at": _iso(job.entered_at),
                    "path": f"s3://emulator/{job.id}/checkpoint-{step}",
                    "checkpoint": "adapter",
                }
                for step in _checkpoint_steps(job)
            ]
            return json_response({"data": data[::-1]})

    async def _metrics(self, request: Request) -> Response:
        self._authorize(request)
        with self.lock:
            job = self._job(request.path_params["id"])
            done = _STEPS if job.status in ("compressing", "uploading", "completed") else 0
            rows = [{"global_step": s, "train_loss": round(2.0 / s, 4), "lr": 1e-5} for s in range(1, done + 1)]
            return json_response({"metrics": rows})

    async def _download(self, request: Request) -> Response:
        self._authorize(request)
        kind = request.query_params.get("checkpoint", "merged")
        with self.lock:
            job = self._job(request.query_params.get("ft_id", ""))
            if job.status != "completed":
                raise invalid_request(f"Job {job.id} is {job.status}; only a completed job can be downloaded")
            lora = job.body.get("training_type") or {}
            if lora.get("type") != "Lora":
                kind = "merged"  # a full fine-tune has no adapter
            files: dict[str, bytes] = (
                {
                    "adapter_config.json": _json(
                        {
                            "peft_type": "LORA",
                            "base_model_name_or_path": job.body.get("model"),
                            "r": lora.get("lora_r"),
                            "lora_alpha": lora.get("lora_alpha"),
                            "target_modules": ["q_proj", "v_proj"],
                            "task_type": "CAUSAL_LM",
                        }
                    )
                }
                if kind == "adapter"
                else {"config.json": _json({"_name_or_path": job.output_name, "architectures": ["LlamaForCausalLM"]})}
            )
        folder = self.artifacts.get(kind)
        if folder is not None:
            files = {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            for name, data in files.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
        try:  # Together sends .tar.zst; gzip where zstandard is not installed (tunekit-together depends on it)
            import zstandard

            packed = zstandard.ZstdCompressor().compress(buffer.getvalue())
        except ImportError:
            packed = gzip.compress(buffer.getvalue())
        return Response(packed, media_type="application/octet-stream")

    async def _chat(self, request: Request) -> Response:
        self._authorize(request)
        body = await json_body(request)
        model = str(body.get("model") or "")
        messages = body.get("messages") or []
        with self.lock:
            endpoint = self.endpoints.serving(model)
            if endpoint is not None and endpoint.state != "STARTED":
                raise invalid_request(
                    f"Endpoint {model} is {endpoint.state}; start it to send requests", code="endpoint_not_running"
                )
            served = endpoint.model if endpoint is not None else model
            tuned = next((j for j in self._jobs.values() if j.status == "completed" and j.output_name == served), None)
            replies = self._replies(tuned) if tuned is not None else None
            serverless = endpoint is not None or (tuned is not None and self._serverless(tuned))
        if model_limits(served) is None and tuned is None:
            raise not_found(f"Unable to access model {model}. Please visit https://api.together.ai/models")
        if tuned is not None and not serverless:
            raise invalid_request(  # Together's answer, word for word, for a model it serves only on an endpoint
                f"Unable to access non-serverless model {model}. Please visit https://api.together.ai/models/{model} "
                "to create and start a new dedicated endpoint for the model.",
                code="model_not_available",
            )
        prompt = " ".join(str(m.get("content", "")) for m in messages if isinstance(m, dict))
        decision = self.limiter.acquire(len(prompt.split()) + 8)
        if not decision.allowed:
            headers = {**decision.headers, "retry-after": f"{max(decision.retry_after, 0.001):.3f}"}
            raise APIError(429, f"Rate limit exceeded for {model} ({decision.limited_by})", headers=headers)
        reply = echo_completion(model, messages, ids=self.ids, created=self.lifecycle.now(), replies=replies)
        return json_response(reply, headers=decision.headers)

    def _servable(self, model: str) -> bool:
        """Whether a dedicated endpoint can serve ``model``: a base model listed here, or a completed job's output."""
        with self.lock:
            done = any(
                self._job(i).status == "completed" and self._jobs[i].output_name == model for i in list(self._jobs)
            )
        return done or model_limits(model) is not None or model in SERVERLESS_LORA

    def _serverless(self, job: _Job) -> bool:
        """Whether Together serves the job's model serverless: a LoRA adapter on a base model it lists for that.

        A full fine-tune needs a dedicated endpoint, so does an adapter of any other base model, and so does a
        continuation that did not train its parent's adapter further in the same shape (rank, alpha, modules):
        Together merged the parent's weights first, so the new adapter no longer sits on the base model."""
        kind = job.body.get("training_type") or {}
        if kind.get("type") != "Lora" or job.body.get("model") not in SERVERLESS_LORA:
            return False
        start = str(job.body.get("from_checkpoint") or "").partition(":")[0]
        if not start:
            return True
        parent = next((j for j in self._jobs.values() if start in (j.id, j.output_name)), None)
        shape = ("lora_r", "lora_alpha", "lora_trainable_modules")
        before = (parent.body.get("training_type") or {}) if parent is not None else {}
        return parent is not None and self._serverless(parent) and all(before.get(k) == kind.get(k) for k in shape)

    def _replies(self, job: _Job) -> dict[str, str]:
        """What a tuned model learned: its training file's prompts and replies (a tuned model answers them)."""
        record = self._files.get(str(job.body.get("training_file")))
        method = "dpo" if (job.body.get("training_method") or {}).get("method") == "dpo" else "supervised"
        return parse_training_file(record.content or b"", method).replies if record is not None else {}
