"""Together's dedicated endpoints in the emulator: ``/v1/hardware?model=`` and ``/v1/endpoints``.

The routes and bodies are Together's classic endpoints API
(https://docs.together.ai/reference/createendpoint, listhardware): an endpoint
is created ``PENDING`` and moves ``PENDING → STARTING → STARTED`` under the
shared :class:`Lifecycle`; ``PATCH {"state": "STOPPED"}`` stops it (it bills
nothing while stopped) and ``{"state": "STARTED"}`` starts it again. Chat to
the endpoint's ``name`` answers once it is ``STARTED``. ``fail_starts`` makes
the next starts end in ``ERROR`` (a start that fails).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tunekit_emulators.base import IdFactory
from tunekit_emulators.lifecycle import Lifecycle
from tunekit_emulators.openai.common import json_body, json_response
from tunekit_emulators.openai.errors import invalid_request, not_found

__all__ = ["HARDWARE", "START_PATH", "Endpoint", "Endpoints"]

START_PATH = ("PENDING", "STARTING", "STARTED")
BILLING = frozenset({"PENDING", "STARTING", "STARTED", "ERROR"})
"""States in which an endpoint holds its hardware (and bills) until stopped or deleted."""

# hardware id -> price in cents per minute (Together lists it so; 5.6 is $3.36 an hour)
HARDWARE: dict[str, float] = {
    "1x_nvidia_h100_80gb_sxm": 5.6,
    "1x_nvidia_a100_80gb_sxm": 4.2667,
    "2x_nvidia_h100_80gb_sxm": 11.2,
}


@dataclass
class Endpoint:
    id: str
    name: str
    model: str
    hardware: str
    display_name: str
    autoscaling: dict[str, Any]
    created_at: float
    state: str = START_PATH[0]
    entered_at: float = 0.0
    fails: bool = False
    inactive_timeout: int | None = None
    history: list[str] = field(default_factory=list)

    def to_api(self, *, listed: bool = False) -> dict[str, Any]:
        row = {
            "object": "endpoint",
            "id": self.id,
            "name": self.name,
            "model": self.model,
            "type": "dedicated",
            "owner": "emulator",
            "state": self.state,
            "created_at": datetime.fromtimestamp(self.created_at, timezone.utc).isoformat(),
        }
        if listed:  # the list's ListEndpoint carries no display name, hardware or scaling
            return row
        extra = {"display_name": self.display_name, "hardware": self.hardware, "autoscaling": self.autoscaling}
        return {**row, **extra, "inactive_timeout": self.inactive_timeout, "billing": self.state in BILLING}


class Endpoints:
    """The endpoint store of one emulator; ``servable(model)`` says whether a model can get an endpoint."""

    def __init__(
        self,
        lifecycle: Lifecycle,
        ids: IdFactory,
        lock: threading.RLock,
        servable: Callable[[str], bool],
        authorize: Callable[[Request], None],
    ) -> None:
        self.lifecycle, self.ids, self.lock = lifecycle, ids, lock
        self.servable, self.authorize = servable, authorize
        self.records: dict[str, Endpoint] = {}
        self.fail_starts = False
        """While true, an endpoint that starts ends in ERROR instead of STARTED."""
        self.unservable: set[str] = set()
        """Models no hardware serves: ``/v1/hardware?model=`` and a create answer 404 for them."""
        self.prices: dict[str, float | None] = dict(HARDWARE)
        """Hardware id -> cents per minute ``/v1/hardware`` lists now (prices change; None: listed without one)."""

    def routes(self) -> list[Route]:
        return [
            Route("/hardware", self._hardware, methods=["GET"]),
            Route("/endpoints", self._create, methods=["POST"]),
            Route("/endpoints", self._list, methods=["GET"]),
            Route("/endpoints/{id}", self._get, methods=["GET"]),
            Route("/endpoints/{id}", self._update, methods=["PATCH"]),
            Route("/endpoints/{id}", self._delete, methods=["DELETE"]),
        ]

    # --- the Python control handle ------------------------------------------------------------------------

    def listed(self) -> list[dict[str, Any]]:
        """Every endpoint that exists, as ``GET /v1/endpoints/{id}`` renders it (``billing``: it costs money now)."""
        with self.lock:
            return [self._read(e.id).to_api() for e in list(self.records.values())]

    def stop(self, endpoint_id: str) -> dict[str, Any]:
        """Stop an endpoint as its ``inactive_timeout`` does after idle minutes (tunekit did not ask)."""
        with self.lock:
            record = self._read(endpoint_id)
            record.state, record.entered_at = "STOPPED", self.lifecycle.now()
            record.history.append("STOPPED")
            return record.to_api()

    def serving(self, name: str) -> Endpoint | None:
        """The endpoint called ``name`` (what chat sends as ``model``), moved on to where it is now."""
        with self.lock:
            found = next((e for e in self.records.values() if e.name == name), None)
            return self._read(found.id) if found is not None else None

    # --- the routes ---------------------------------------------------------------------------------------

    def _read(self, endpoint_id: str) -> Endpoint:
        record = self.records.get(endpoint_id)
        if record is None:
            raise not_found(f"Endpoint {endpoint_id} not found")
        path = (*START_PATH[:2], "ERROR") if record.fails else START_PATH
        for state, at in self.lifecycle.due(path, record.state, record.entered_at):
            record.state, record.entered_at = state, at
            record.history.append(state)
        return record

    def _servable(self, model: str) -> bool:
        return model not in self.unservable and self.servable(model)

    def _start(self, record: Endpoint) -> None:
        record.state, record.entered_at, record.fails = START_PATH[0], self.lifecycle.now(), self.fail_starts
        record.history.append(record.state)

    async def _hardware(self, request: Request) -> Response:
        self.authorize(request)
        model = request.query_params.get("model")
        if model is not None and not self._servable(model):
            raise not_found(f"model {model} is not available for dedicated endpoints", code="model_not_found")
        rows = [
            {
                "object": "hardware",
                "id": hw,
                "pricing": {"cents_per_minute": cents} if cents is not None else {},
                "availability": {"status": "available"},
            }
            for hw, cents in self.prices.items()
        ]
        return json_response({"object": "list", "data": rows})

    async def _create(self, request: Request) -> Response:
        self.authorize(request)
        body = await json_body(request)
        model, hardware = str(body.get("model") or ""), str(body.get("hardware") or "")
        if not self._servable(model):
            raise not_found(f"model {model} is not available for dedicated endpoints", code="model_not_found")
        if hardware not in HARDWARE:
            raise invalid_request(f"hardware {hardware!r} is not available for {model}", param="hardware")
        scaling = body.get("autoscaling") or {}
        if not isinstance(scaling.get("min_replicas"), int) or not isinstance(scaling.get("max_replicas"), int):
            raise invalid_request("autoscaling needs min_replicas and max_replicas", param="autoscaling")
        with self.lock:
            endpoint_id = "endpoint-" + self.ids.new("", 32, alphabet="0123456789abcdef")
            now = self.lifecycle.now()
            record = Endpoint(
                id=endpoint_id,
                name=f"emulator/{model.split('/')[-1]}-{endpoint_id[9:17]}",
                model=model,
                hardware=hardware,
                display_name=str(body.get("display_name") or ""),
                autoscaling=scaling,
                created_at=now,
                inactive_timeout=body.get("inactive_timeout"),
            )
            self.records[endpoint_id] = record
            if body.get("state") == "STOPPED":
                record.state = "STOPPED"
            else:
                self._start(record)
            return json_response(record.to_api())

    async def _list(self, request: Request) -> Response:
        self.authorize(request)
        kind = request.query_params.get("type")
        with self.lock:
            rows = [self._read(i).to_api(listed=True) for i in list(self.records)]
        return json_response({"object": "list", "data": [r for r in rows if kind in (None, r["type"])]})

    async def _get(self, request: Request) -> Response:
        self.authorize(request)
        with self.lock:
            return json_response(self._read(request.path_params["id"]).to_api())

    async def _update(self, request: Request) -> Response:
        self.authorize(request)
        body = await json_body(request)
        with self.lock:
            record = self._read(request.path_params["id"])
            wanted = body.get("state")
            if wanted == "STOPPED" and record.state != "STOPPED":
                record.state, record.entered_at = "STOPPED", self.lifecycle.now()
                record.history.append("STOPPED")
            elif wanted == "STARTED" and record.state in ("STOPPED", "ERROR"):
                self._start(record)
            elif wanted not in (None, "STARTED", "STOPPED"):
                raise invalid_request(f"state must be STARTED or STOPPED, not {wanted!r}", param="state")
            if "autoscaling" in body:
                record.autoscaling = body["autoscaling"]
            return json_response(record.to_api())

    async def _delete(self, request: Request) -> Response:
        self.authorize(request)
        with self.lock:
            if self.records.pop(request.path_params["id"], None) is None:
                raise not_found(f"Endpoint {request.path_params['id']} not found")
        return Response(status_code=204)
