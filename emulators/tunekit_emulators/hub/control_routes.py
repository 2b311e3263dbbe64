"""The Hub's control routes under ``/_emulator/``: inspect, advance runs, choose outcomes.

The shared ones (reset, faults, the request log, health) come from
:class:`~tunekit_emulators.base.Emulator`. Control routes bypass fault
injection, so a test can always reach them; they do what the Python handle
(:class:`~tunekit_emulators.hub.HubEmulator`) does, for tests written in other
languages or run against ``tunekit emulate hub``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from tunekit_emulators.hub.http import endpoint, json_body
from tunekit_emulators.hub.state import HubState
from tunekit_emulators.hub.store import HubError

__all__ = ["control_routes", "snapshot"]


def snapshot(state: HubState) -> dict[str, Any]:
    """Jobs, repositories and spaces as plain JSON (secrets never included)."""
    with state.lock:
        state.settle()
        return {
            "namespace": state.user.name,
            "lifecycle": state.lifecycle.mode,
            "jobs": [job.to_json() for job in state.jobs.values()],
            "repos": [
                {
                    "type": repo.repo_type,
                    "id": repo.repo_id,
                    "private": repo.private,
                    "sha": repo.sha,
                    "files": sorted(repo.files),
                }
                for repo in state.store.repos.values()
            ],
            "spaces": {
                repo_id: state.space_runtime(repo)["stage"]
                for (kind, repo_id), repo in state.store.repos.items()
                if kind == "space"
            },
        }


async def get_state(request: Request, state: HubState) -> Response:
    return JSONResponse(snapshot(state))


async def account(request: Request, state: HubState) -> Response:
    # The emulator's own fake credentials: handing them out is the point of this route.
    return JSONResponse({"namespace": state.user.name, "token": state.user.token, "orgs": list(state.user.orgs)})


def _advance(by_path: bool) -> Any:
    async def handler(request: Request, state: HubState) -> Response:
        body = await json_body(request)
        params = request.path_params
        key = f"{params['namespace']}/{params['name']}" if by_path else params["job_id"]
        progress = body.get("progress")
        phase = state.advance(
            key,
            body.get("to"),
            progress=float(progress) if progress is not None else None,
            message=body.get("message"),
        )
        return JSONResponse({"id": key, "stage": phase})

    return handler


async def outcome(request: Request, state: HubState) -> Response:
    body = await json_body(request)
    try:
        state.set_outcome(
            body.get("outcome", "success"),
            job_id=body.get("job_id"),
            message=body.get("message"),
            losses=body.get("losses"),
        )
    except ValueError as exc:
        raise HubError(400, str(exc)) from None
    return JSONResponse({"outcome": body.get("outcome", "success"), "job_id": body.get("job_id")})


async def metrics(request: Request, state: HubState) -> Response:
    body = await json_body(request)
    losses = body.get("losses")
    if not isinstance(losses, list) or not losses or not all(isinstance(x, (int, float)) for x in losses):
        raise HubError(400, "losses must be a non-empty list of numbers")
    job_id = request.path_params.get("job_id")
    state.seed_losses([float(x) for x in losses], job_id=job_id)
    return JSONResponse({"job_id": job_id, "losses": losses})


def control_routes(state: HubState) -> list[BaseRoute]:
    """The Hub's own control routes, mounted under ``/_emulator`` beside the shared ones."""
    return [
        Route("/state", endpoint(state, get_state)),
        Route("/account", endpoint(state, account)),
        Route("/jobs/{job_id}/advance", endpoint(state, _advance(False)), methods=["POST"]),
        Route("/spaces/{namespace}/{name}/advance", endpoint(state, _advance(True)), methods=["POST"]),
        Route("/outcome", endpoint(state, outcome), methods=["POST"]),
        Route("/metrics", endpoint(state, metrics), methods=["POST"]),
        Route("/jobs/{job_id}/metrics", endpoint(state, metrics), methods=["POST"]),
    ]
