"""The OpenAI emulator and the control handle it shares with the Azure OpenAI emulator."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp

from tunekit_emulators.base import CONTROL_PREFIX, Emulator, read_json
from tunekit_emulators.lifecycle import Lifecycle, LifecycleMode
from tunekit_emulators.openai.common import json_response
from tunekit_emulators.openai.errors import APIError, error_body, handle_api_error
from tunekit_emulators.openai.service import OpenAIService
from tunekit_emulators.openai.store import Flavor, JobRecord, openai_flavor
from tunekit_emulators.ratelimit import RateLimiter

__all__ = ["DEFAULT_API_KEY", "OpenAICompatibleEmulator", "OpenAIEmulator"]

DEFAULT_API_KEY = "sk-tunekit-emulator"
DEFAULT_DENY_MESSAGE = (
    "Your organization does not have access to fine-tuning. Fine-tuning is available to organizations on paid "
    "usage tiers; see https://platform.openai.com/docs/guides/fine-tuning."
)


class OpenAICompatibleEmulator(Emulator):
    """Shared by the OpenAI and Azure emulators: the service, the Python control handle and ``/_emulator``."""

    service: ClassVar[str] = "openai"

    def __init__(
        self,
        *,
        flavor: Flavor,
        lifecycle: LifecycleMode = "immediate",
        seed: int | None = None,
        latency: float = 0.0,
        token_latency: float = 0.0,
        rpm: int | None = None,
        tpm: int | None = None,
        port: int = 0,
        host: str = "127.0.0.1",
        step_seconds: float = 1.0,
        file_lifecycle: LifecycleMode | None = None,
        processed_on_create: bool = True,
        extra_job_fields: frozenset[str] = frozenset(),
        access_log: bool = False,
    ) -> None:
        super().__init__(seed=seed, port=port, host=host, access_log=access_log)
        if latency < 0 or token_latency < 0:
            raise ValueError("latency and token_latency must be >= 0")
        self.lifecycle = Lifecycle(lifecycle, step_seconds)
        files_mode: LifecycleMode = file_lifecycle or ("timed" if lifecycle == "timed" else "immediate")
        self.limiter = RateLimiter(rpm, tpm)
        self.svc = OpenAIService(
            flavor,
            self.lifecycle,
            self.ids,
            file_lifecycle=Lifecycle(files_mode, step_seconds),
            processed_on_create=processed_on_create and files_mode == "immediate",
            limiter=self.limiter,
            latency=latency,
            token_latency=token_latency,
            extra_job_fields=extra_job_fields,
        )

    # --- app ----------------------------------------------------------------------------------------------

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        return error_body(status, message)

    def api_mounts(self) -> list[BaseRoute]:
        """The service's data-plane mounts (OpenAI: ``/v1``)."""
        raise NotImplementedError

    def build_app(self) -> ASGIApp:
        routes: list[BaseRoute] = [Mount(CONTROL_PREFIX, routes=self.control_routes()), *self.api_mounts()]
        handlers: dict[Any, Callable[[Request, Exception], Any]] = {
            APIError: handle_api_error,
            HTTPException: self._http_exception,
        }
        return Starlette(routes=routes, exception_handlers=handlers)

    async def _http_exception(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code in (404, 405):
            message = f"Invalid URL ({request.method} {request.url.path})"
            return json_response(error_body(404, message), status=404)
        return json_response(error_body(exc.status_code, str(exc.detail)), status=exc.status_code)

    def reset_state(self) -> None:
        self.svc.reset()

    # --- the Python control handle ------------------------------------------------------------------------

    def _job(self, job_id: str) -> JobRecord:
        job = self.svc.state.jobs.get(job_id)
        if job is None:
            raise KeyError(f"no fine-tuning job {job_id!r} in the emulator")
        return job

    def jobs(self) -> list[dict[str, Any]]:
        """Every fine-tuning job as the API renders it, oldest first (reading here moves no job)."""
        with self.svc.state.lock:
            return [job.to_api(self.svc.state.flavor) for job in self.svc.state.jobs.values()]

    def job(self, job_id: str) -> dict[str, Any]:
        with self.svc.state.lock:
            return self._job(job_id).to_api(self.svc.state.flavor)

    def files(self) -> list[dict[str, Any]]:
        """Every file as the API renders it, oldest first."""
        with self.svc.state.lock:
            return [record.to_api(self.svc.state.flavor) for record in self.svc.state.files.values()]

    def file_content(self, file_id: str) -> bytes:
        with self.svc.state.lock:
            record = self.svc.state.files.get(file_id)
            if record is None:
                raise KeyError(f"no file {file_id!r} in the emulator")
            return record.content

    def models(self) -> list[dict[str, Any]]:
        """The fine-tuned models created so far."""
        with self.svc.state.lock:
            return [model.to_api() for model in self.svc.state.models.values()]

    def events(self, job_id: str) -> list[dict[str, Any]]:
        """The job's events, oldest first."""
        with self.svc.state.lock:
            return [event.to_api() for event in self._job(job_id).events]

    def advance(self, job_id: str, to: str | None = None) -> dict[str, Any]:
        """Move a job to its next state, or on to state ``to`` (validating_files, queued, running,
        succeeded, paused, failed, cancelled), whatever the lifecycle mode. Returns the job."""
        with self.svc.state.lock:
            try:
                job = self.svc.engine.advance(self._job(job_id), to)
            except APIError as exc:
                raise ValueError(exc.message) from exc
            return job.to_api(self.svc.state.flavor)

    def fail_job(
        self,
        job_id: str,
        message: str = "The job failed.",
        code: str = "invalid_training_file",
        param: str | None = None,
    ) -> dict[str, Any]:
        """Fail a job now with the given error, as the service would."""
        with self.svc.state.lock:
            job = self._job(job_id)
            self.svc.engine.fail(job, message, code=code, param=param)
            return job.to_api(self.svc.state.flavor)

    def seed_metrics(self, job_id: str, metrics: Sequence[Mapping[str, Any]]) -> None:
        """Replace a job's metric series (dicts with step, train_loss, valid_loss, train_mean_token_accuracy, ...)."""
        with self.svc.state.lock:
            self.svc.engine.seed_metrics(self._job(job_id), metrics)

    def advance_file(self, file_id: str) -> dict[str, Any]:
        """Mark an uploaded file processed (for ``file_lifecycle="manual"``)."""
        with self.svc.state.lock:
            try:
                return self.svc.files.advance(file_id).to_api(self.svc.state.flavor)
            except APIError as exc:
                raise KeyError(exc.message) from exc

    def deny_fine_tuning(self, message: str = DEFAULT_DENY_MESSAGE, code: str | None = None) -> None:
        """Answer every job creation with 403, as for an organization without fine-tuning access."""
        with self.svc.state.lock:
            self.svc.state.deny = (message, code)

    def announce_shutdown(self, model: str, day: str) -> None:
        """Report ``day`` (YYYY-MM-DD) as the base model's ``shutdown_date`` on GET /v1/models."""
        with self.svc.state.lock:
            self.svc.state.shutdown_dates[model] = day

    def allow_fine_tuning(self) -> None:
        with self.svc.state.lock:
            self.svc.state.deny = None

    def reject_keys(self, *keys: str) -> None:
        """Answer requests carrying any of ``keys`` with 401 invalid_api_key."""
        with self.svc.state.lock:
            self.svc.state.rejected_keys.update(keys)

    # --- the HTTP control API -----------------------------------------------------------------------------

    def control_routes(self) -> list[BaseRoute]:
        return [
            *super().control_routes(),
            Route("/jobs", self._http_jobs, methods=["GET"]),
            Route("/files", self._http_files, methods=["GET"]),
            Route("/jobs/{job_id}/advance", self._http_advance, methods=["POST"]),
            Route("/jobs/{job_id}/fail", self._http_fail, methods=["POST"]),
            Route("/jobs/{job_id}/metrics", self._http_metrics, methods=["POST"]),
            Route("/files/{file_id}/advance", self._http_advance_file, methods=["POST"]),
            Route("/deny_fine_tuning", self._http_deny, methods=["POST"]),
            Route("/deny_fine_tuning", self._http_allow, methods=["DELETE"]),
            Route("/reject_keys", self._http_reject_keys, methods=["POST"]),
        ]

    @staticmethod
    def _control_error(exc: Exception) -> Response:
        status = 404 if isinstance(exc, KeyError) else 400
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        return json_response({"error": {"message": message}}, status=status)

    async def _control(self, action: Callable[[], Any]) -> Response:
        try:
            return json_response(action())
        except (KeyError, ValueError, TypeError) as exc:
            return self._control_error(exc)

    async def _http_jobs(self, request: Request) -> Response:
        return json_response({"data": self.jobs()})

    async def _http_files(self, request: Request) -> Response:
        return json_response({"data": self.files()})

    async def _http_advance(self, request: Request) -> Response:
        body = await read_json(request)
        return await self._control(lambda: self.advance(request.path_params["job_id"], body.get("to")))

    async def _http_fail(self, request: Request) -> Response:
        body = await read_json(request)
        return await self._control(
            lambda: self.fail_job(
                request.path_params["job_id"],
                str(body.get("message", "The job failed.")),
                str(body.get("code", "invalid_training_file")),
                body.get("param"),
            )
        )

    async def _http_metrics(self, request: Request) -> Response:
        body = await read_json(request)

        def seed() -> dict[str, Any]:
            self.seed_metrics(request.path_params["job_id"], list(body.get("metrics") or []))
            return self.job(request.path_params["job_id"])

        return await self._control(seed)

    async def _http_advance_file(self, request: Request) -> Response:
        return await self._control(lambda: self.advance_file(request.path_params["file_id"]))

    async def _http_deny(self, request: Request) -> Response:
        body = await read_json(request)
        self.deny_fine_tuning(str(body.get("message") or DEFAULT_DENY_MESSAGE), body.get("code"))
        return json_response({"deny_fine_tuning": True})

    async def _http_allow(self, request: Request) -> Response:
        self.allow_fine_tuning()
        return json_response({"deny_fine_tuning": False})

    async def _http_reject_keys(self, request: Request) -> Response:
        body = await read_json(request)
        self.reject_keys(*[str(k) for k in body.get("keys") or []])
        return json_response({"rejected": len(body.get("keys") or [])})


class OpenAIEmulator(OpenAICompatibleEmulator):
    """The OpenAI API (files, uploads, fine-tuning, models, chat completions) on ``http://127.0.0.1:PORT/v1``.

    >>> with OpenAIEmulator() as emu:                                  # doctest: +SKIP
    ...     client = openai.OpenAI(base_url=emu.base_url, api_key=emu.api_key)

    ``lifecycle`` decides how jobs move (``immediate``: to succeeded on the first read; ``manual``:
    only through :meth:`advance`; ``timed``: ``step_seconds`` per state). Any ``sk-`` key is accepted
    unless rejected with :meth:`reject_keys`.
    """

    service: ClassVar[str] = "openai"

    def __init__(
        self,
        lifecycle: LifecycleMode = "immediate",
        seed: int | None = None,
        latency: float = 0.0,
        token_latency: float = 0.0,
        rpm: int | None = None,
        tpm: int | None = None,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        step_seconds: float = 1.0,
        file_lifecycle: LifecycleMode | None = None,
        min_examples: int = 10,
        api_key: str = DEFAULT_API_KEY,
        access_log: bool = False,
    ) -> None:
        super().__init__(
            flavor=openai_flavor(min_examples),
            lifecycle=lifecycle,
            seed=seed,
            latency=latency,
            token_latency=token_latency,
            rpm=rpm,
            tpm=tpm,
            port=port,
            host=host,
            step_seconds=step_seconds,
            file_lifecycle=file_lifecycle,
            access_log=access_log,
        )
        self.api_key = api_key

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``, for ``openai.OpenAI(base_url=...)``."""
        return f"{self.url}/v1"

    def describe(self) -> dict[str, str]:
        return {"base_url": self.base_url, "api_key": self.api_key, **super().describe()}

    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        if not header or scheme.lower() != "bearer" or not key.strip():
            raise APIError(
                401,
                "You didn't provide an API key. You need to provide your API key in an Authorization header using "
                "Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            )
        key = key.strip()
        if not key.startswith("sk-") or key in self.svc.state.rejected_keys:
            shown = f"{key[:3]}{'*' * 8}{key[-4:]}" if len(key) > 8 else "****"
            raise APIError(
                401,
                f"Incorrect API key provided: {shown}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                code="invalid_api_key",
            )

    def api_mounts(self) -> list[BaseRoute]:
        return [Mount("/v1", routes=self.svc.routes(self._authenticate))]
