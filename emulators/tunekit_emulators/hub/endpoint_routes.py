"""Hugging Face Inference Endpoints: the management API ``huggingface_hub`` calls, and the served model.

The management API lives under ``/endpoints-api/v2`` (point
``huggingface_hub.constants.INFERENCE_ENDPOINTS_ENDPOINT`` there, as tunekit's
``endpoints_api`` option does). An endpoint moves ``pending`` → ``initializing`` →
``running`` one step per read, as a real one does over minutes; a name in
``state.failing_endpoints`` ends ``failed`` instead. ``pause`` → ``paused``,
``resume`` starts it again, ``scale-to-zero`` → ``scaledToZero`` (the first chat
request then wakes it: 503 until it runs). A running endpoint serves
OpenAI-compatible chat at ``{url}/v1/chat/completions`` for its repository.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tunekit_emulators.hub.http import endpoint, json_body, require_user
from tunekit_emulators.hub.inference_routes import chat_for_model
from tunekit_emulators.hub.state import HubState
from tunekit_emulators.hub.store import HubError, iso

__all__ = ["API_PREFIX", "endpoint_routes"]

API_PREFIX = "/endpoints-api/v2"
_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$")
_NEXT = {"pending": "initializing", "initializing": "running"}


def _owner(request: Request, state: HubState) -> str:
    user = require_user(request, state)
    namespace = str(request.path_params["namespace"])
    if namespace != user.name and namespace not in user.orgs:
        raise HubError(403, f"You don't have access to namespace {namespace}")
    return namespace


def _record(state: HubState, namespace: str, name: str) -> dict[str, Any]:
    found = state.endpoints.get((namespace, name))
    if found is None:
        raise HubError(404, f"Endpoint {name} not found in {namespace}")
    return found


def _set(record: dict[str, Any], state: HubState, phase: str, url: str | None = None) -> None:
    record["status"]["state"] = phase
    record["status"]["updatedAt"] = iso(state.clock())
    if url is not None:
        record["status"]["url"] = url


async def create(request: Request, state: HubState) -> Response:
    namespace = _owner(request, state)
    body = await json_body(request)
    name = str(body.get("name", ""))
    if not _NAME.match(name):
        raise HubError(400, f"Invalid endpoint name {name!r}: 1-32 lowercase letters, digits and '-'")
    model = body.get("model") or {}
    for key in ("repository", "framework"):
        if not model.get(key):
            raise HubError(422, f"model.{key} is required")
    with state.lock:
        if (namespace, name) in state.endpoints:
            raise HubError(409, f"Endpoint {name} already exists in {namespace}")
        now = iso(state.clock())
        record = {
            "name": name,
            "type": body.get("type", "authenticated"),
            "accountId": None,
            "provider": body.get("provider", {}),
            "compute": body.get("compute", {}),
            "model": {"task": None, "revision": None, **model},
            "healthRoute": "/health",
            "status": {"state": "pending", "createdAt": now, "updatedAt": now, "url": None, "message": ""},
        }
        state.endpoints[(namespace, name)] = record
        return JSONResponse(record)


async def get(request: Request, state: HubState) -> Response:
    namespace = _owner(request, state)
    name = request.path_params["name"]
    with state.lock:
        record = _record(state, namespace, name)
        phase = record["status"]["state"]
        if phase in _NEXT:
            nxt = "failed" if name in state.failing_endpoints and phase == "initializing" else _NEXT[phase]
            url = str(request.base_url).rstrip("/") + f"/endpoints/{namespace}/{name}" if nxt == "running" else None
            _set(record, state, nxt, url)
            if nxt == "failed":
                record["status"]["message"] = "Endpoint failed to start: the container exited (see the logs)"
        return JSONResponse(record)


async def listing(request: Request, state: HubState) -> Response:
    namespace = _owner(request, state)
    with state.lock:
        items = [r for (ns, _), r in state.endpoints.items() if ns == namespace]
    return JSONResponse({"items": items})


async def delete(request: Request, state: HubState) -> Response:
    namespace = _owner(request, state)
    with state.lock:
        _record(state, namespace, request.path_params["name"])
        del state.endpoints[(namespace, request.path_params["name"])]
    return JSONResponse({})


async def pause(request: Request, state: HubState) -> Response:
    namespace = _owner(request, state)
    with state.lock:
        record = _record(state, namespace, request.path_params["name"])
        _set(record, state, "paused")
        return JSONResponse(record)


async def resume(request: Request, state: HubState) -> Response:
    namespace = _owner(request, state)
    with state.lock:
        record = _record(state, namespace, request.path_params["name"])
        if record["status"]["state"] == "running":
            raise HubError(400, "Endpoint is already running")
        _set(record, state, "pending")
        return JSONResponse(record)


async def scale_to_zero(request: Request, state: HubState) -> Response:
    namespace = _owner(request, state)
    with state.lock:
        record = _record(state, namespace, request.path_params["name"])
        _set(record, state, "scaledToZero")
        return JSONResponse(record)


def _served(request: Request, state: HubState) -> dict[str, Any]:
    require_user(request, state)  # authenticated endpoints want a token
    namespace, name = request.path_params["namespace"], request.path_params["name"]
    with state.lock:
        record = _record(state, namespace, name)
        phase = record["status"]["state"]
        if phase == "scaledToZero":
            _set(record, state, "initializing")  # a request wakes it; it answers once it runs again
        if record["status"]["state"] != "running":
            raise HubError(503, f"Endpoint {name} is {record['status']['state']}, not running")
        return record


async def health(request: Request, state: HubState) -> Response:
    _served(request, state)
    return JSONResponse({})


def _adapters(model: dict[str, Any]) -> dict[str, str]:
    """Served name → adapter repo: vLLM's ``--lora-modules NAME=REPO``, TGI's ``LORA_ADAPTERS``."""
    found: dict[str, str] = {}
    args = list(model.get("args") or [])
    for index, arg in enumerate(args[:-1]):
        if arg == "--lora-modules":
            name, _, repo = args[index + 1].partition("=")
            found[name] = repo
    for repo in str((model.get("env") or {}).get("LORA_ADAPTERS", "")).split(","):
        if repo:
            found[repo] = repo
    return found


async def chat(request: Request, state: HubState) -> Response:
    record = _served(request, state)
    requested = (await json_body(request)).get("model")
    adapters = _adapters(record["model"])
    model = adapters.get(str(requested)) or str(record["model"]["repository"])
    return await chat_for_model(request, state, model)


def endpoint_routes(state: HubState) -> list[Route]:
    api = f"{API_PREFIX}/endpoint/{{namespace}}"
    served = "/endpoints/{namespace}/{name}"
    return [
        Route(api, endpoint(state, create), methods=["POST"]),
        Route(api, endpoint(state, listing), methods=["GET"]),
        Route(f"{api}/{{name}}", endpoint(state, get), methods=["GET"]),
        Route(f"{api}/{{name}}", endpoint(state, delete), methods=["DELETE"]),
        Route(f"{api}/{{name}}/pause", endpoint(state, pause), methods=["POST"]),
        Route(f"{api}/{{name}}/resume", endpoint(state, resume), methods=["POST"]),
        Route(f"{api}/{{name}}/scale-to-zero", endpoint(state, scale_to_zero), methods=["POST"]),
        Route(f"{served}/health", endpoint(state, health), methods=["GET"]),
        Route(f"{served}/v1/chat/completions", endpoint(state, chat), methods=["POST"]),
    ]
