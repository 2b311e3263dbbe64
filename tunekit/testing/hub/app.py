"""The Hub emulator as one ASGI app (starlette), ready for :class:`~tunekit.testing.server.EmulatorServer`."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tunekit.testing.faults import FaultInjector
from tunekit.testing.hub.control_routes import control_routes
from tunekit.testing.hub.http import error_body
from tunekit.testing.hub.inference_routes import inference_routes
from tunekit.testing.hub.job_routes import job_routes
from tunekit.testing.hub.repo_routes import repo_routes
from tunekit.testing.hub.space_routes import space_routes
from tunekit.testing.hub.state import HubState

__all__ = ["build_app"]


async def _not_found(request: Request, exc: Exception) -> Response:
    message = f"Sorry, we can't find the page you are looking for: {request.method} {request.url.path}"
    return JSONResponse(error_body(404, message), status_code=404)


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    return JSONResponse(error_body(405, f"{request.method} is not allowed on {request.url.path}"), status_code=405)


def build_app(state: HubState, *, log_idle_close_s: float = 0.3, seed: int = 0) -> FaultInjector:
    """The Hub's routes behind a :class:`FaultInjector` (reachable as ``app.state.faults`` from the routes).

    ``log_idle_close_s`` is how long a log stream waits for a new line before
    it ends; clients that follow logs reconnect, as they do on the Hub.
    """
    routes = control_routes(state) + repo_routes(state) + job_routes(state) + space_routes(state)
    routes += inference_routes(state)
    app = Starlette(routes=routes, exception_handlers={404: _not_found, 405: _method_not_allowed})
    app.state.log_idle_close_s = log_idle_close_s
    injector = FaultInjector(app, seed=seed, error_body=error_body)
    app.state.faults = injector
    return injector
