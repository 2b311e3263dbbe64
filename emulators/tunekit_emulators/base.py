"""The part every emulator shares: serving, fault injection, request log, reset and the control API.

A concrete emulator (OpenAI, Azure, the Hugging Face Hub) subclasses :class:`Emulator`, builds its
service as a Starlette app in :meth:`Emulator.build_app` and adds its own ``/_emulator/...`` control
routes in :meth:`Emulator.control_routes`. Everything here is service-agnostic.
"""

from __future__ import annotations

import json
import random
import string
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from types import TracebackType
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp
from typing_extensions import Self

from tunekit_emulators.faults import Fault, FaultInjector, FaultRule, RecordedRequest, default_error_body
from tunekit_emulators.server import EmulatorServer

__all__ = ["CONTROL_PREFIX", "Emulator", "IdFactory", "control_action", "read_json"]

CONTROL_PREFIX = "/_emulator"

_ID_ALPHABET = string.ascii_letters + string.digits


class IdFactory:
    """Seeded, thread-safe resource ids (``file-…``, ``ftjob-…``), so a seeded run names things identically."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._tables: dict[str, bytes] = {}

    def reset(self) -> None:
        with self._lock:
            self._rng = random.Random(self._seed)

    def new(self, prefix: str, length: int = 24, alphabet: str = _ID_ALPHABET) -> str:
        # One randbytes call and a byte translation table: ids are minted on every chat completion,
        # and per-character random.choice dominated the emulator's request time.
        table = self._tables.get(alphabet)
        if table is None:
            table = bytes(ord(alphabet[i % len(alphabet)]) for i in range(256))
            self._tables[alphabet] = table
        with self._lock:
            raw = self._rng.randbytes(length)
        return prefix + raw.translate(table).decode("ascii")


async def read_json(request: Request) -> dict[str, Any]:
    """The request body as a JSON object ({} when empty); ValueError when it is not an object."""
    raw = await request.body()
    if not raw.strip():
        return {}
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("request body must be a JSON object")
    return data


def control_action(path: str, act: Callable[[str, dict[str, Any]], Any]) -> Route:
    """A ``POST`` control route: ``act(the path's {id}, JSON body)``'s result as JSON; 400 naming a bad id or move."""

    async def endpoint(request: Request) -> Response:
        body = await read_json(request)
        try:
            return JSONResponse(act(request.path_params["id"], body))
        except (KeyError, ValueError) as exc:
            return JSONResponse({"error": {"message": f"{type(exc).__name__}: {exc}"}}, status_code=400)

    return Route(path, endpoint, methods=["POST"])


class Emulator(ABC):
    """A service emulator served over loopback HTTP. Use as a context manager or call start()/stop()."""

    service: ClassVar[str] = "service"

    def __init__(
        self, *, seed: int | None = None, port: int = 0, host: str = "127.0.0.1", access_log: bool = False
    ) -> None:
        """``seed`` makes ids, faults and credentials repeatable; without one, credentials are random per start."""
        self.seed = seed if seed is not None else 0
        self.seeded = seed is not None
        self.host = host
        self.port_requested = port
        self.access_log = access_log
        self.ids = IdFactory(self.seed)
        self._injector: FaultInjector | None = None
        self._server: EmulatorServer | None = None

    # --- to implement -------------------------------------------------------------------------------------

    @abstractmethod
    def build_app(self) -> ASGIApp:
        """The service itself; must include ``Mount(CONTROL_PREFIX, routes=self.control_routes())``."""

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        """An error body in the service's shape, used by injected status faults."""
        return default_error_body(status, message)

    def reset_state(self) -> None:  # noqa: B027 - optional hook, a no-op for stateless services
        """Forget every resource (called by :meth:`reset`)."""

    # --- serving ------------------------------------------------------------------------------------------

    @property
    def app(self) -> FaultInjector:
        """The full ASGI app (service + fault injection); usable without a server, e.g. with httpx.ASGITransport."""
        if self._injector is None:
            self._injector = FaultInjector(
                self.build_app(), seed=self.seed, error_body=self.error_body, control_prefix=CONTROL_PREFIX
            )
        return self._injector

    def start(self) -> Self:
        if self._server is None or not self._server.running:
            self._server = EmulatorServer(
                self.app, host=self.host, port=self.port_requested, access_log=self.access_log
            ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (``tunekit emulate``)."""
        server = EmulatorServer(self.app, host=self.host, port=self.port_requested, access_log=self.access_log)
        self._server = server
        try:
            server.serve_forever()
        finally:
            self._server = None

    @property
    def running(self) -> bool:
        return self._server is not None and self._server.running

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(
                f"the {self.service} emulator is not running; call start() or use it as a context manager"
            )
        return self._server.port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def describe(self) -> dict[str, str]:
        """What a client needs to connect (URLs, keys), for ``tunekit emulate`` to print."""
        return {"url": self.url, "control": f"{self.url}{CONTROL_PREFIX}"}

    # --- faults and the request log -----------------------------------------------------------------------

    def inject(
        self, route: str, fault: Fault, *, first_n: int | None = None, probability: float | None = None
    ) -> FaultRule:
        """Make ``route`` ("POST /v1/files", "GET /v1/fine_tuning/jobs/*", "*") fail with ``fault``.

        Fires for the first ``first_n`` matching calls, or on each call with ``probability`` (seeded
        by the emulator's seed), or on every call when neither is given.
        """
        return self.app.add(route, fault, first_n=first_n, probability=probability)

    def clear_faults(self) -> None:
        self.app.clear()

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request answered so far (control routes excluded), oldest first."""
        return list(self.app.requests)

    def request_count(self, method: str, path: str) -> int:
        """How many requests hit exactly ``method path`` (faulted ones included)."""
        return sum(1 for r in self.app.requests if r.method == method.upper() and r.path == path)

    def reset(self) -> None:
        """Forget every resource, fault and recorded request."""
        self.app.clear()
        self.app.clear_requests()
        self.ids.reset()
        self.reset_state()

    # --- the control API ----------------------------------------------------------------------------------

    def control_routes(self) -> list[BaseRoute]:
        """Routes under ``/_emulator``: reset, faults, request log; subclasses append their own."""
        return [
            Route("/reset", self._http_reset, methods=["POST"]),
            Route("/faults", self._http_list_faults, methods=["GET"]),
            Route("/faults", self._http_add_fault, methods=["POST"]),
            Route("/faults", self._http_clear_faults, methods=["DELETE"]),
            Route("/requests", self._http_requests, methods=["GET"]),
            Route("/health", self._http_health, methods=["GET"]),
        ]

    async def _http_reset(self, request: Request) -> Response:
        self.reset()
        return JSONResponse({"reset": True})

    async def _http_list_faults(self, request: Request) -> Response:
        return JSONResponse({"data": [rule.to_dict() for rule in self.app.rules]})

    async def _http_add_fault(self, request: Request) -> Response:
        try:
            body = await read_json(request)
            fault = Fault.from_dict(dict(body.get("fault") or {}))
            rule = self.inject(
                str(body.get("route", "*")),
                fault,
                first_n=None if body.get("first_n") is None else int(body["first_n"]),
                probability=None if body.get("probability") is None else float(body["probability"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            return JSONResponse({"error": {"message": str(exc)}}, status_code=400)
        return JSONResponse(rule.to_dict(), status_code=201)

    async def _http_clear_faults(self, request: Request) -> Response:
        self.clear_faults()
        return JSONResponse({"cleared": True})

    async def _http_requests(self, request: Request) -> Response:
        return JSONResponse(
            {
                "data": [
                    {"method": r.method, "path": r.path, "query": r.query, "status": r.status, "fault": r.fault}
                    for r in self.app.requests
                ]
            }
        )

    async def _http_health(self, request: Request) -> Response:
        return JSONResponse({"service": self.service, "ok": True})
