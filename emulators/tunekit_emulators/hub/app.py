"""The Hub emulator's routes as one starlette app."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount

from tunekit_emulators.base import CONTROL_PREFIX
from tunekit_emulators.hub.endpoint_routes import endpoint_routes
from tunekit_emulators.hub.http import error_body
from tunekit_emulators.hub.inference_routes import inference_routes
from tunekit_emulators.hub.job_routes import job_routes
from tunekit_emulators.hub.repo_routes import repo_routes
from tunekit_emulators.hub.space_routes import space_routes
from tunekit_emulators.hub.state import HubState

__all__ = ["build_hub_app"]


async def _not_found(request: Request, exc: Exception) -> Response:
    message = f"Sorry, we can't find the page you are looking for: {request.method} {request.url.path}"
    return JSONResponse(error_body(404, message), status_code=404)


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    return JSONResponse(error_body(405, f"{request.method} is not allowed on {request.url.path}"), status_code=405)


def build_hub_app(state: HubState, control: list[BaseRoute], *, log_idle_close_s: float | None = None) -> Starlette:
    """The Hub's API plus ``control`` mounted at ``/_emulator``.

    Log streams stay open until the container ends, as on the Hub; with
    ``log_idle_close_s`` they also end after that many seconds without a new
    line, which makes one-shot reads of a running job's logs quick.
    """
    routes: list[BaseRoute] = [Mount(CONTROL_PREFIX, routes=control)]
    routes += repo_routes(state) + job_routes(state) + space_routes(state) + inference_routes(state)
    routes += endpoint_routes(state)
    app = Starlette(routes=routes, exception_handlers={404: _not_found, 405: _method_not_allowed})
    app.state.log_idle_close_s = log_idle_close_s
    return app
