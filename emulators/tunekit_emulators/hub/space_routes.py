"""Spaces: runtime, secrets, variables, hardware, pause, restart and logs (run and build) as SSE.

A docker Space whose secrets carry AutoTrain's ``PARAMS`` trains like an
AutoTrain Space: it builds when its Dockerfile is committed, runs, pushes the
model and pauses itself.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tunekit_emulators.hub.http import endpoint, json_body, optional_user, require_user, run_lines, sse_logs
from tunekit_emulators.hub.runs import LogLine
from tunekit_emulators.hub.state import HubState, SpaceRun
from tunekit_emulators.hub.store import HubError, HubRepo, iso

__all__ = ["space_routes"]

_SPACE_HARDWARE = (
    "cpu-basic",
    "cpu-upgrade",
    "zero-a10g",
    "t4-small",
    "t4-medium",
    "l4x1",
    "l4x4",
    "l40sx1",
    "l40sx4",
    "l40sx8",
    "a10g-small",
    "a10g-large",
    "a10g-largex2",
    "a10g-largex4",
    "a100-large",
    "a100x4",
    "a100x8",
)


def _repo_id(request: Request) -> str:
    return f"{request.path_params['namespace']}/{request.path_params['name']}"


def _writable(request: Request, state: HubState) -> HubRepo:
    return state.store.writable("space", _repo_id(request), require_user(request, state))


async def runtime(request: Request, state: HubState) -> Response:
    with state.lock:
        repo = state.store.get("space", _repo_id(request), optional_user(request, state))
        return JSONResponse(state.space_runtime(repo))


def _listing(repo: HubRepo, kind: str) -> dict[str, Any]:
    """Secrets by name with their description (never their value); variables with their value."""
    store = repo.secrets if kind == "secrets" else repo.variables
    listing: dict[str, Any] = {}
    for key, (value, description, updated) in sorted(store.items()):
        item: dict[str, Any] = {"description": description, "updatedAt": iso(updated)}
        if kind == "variables":
            item["value"] = value
        listing[key] = item
    return listing


def _key_values(kind: str) -> Any:
    async def handler(request: Request, state: HubState) -> Response:
        if request.method == "GET":
            with state.lock:
                return JSONResponse(_listing(_writable(request, state), kind))
        body = await json_body(request)
        key = str(body.get("key") or "")
        if not key:
            raise HubError(400, f"A {kind[:-1]} needs a key")
        with state.lock:
            repo = _writable(request, state)
            store = repo.secrets if kind == "secrets" else repo.variables
            if request.method == "DELETE":
                store.pop(key, None)
            else:
                store[key] = (str(body.get("value", "")), body.get("description"), state.clock())
            # Adding or removing a variable answers with all of them; secrets answer with nothing.
            return JSONResponse(_listing(repo, kind)) if kind == "variables" else Response(status_code=200)

    return handler


async def hardware(request: Request, state: HubState) -> Response:
    body = await json_body(request)
    flavor = body.get("flavor")
    if flavor not in _SPACE_HARDWARE:
        raise HubError(400, f"Invalid hardware {flavor!r}")
    with state.lock:
        repo = _writable(request, state)
        repo.hardware = str(flavor)
        return JSONResponse(state.space_runtime(repo))


async def pause(request: Request, state: HubState) -> Response:
    with state.lock:
        repo = _writable(request, state)
        space = state.spaces.setdefault(repo.repo_id, SpaceRun(repo.repo_id))
        if space.run is not None:
            space.run.cancel()
        space.paused = True
        return JSONResponse(state.space_runtime(repo))


async def restart(request: Request, state: HubState) -> Response:
    with state.lock:
        repo = _writable(request, state)
        if repo.sdk == "docker" and "Dockerfile" not in repo.files:
            raise HubError(400, "This Space has no Dockerfile to run")
        state.start_space(repo)
        return JSONResponse(state.space_runtime(repo))


def _logs(kind: str) -> Any:
    async def handler(request: Request, state: HubState) -> Response:
        with state.lock:
            repo = _writable(request, state)
            space = state.spaces.get(repo.repo_id)
        idle = request.app.state.log_idle_close_s
        if space is None:
            return sse_logs(request, state, lambda: ([], True), idle_close_s=idle)
        if kind == "build":
            built = [LogLine(text, space.run.created_at if space.run else state.clock()) for text in space.build_logs]
            return sse_logs(request, state, lambda: (built, True), idle_close_s=idle)
        if space.run is None:
            return sse_logs(request, state, lambda: ([], True), idle_close_s=idle)
        return sse_logs(request, state, run_lines(space.run), idle_close_s=idle)

    return handler


def space_routes(state: HubState) -> list[Route]:
    base = "/api/spaces/{namespace}/{name}"
    return [
        Route(f"{base}/runtime", endpoint(state, runtime)),
        Route(f"{base}/secrets", endpoint(state, _key_values("secrets")), methods=["GET", "POST", "DELETE"]),
        Route(f"{base}/variables", endpoint(state, _key_values("variables")), methods=["GET", "POST", "DELETE"]),
        Route(f"{base}/hardware", endpoint(state, hardware), methods=["POST"]),
        Route(f"{base}/pause", endpoint(state, pause), methods=["POST"]),
        Route(f"{base}/restart", endpoint(state, restart), methods=["POST"]),
        Route(f"{base}/logs/run", endpoint(state, _logs("run"))),
        Route(f"{base}/logs/build", endpoint(state, _logs("build"))),
    ]
