"""``/fine_tuning/jobs``: create, list (``after``, ``limit``, ``metadata[k]=v``), retrieve, cancel,
pause, resume, events and checkpoints."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tunekit_emulators.openai.common import json_body, json_response, page, query_int
from tunekit_emulators.openai.files import FileRoutes
from tunekit_emulators.openai.jobs import JobEngine
from tunekit_emulators.openai.store import CheckpointRecord, EventRecord, JobRecord, OpenAIState

__all__ = ["JobRoutes"]


class JobRoutes:
    def __init__(self, state: OpenAIState, engine: JobEngine, files: FileRoutes) -> None:
        self.state = state
        self.engine = engine
        self.files = files

    def _render(self, job: JobRecord) -> Response:
        return json_response(job.to_api(self.state.flavor))

    def _job(self, request: Request) -> JobRecord:
        return self.engine.tick(self.engine.get(request.path_params["job_id"]))

    async def create(self, request: Request) -> Response:
        body = await json_body(request)
        with self.state.lock:
            for key in ("training_file", "validation_file"):
                file_id = body.get(key)
                if isinstance(file_id, str) and file_id in self.state.files:
                    self.files.tick(self.state.files[file_id])
            return self._render(self.engine.create(body))

    async def list(self, request: Request) -> Response:
        limit = query_int(request, "limit", 20, high=100)
        wanted = {
            key[len("metadata[") : -1]: value
            for key, value in request.query_params.items()
            if key.startswith("metadata[") and key.endswith("]")
        }
        with self.state.lock:
            jobs = [self.engine.tick(job) for job in reversed(self.state.jobs.values())]
            if wanted:
                jobs = [j for j in jobs if j.metadata and all(j.metadata.get(k) == v for k, v in wanted.items())]
            body = page(
                jobs,
                lambda j: j.to_api(self.state.flavor),
                lambda j: j.id,
                after=request.query_params.get("after"),
                limit=limit,
            )
        return json_response(body)

    async def retrieve(self, request: Request) -> Response:
        with self.state.lock:
            return self._render(self._job(request))

    async def cancel(self, request: Request) -> Response:
        with self.state.lock:
            return self._render(self.engine.cancel(self.engine.get(request.path_params["job_id"])))

    async def pause(self, request: Request) -> Response:
        with self.state.lock:
            return self._render(self.engine.pause(self.engine.get(request.path_params["job_id"])))

    async def resume(self, request: Request) -> Response:
        with self.state.lock:
            return self._render(self.engine.resume(self.engine.get(request.path_params["job_id"])))

    async def events(self, request: Request) -> Response:
        limit = query_int(request, "limit", 20, high=10_000)
        with self.state.lock:
            job = self._job(request)
            events: list[EventRecord] = list(reversed(job.events))
            body = page(
                events, EventRecord.to_api, lambda e: e.id, after=request.query_params.get("after"), limit=limit
            )
        return json_response(body)

    async def checkpoints(self, request: Request) -> Response:
        limit = query_int(request, "limit", 10, high=100)
        with self.state.lock:
            job = self._job(request)
            checkpoints: list[CheckpointRecord] = list(reversed(job.checkpoints))
            body = page(
                checkpoints,
                CheckpointRecord.to_api,
                lambda c: c.id,
                after=request.query_params.get("after"),
                limit=limit,
                with_bounds=True,
            )
        return json_response(body)
