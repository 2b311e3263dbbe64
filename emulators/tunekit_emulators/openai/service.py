"""The OpenAI-shaped service: state, job engine and route handlers, wired into a list of routes.

The OpenAI emulator mounts these routes under ``/v1``; the Azure emulator mounts the same handlers
under ``/openai`` and ``/openai/v1`` with its own authentication and rendering (see :class:`Flavor`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tunekit_emulators.base import IdFactory
from tunekit_emulators.lifecycle import Lifecycle
from tunekit_emulators.openai.chat import ChatRoutes
from tunekit_emulators.openai.files import FileRoutes
from tunekit_emulators.openai.fine_tuning import JobRoutes
from tunekit_emulators.openai.jobs import JobEngine
from tunekit_emulators.openai.permissions import PermissionRoutes
from tunekit_emulators.openai.store import Flavor, OpenAIState
from tunekit_emulators.ratelimit import RateLimiter

__all__ = ["Handler", "OpenAIService"]

Handler = Callable[[Request], Awaitable[Response]]
Guard = Callable[[Request], None]


class OpenAIService:
    """Everything behind the OpenAI data plane, independent of URL prefix and authentication."""

    def __init__(
        self,
        flavor: Flavor,
        lifecycle: Lifecycle,
        ids: IdFactory,
        *,
        file_lifecycle: Lifecycle,
        processed_on_create: bool,
        limiter: RateLimiter,
        latency: float = 0.0,
        token_latency: float = 0.0,
        extra_job_fields: frozenset[str] = frozenset(),
    ) -> None:
        self.state = OpenAIState(flavor, lifecycle, ids)
        self.limiter = limiter
        self.latency = latency
        self.engine = JobEngine(self.state, extra_fields=extra_job_fields)
        self.files = FileRoutes(self.state, file_lifecycle, processed_on_create=processed_on_create)
        self.jobs = JobRoutes(self.state, self.engine, self.files)
        self.chat = ChatRoutes(self.state, limiter, token_latency=token_latency)
        self.permissions = PermissionRoutes(self.state)

    def reset(self) -> None:
        self.state.clear()
        self.permissions.reset()
        self.limiter.reset()

    def guarded(self, handler: Handler, guard: Guard) -> Handler:
        """Wrap ``handler`` with authentication (``guard`` raises APIError) and configured latency."""
        latency = self.latency

        async def endpoint(request: Request) -> Response:
            guard(request)
            if latency:
                await asyncio.sleep(latency)
            return await handler(request)

        endpoint.__name__ = getattr(handler, "__name__", "endpoint")
        return endpoint

    def routes(self, guard: Guard) -> list[Route]:
        """The data-plane routes, relative to the mount prefix."""

        def route(path: str, handler: Handler, method: str) -> Route:
            return Route(path, self.guarded(handler, guard), methods=[method])

        f, j, c = self.files, self.jobs, self.chat
        return [
            # Chat completions first: the router tries routes in order and this is the hot path.
            route("/chat/completions", c.create, "POST"),
            route("/files", f.create, "POST"),
            route("/files", f.list, "GET"),
            route("/files/{file_id}", f.retrieve, "GET"),
            route("/files/{file_id}", f.delete, "DELETE"),
            route("/files/{file_id}/content", f.content, "GET"),
            route("/uploads", f.create_upload, "POST"),
            route("/uploads/{upload_id}/parts", f.add_part, "POST"),
            route("/uploads/{upload_id}/complete", f.complete, "POST"),
            route("/uploads/{upload_id}/cancel", f.cancel_upload, "POST"),
            route("/fine_tuning/jobs", j.create, "POST"),
            route("/fine_tuning/jobs", j.list, "GET"),
            route("/fine_tuning/jobs/{job_id}", j.retrieve, "GET"),
            route("/fine_tuning/jobs/{job_id}/cancel", j.cancel, "POST"),
            route("/fine_tuning/jobs/{job_id}/pause", j.pause, "POST"),
            route("/fine_tuning/jobs/{job_id}/resume", j.resume, "POST"),
            route("/fine_tuning/jobs/{job_id}/events", j.events, "GET"),
            route("/fine_tuning/jobs/{job_id}/checkpoints", j.checkpoints, "GET"),
            route("/fine_tuning/checkpoints/{checkpoint}/permissions", self.permissions.create, "POST"),
            route("/fine_tuning/checkpoints/{checkpoint}/permissions", self.permissions.list, "GET"),
            route(
                "/fine_tuning/checkpoints/{checkpoint}/permissions/{permission_id}", self.permissions.delete, "DELETE"
            ),
            route("/models", c.list_models, "GET"),
            route("/models/{model:path}", c.retrieve_model, "GET"),
            route("/models/{model:path}", c.delete_model, "DELETE"),
        ]
