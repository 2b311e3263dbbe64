"""The Fireworks AI emulator: datasets, SFT, DPO and RFT jobs, evaluators, models, deployments, chat.

The routes are the ones the official ``fireworks-ai`` SDK calls with an
overridden ``base_url`` (read from its source): ``/v1/accounts/{account}/
datasets``, ``…/datasets/{id}:upload`` (multipart), ``…/supervisedFineTuningJobs``
and ``…/dpoJobs`` (the id chosen by the client in the query), ``…:cancel``,
``…/models/{id}`` and ``…:getDownloadEndpoint``, ``…/deployments`` and
``/v1/chat/completions``; ``…/evaluatorsV2`` (create) and ``…/evaluators/{id}``,
``…/reinforcementFineTuningJobs``. An RFT job runs its evaluator's code on the
dataset's rows (against the echo completion) when it starts running, and fails
with the evaluator's error as the service would (see :mod:`.evaluators`).
Control-plane errors have the gRPC-gateway shape
``{"code", "message", "details"}``; a second create with the same id answers
409 ``ALREADY_EXISTS``. Jobs move ``JOB_STATE_CREATING → PENDING → RUNNING →
WRITING_RESULTS → COMPLETED`` and deployments ``CREATING → READY`` under the
shared :class:`Lifecycle`. A LoRA model answers chat only through a deployment
(Fireworks serves no fine-tuned LoRA serverless); base models marked
serverless answer directly.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from tunekit_emulators.base import CONTROL_PREFIX, Emulator, control_action, read_json
from tunekit_emulators.fireworks.catalog import base_model
from tunekit_emulators.fireworks.evaluators import EvaluatorFailed, build_problem, run_evaluator
from tunekit_emulators.lifecycle import Lifecycle, LifecycleMode
from tunekit_emulators.openai.common import json_response, multipart
from tunekit_emulators.openai.training import parse_training_file
from tunekit_emulators.ratelimit import RateLimiter
from tunekit_emulators.replies import echo_completion

__all__ = ["JOB_PATH", "FireworksEmulator", "GrpcError"]

JOB_PATH = tuple(f"JOB_STATE_{s}" for s in ("CREATING", "PENDING", "RUNNING", "WRITING_RESULTS", "COMPLETED"))
DEPLOYMENT_PATH = ("CREATING", "READY")
MAX_UPLOAD_BYTES = 150 * 1024**2  # the :upload route's limit; larger files use a signed upload URL
_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 412: 9, 413: 3, 429: 8, 500: 13, 503: 14}
_KINDS = {"supervisedFineTuningJobs": "sft", "dpoJobs": "dpo", "reinforcementFineTuningJobs": "rft"}


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, timezone.utc).isoformat().replace("+00:00", "Z")


def grpc_body(status: int, message: str) -> dict[str, Any]:
    return {"code": _CODES.get(status, 13 if status >= 500 else 3), "message": message, "details": []}


class GrpcError(Exception):
    """Raised by a route; rendered as a gRPC-gateway error body with ``status``."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


async def _handle(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GrpcError)
    return JSONResponse(grpc_body(exc.status, exc.message), status_code=exc.status, headers=exc.headers)


@dataclass
class _Job:
    kind: str
    id: str
    body: dict[str, Any]
    name: str
    output_model: str
    created_at: float
    state: str = JOB_PATH[0]
    entered_at: float = 0.0
    message: str = ""
    scores: list[float] = field(default_factory=list)
    """What the evaluator gave each row (RFT)."""

    @property
    def base_model(self) -> str:
        return str(self.body.get("baseModel") or (self.body.get("trainingConfig") or {}).get("baseModel") or "")

    def to_api(self) -> dict[str, Any]:
        done = self.state in JOB_PATH[3:]
        percent = 100 if done else 50 if self.state == "JOB_STATE_RUNNING" else 0
        body = {k: v for k, v in self.body.items() if k != "trainingConfig"}
        common = {
            **body,
            "name": self.name,
            "state": self.state,
            "status": {"code": "OK" if not self.message else "INTERNAL", "message": self.message},
            "createTime": _iso(self.created_at),
            "updateTime": _iso(self.entered_at or self.created_at),
            "createdBy": "emulator@tunekit.invalid",
        }
        if self.state == "JOB_STATE_COMPLETED":
            common["completedTime"] = _iso(self.entered_at)
        if self.kind == "dpo":
            return {
                **common,
                "trainingConfig": {**self.body.get("trainingConfig", {}), "outputModel": self.output_model},
            }
        if self.kind == "rft":
            mean = sum(self.scores) / len(self.scores) if self.scores else None
            metrics = {"outputMetrics": json.dumps({"reward_mean": mean})}
            return {
                **common,
                "trainingConfig": {**self.body.get("trainingConfig", {}), "outputModel": self.output_model},
                "jobProgress": {"percent": percent, "epoch": 0},
                **(metrics if self.scores else {}),
            }
        return {**common, "outputModel": self.output_model, "jobProgress": {"percent": percent, "epoch": 0}}


@dataclass
class _Deployment:
    id: str
    name: str
    body: dict[str, Any]
    created_at: float
    state: str = DEPLOYMENT_PATH[0]
    entered_at: float = 0.0

    def to_api(self) -> dict[str, Any]:
        return {**self.body, "name": self.name, "state": self.state, "createTime": _iso(self.created_at)}


@dataclass
class _Store:
    datasets: dict[str, dict[str, Any]] = field(default_factory=dict)
    contents: dict[str, bytes] = field(default_factory=dict)
    jobs: dict[tuple[str, str], _Job] = field(default_factory=dict)
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    deployments: dict[str, _Deployment] = field(default_factory=dict)
    replies: dict[str, dict[str, str]] = field(default_factory=dict)
    """Tuned model name -> the replies its training data taught it."""
    evaluators: dict[str, dict[str, Any]] = field(default_factory=dict)


class FireworksEmulator(Emulator):
    """Fireworks over loopback HTTP: ``fireworks.Fireworks(base_url=emu.url, api_key=..., account_id=...)``.

    ``adapter_dir`` is a PEFT adapter folder served as the weights of every
    tuned model (``getDownloadEndpoint``), so ``tunekit serve`` and ``export``
    can load what a job produced.
    """

    service: ClassVar[str] = "fireworks"

    def __init__(
        self,
        *,
        lifecycle: LifecycleMode = "immediate",
        seed: int | None = None,
        step_seconds: float = 1.0,
        rpm: int | None = None,
        account_id: str = "tunekit-test",
        max_upload_bytes: int = MAX_UPLOAD_BYTES,
        adapter_dir: str | Path | None = None,
        port: int = 0,
        host: str = "127.0.0.1",
        access_log: bool = False,
    ) -> None:
        super().__init__(seed=seed, port=port, host=host, access_log=access_log)
        self.lifecycle = Lifecycle(lifecycle, step_seconds)
        self.limiter = RateLimiter(rpm)
        self.account_id = account_id
        self.max_upload_bytes = max_upload_bytes
        self.adapter_dir = Path(adapter_dir) if adapter_dir is not None else None
        token = hashlib.sha256(f"fireworks-{seed}".encode()).hexdigest()[:40] if self.seeded else secrets.token_hex(20)
        self.api_key = f"fw_{token}"
        self.lock = threading.RLock()
        self.store = _Store()
        self._draws = itertools.count()
        """Which variant the next sampled base-model answer takes (see :func:`echo_completion`)."""

    def describe(self) -> dict[str, str]:
        return {**super().describe(), "base_url": self.url, "api_key": self.api_key, "account_id": self.account_id}

    def reset_state(self) -> None:
        with self.lock:
            self.store = _Store()
            self.limiter.reset()

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        return grpc_body(status, message)

    # --- the Python control handle ------------------------------------------------------------------------

    def jobs(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Every fine-tuning job (``sft``, ``dpo`` or both) as the API renders it, oldest first; moves none."""
        with self.lock:
            return [j.to_api() for j in self.store.jobs.values() if kind in (None, j.kind)]

    def evaluators(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.store.evaluators.values())

    def datasets(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.store.datasets.values())

    def deployments(self) -> list[dict[str, Any]]:
        with self.lock:
            return [d.to_api() for d in self.store.deployments.values()]

    def advance(self, job_id: str, to: str | None = None) -> dict[str, Any]:
        """Move a job (by id) to its next state, or on to state ``to``."""
        with self.lock:
            job = self._find_job(job_id)
            for state in Lifecycle.steps(JOB_PATH, job.state, to):
                if job.state != "JOB_STATE_FAILED":  # a failing evaluator stops an RFT job where it fails
                    self._enter(job, state, self.lifecycle.now())
            return job.to_api()

    def fail(self, job_id: str, message: str = "training failed") -> dict[str, Any]:
        with self.lock:
            job = self._find_job(job_id)
            job.state, job.message, job.entered_at = "JOB_STATE_FAILED", message, self.lifecycle.now()
            return job.to_api()

    def _find_job(self, job_id: str) -> _Job:
        for (_kind, key), job in self.store.jobs.items():
            if key == job_id:
                return job
        raise KeyError(job_id)

    # --- the app ------------------------------------------------------------------------------------------

    def build_app(self) -> Starlette:
        account = "/accounts/{account}"
        v1 = [
            Route(f"{account}/datasets", self._datasets, methods=["GET", "POST"]),
            Route(f"{account}/datasets/{{id}}", self._dataset, methods=["GET", "POST", "DELETE"]),
            Route(f"{account}/{{kind}}", self._jobs, methods=["GET", "POST"]),
            Route(f"{account}/{{kind}}/{{id}}", self._job, methods=["GET", "POST", "DELETE"]),
            Route("/chat/completions", self._chat, methods=["POST"]),
        ]
        advance = control_action("/jobs/{id}/advance", lambda job_id, body: self.advance(job_id, body.get("to")))
        control = [*self.control_routes(), advance]
        routes: list[BaseRoute] = [
            Mount(CONTROL_PREFIX, routes=control),
            Mount("/v1", routes=v1),
            Route("/_signed/{model}/{file}", self._signed_download, methods=["GET"]),
        ]
        return Starlette(routes=routes, exception_handlers={GrpcError: _handle})

    def _name(self, collection: str, resource_id: str) -> str:
        return f"accounts/{self.account_id}/{collection}/{resource_id}"

    def _lookup(self, table: dict[str, Any], collection: str, key: str, request: Request) -> Any:
        """Record ``key`` of ``table`` (a 404 naming it when absent); None once a DELETE has removed it."""
        record = table.get(key)
        if record is None:
            raise GrpcError(404, f"{self._name(collection, key)} not found")
        if request.method == "DELETE":
            del table[key]
            return None
        return record

    @staticmethod
    def _split(raw: str) -> tuple[str, str]:
        resource_id, _, action = raw.partition(":")
        return resource_id, action

    def _authorize(self, request: Request) -> None:
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            raise GrpcError(401, "invalid API key: the request was not authenticated")
        account = request.path_params.get("account")
        if account is not None and account != self.account_id:
            raise GrpcError(403, f"permission denied: this API key has no access to account {account!r}")
        decision = self.limiter.acquire(1)
        if not decision.allowed:
            headers = {**decision.headers, "retry-after": f"{max(decision.retry_after, 0.001):.3f}"}
            raise GrpcError(429, "rate limit exceeded: too many requests", headers)

    # datasets
    async def _datasets(self, request: Request) -> Response:
        self._authorize(request)
        if request.method == "GET":
            with self.lock:
                return json_response({"datasets": list(self.store.datasets.values())})
        body = await read_json(request)
        dataset_id = str(body.get("datasetId") or "")
        if not dataset_id:
            raise GrpcError(400, "datasetId is required")
        with self.lock:
            if dataset_id in self.store.datasets:
                raise GrpcError(409, f"dataset {self._name('datasets', dataset_id)} already exists")
            now = _iso(self.lifecycle.now())
            record = {**(body.get("dataset") or {}), "name": self._name("datasets", dataset_id), "state": "UPLOADING"}
            self.store.datasets[dataset_id] = {**record, "createTime": now, "updateTime": now}
            return json_response(self.store.datasets[dataset_id])

    def _dataset_of(self, dataset_id: str) -> dict[str, Any]:
        found = self.store.datasets.get(dataset_id)
        if found is None:
            raise GrpcError(404, f"dataset {self._name('datasets', dataset_id)} not found")
        return found

    async def _dataset(self, request: Request) -> Response:
        self._authorize(request)
        dataset_id, action = self._split(request.path_params["id"])
        if request.method == "GET":
            with self.lock:
                return json_response(self._dataset_of(dataset_id))
        if request.method == "DELETE":
            with self.lock:
                self._dataset_of(dataset_id)
                del self.store.datasets[dataset_id]
                return json_response({})
        if action != "upload":
            raise GrpcError(404, f"unknown dataset action {action!r}")
        if int(request.headers.get("content-length") or 0) > self.max_upload_bytes + 64 * 1024:
            raise GrpcError(413, f"file too large for :upload (limit {self.max_upload_bytes} bytes)")
        upload = (await multipart(request)).get("file")
        content = await upload.read() if upload is not None and not isinstance(upload, str) else b""
        if not content.strip():
            raise GrpcError(400, "the uploaded file is empty")
        with self.lock:
            record = self._dataset_of(dataset_id)
            rows = [line for line in content.splitlines() if line.strip()]
            record.update(state="READY", exampleCount=str(len(rows)), updateTime=_iso(self.lifecycle.now()))
            self.store.contents[dataset_id] = content
            return json_response({"filenameToSignedUrls": {}})

    # fine-tuning jobs, models and deployments share one shape of route: /{collection}/{id}[:action]
    async def _jobs(self, request: Request) -> Response:
        self._authorize(request)
        kind = request.path_params["kind"]
        if kind == "deployments":
            return await self._create_deployment(request) if request.method == "POST" else self._list_deployments()
        if kind == "models":
            return self._list_models(request)
        if kind == "evaluatorsV2" and request.method == "POST":
            return await self._create_evaluator(request)
        if kind == "evaluators" and request.method == "GET":
            with self.lock:
                return json_response({"evaluators": list(self.store.evaluators.values())})
        if kind not in _KINDS:
            raise GrpcError(404, f"unknown collection {kind!r}")
        if request.method == "GET":
            with self.lock:
                jobs = [self._read(j).to_api() for j in self.store.jobs.values() if j.kind == _KINDS[kind]]
            return json_response({kind: jobs})
        return await self._create_job(request, kind)

    async def _create_job(self, request: Request, kind: str) -> Response:
        body = await read_json(request)
        short = _KINDS[kind]
        job_id = request.query_params.get(f"{kind[:-1]}Id") or self.ids.new(
            "", 12, "abcdefghijklmnopqrstuvwxyz0123456789"
        )
        config = body.get("trainingConfig") or {} if short != "sft" else body
        warm = self.store.models.get(str(config.get("warmStartFrom") or "").rsplit("/", 1)[-1])
        model = str(config.get("baseModel") or (warm or {}).get("peftDetails", {}).get("baseModel") or "")
        if config.get("warmStartFrom") and warm is None:
            raise GrpcError(404, f"model {config['warmStartFrom']!r} to warm start from not found")
        row = base_model(model)
        if row is None:
            raise GrpcError(404, f"model {model!r} not found in the Fireworks model library")
        if not row.tunable:
            raise GrpcError(400, f"model {row.name} does not support fine-tuning")
        dataset_id = str(body.get("dataset") or "").rsplit("/", 1)[-1]
        with self.lock:
            if short == "rft":
                self._usable_evaluator(str(body.get("evaluator") or ""))
            for role, ref in (("dataset", dataset_id), ("evaluationDataset", body.get("evaluationDataset"))):
                if ref and self._dataset_of(str(ref).rsplit("/", 1)[-1]).get("state") != "READY":
                    raise GrpcError(412, f"{role} {ref} is not READY: upload its file first")
            if (short, job_id) in self.store.jobs:
                raise GrpcError(409, f"{self._name(kind, job_id)} already exists")
            rank = int(config.get("loraRank") or 8)
            if rank not in (4, 8, 16, 32, 64):
                raise GrpcError(400, f"loraRank must be one of 4, 8, 16, 32, 64; got {rank}")
            output = str(config.get("outputModel") or job_id).rsplit("/", 1)[-1]
            now = self.lifecycle.now()
            job = _Job(short, job_id, body, self._name(kind, job_id), self._name("models", output), now, entered_at=now)
            self.store.jobs[(short, job_id)] = job
            return json_response(job.to_api())

    def _read(self, job: _Job) -> _Job:
        for state, at in self.lifecycle.due(JOB_PATH, job.state, job.entered_at):
            if job.state == "JOB_STATE_FAILED":
                break
            self._enter(job, state, at)
        return job

    def _enter(self, job: _Job, state: str, at: float) -> None:
        job.state, job.entered_at = state, at
        if state == "JOB_STATE_RUNNING" and job.kind == "rft":
            self._evaluate(job, at)
        if state == "JOB_STATE_COMPLETED":
            model_id = job.output_model.rsplit("/", 1)[-1]
            content = self.store.contents.get(str(job.body.get("dataset")).rsplit("/", 1)[-1], b"")
            if job.kind != "rft":  # an RFT dataset holds prompts and references, no answers to learn by heart
                method = "dpo" if job.kind == "dpo" else "supervised"
                self.store.replies[job.output_model] = parse_training_file(content, method).replies
            rank = (job.body.get("trainingConfig") or job.body).get("loraRank") or 8
            self.store.models[model_id] = {
                "name": job.output_model,
                "kind": "HF_PEFT_ADDON",
                "state": "READY",
                "peftDetails": {"baseModel": job.base_model, "r": rank, "targetModules": ["q_proj", "v_proj"]},
                "fineTuningJob": job.name,
                "createTime": _iso(at),
            }

    async def _job(self, request: Request) -> Response:
        self._authorize(request)
        kind = request.path_params["kind"]
        resource_id, action = self._split(request.path_params["id"])
        if kind == "evaluators":
            with self.lock:
                record = self._lookup(self.store.evaluators, "evaluators", resource_id, request)
                return json_response(record if record is not None else {})
        if kind == "models":
            return self._model(request, resource_id, action)
        if kind == "deployments":
            return self._deployment(request, resource_id)
        with self.lock:
            job = self.store.jobs.get((_KINDS.get(kind, ""), resource_id))
            if job is None:
                raise GrpcError(404, f"{self._name(kind, resource_id)} not found")
            self._read(job)
            if request.method == "DELETE":
                del self.store.jobs[(job.kind, job.id)]
                return json_response({})
            if action == "cancel" and job.state in JOB_PATH[:-1]:
                job.state, job.entered_at = "JOB_STATE_CANCELLED", self.lifecycle.now()
            elif action:
                raise GrpcError(400, f"cannot {action} {job.name}: it is {job.state}")
            return json_response(job.to_api() if not action else {})

    # evaluators, and what an RFT job does with one
    async def _create_evaluator(self, request: Request) -> Response:
        body = await read_json(request)
        evaluator_id = str(body.get("evaluatorId") or "") or self.ids.new(
            "", 12, "abcdefghijklmnopqrstuvwxyz0123456789"
        )
        spec = body.get("evaluator")
        if not isinstance(spec, dict):
            raise GrpcError(400, "evaluator is required")
        with self.lock:
            if evaluator_id in self.store.evaluators:
                raise GrpcError(409, f"{self._name('evaluators', evaluator_id)} already exists")
            problem = build_problem(spec)
            now = _iso(self.lifecycle.now())
            status = {"code": "INVALID_ARGUMENT" if problem else "OK", "message": problem or ""}
            record = {**spec, "name": self._name("evaluators", evaluator_id), "createTime": now, "updateTime": now}
            record.update(state="BUILD_FAILED" if problem else "ACTIVE", status=status)
            self.store.evaluators[evaluator_id] = record
            return json_response(record)

    def _usable_evaluator(self, name: str) -> dict[str, Any]:
        record = self.store.evaluators.get(name.rsplit("/", 1)[-1])
        if record is None or record["name"] != name:
            raise GrpcError(404, f"evaluator {name!r} not found")
        if record["state"] != "ACTIVE":
            raise GrpcError(412, f"evaluator {name} is {record['state']}: {record['status']['message']}")
        return record

    def _evaluate(self, job: _Job, at: float) -> None:
        """Score every dataset row's echo answer with the job's evaluator; a failure fails the job, naming it."""
        try:
            evaluator = self._usable_evaluator(str(job.body.get("evaluator")))
        except GrpcError as exc:  # deleted (or broken) since the job was created
            job.state, job.message = "JOB_STATE_FAILED", exc.message
            return
        content = self.store.contents.get(str(job.body.get("dataset")).rsplit("/", 1)[-1], b"")
        rows = [json.loads(line) for line in content.decode("utf-8-sig").splitlines() if line.strip()]
        model = job.base_model or "model"
        answers = [
            echo_completion(model, row.get("messages") or [], ids=self.ids, created=at)["choices"][0]["message"][
                "content"
            ]
            for row in rows
        ]
        try:
            job.scores = run_evaluator(evaluator, rows, answers)
        except EvaluatorFailed as exc:
            job.state, job.message = "JOB_STATE_FAILED", f"evaluator {evaluator['name']} failed: {exc}"

    # models
    def _list_models(self, request: Request) -> Response:
        wanted = request.query_params.get("filter", "")
        with self.lock:
            models = [m for m in self.store.models.values() if not wanted or f'"{m.get("fineTuningJob")}"' in wanted]
        return json_response({"models": models, "totalSize": len(models)})

    def _model(self, request: Request, model_id: str, action: str) -> Response:
        with self.lock:
            model = self._lookup(self.store.models, "models", model_id, request)
        if model is None:
            return json_response({})
        if action != "getDownloadEndpoint":
            return json_response(model)
        if self.adapter_dir is None:
            raise GrpcError(412, "this emulator holds no weights: start it with adapter_dir=FOLDER")
        files = sorted(p.name for p in self.adapter_dir.iterdir() if p.is_file())
        return json_response({"filenameToSignedUrls": {f: f"{self.url}/_signed/{model_id}/{f}" for f in files}})

    async def _signed_download(self, request: Request) -> Response:
        name = request.path_params["file"]
        if self.adapter_dir is None or request.path_params["model"] not in self.store.models or "/" in name:
            return Response(status_code=404)
        path = self.adapter_dir / name
        return (
            Response(path.read_bytes(), media_type="application/octet-stream")
            if path.is_file()
            else Response(status_code=404)
        )

    # deployments
    async def _create_deployment(self, request: Request) -> Response:
        body = await read_json(request)
        deployment_id = request.query_params.get("deploymentId") or self.ids.new(
            "", 8, "abcdefghijklmnopqrstuvwxyz0123456789"
        )
        served = str(body.get("baseModel") or "")
        with self.lock:
            if base_model(served) is None and served.rsplit("/", 1)[-1] not in self.store.models:
                raise GrpcError(404, f"model {served!r} not found")
            if deployment_id in self.store.deployments:
                raise GrpcError(409, f"{self._name('deployments', deployment_id)} already exists")
            now = self.lifecycle.now()
            record = _Deployment(deployment_id, self._name("deployments", deployment_id), body, now, entered_at=now)
            self.store.deployments[deployment_id] = record
            return json_response(record.to_api())

    def _list_deployments(self) -> Response:
        with self.lock:
            return json_response({"deployments": [self._ready(d).to_api() for d in self.store.deployments.values()]})

    def _ready(self, record: _Deployment) -> _Deployment:
        for state, at in self.lifecycle.due(DEPLOYMENT_PATH, record.state, record.entered_at):
            record.state, record.entered_at = state, at
        return record

    def _deployment(self, request: Request, deployment_id: str) -> Response:
        with self.lock:
            record = self._lookup(self.store.deployments, "deployments", deployment_id, request)
            return json_response(self._ready(record).to_api() if record is not None else {})

    # inference (OpenAI-compatible)
    async def _chat(self, request: Request) -> Response:
        self._authorize(request)
        body = await read_json(request)
        model = str(body.get("model") or "")
        served, _, on = model.partition("#")
        with self.lock:
            ready = {
                d.name: d.body.get("baseModel")
                for d in map(self._ready, self.store.deployments.values())
                if d.state == "READY"
            }
        row = base_model(served)
        if (
            not (row is not None and row.serverless and not on)
            and served not in ready.values()
            and ready.get(on) != served
        ):
            return JSONResponse(
                {
                    "error": {
                        "object": "error",
                        "type": "invalid_request_error",
                        "code": "NOT_FOUND",
                        "message": f"Model not found, inaccessible, and/or not deployed: {model}",
                    }
                },
                status_code=404,
            )
        tuned = self.store.replies.get(ready.get(on) or served)
        messages = body.get("messages") or []
        temperature = body.get("temperature")
        draw = next(self._draws) if isinstance(temperature, int | float) and temperature > 0 else None
        return json_response(
            echo_completion(model, messages, ids=self.ids, created=self.lifecycle.now(), replies=tuned, draw=draw)
        )
