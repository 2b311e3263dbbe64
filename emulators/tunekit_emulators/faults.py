"""Fault injection for the emulators: error statuses, delays, dropped connections and slow streams.

Faults are attached to routes ("POST /v1/fine_tuning/jobs", "GET /v1/files/*", "*") and fire for the
first N matching calls or with a probability drawn from a seeded generator, so a failing test replays
exactly. :class:`FaultInjector` is plain ASGI middleware and knows nothing about any one service: each
emulator hands it a function that renders an error body in that service's shape.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import random
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Fault", "FaultInjector", "FaultRule", "RecordedRequest", "default_error_body"]

FaultKind = Literal["status", "timeout", "reset", "slow_stream"]
ErrorBody = Callable[[int, str], dict[str, Any]]

_REASONS = {
    408: "Request timed out.",
    409: "The request conflicts with the current state of the resource.",
    429: "Rate limit reached. Please try again later.",
    500: "The server had an error while processing your request. Sorry about that!",
    502: "Bad gateway.",
    503: "The server is overloaded or not ready yet.",
    504: "Gateway timeout.",
}


@dataclass(frozen=True)
class Fault:
    """What happens to a request a rule fires on. Build one with the class methods."""

    kind: FaultKind
    status_code: int = 0
    retry_after: float | None = None
    message: str | None = None
    seconds: float = 0.0
    after_processing: bool = False
    chunk_delay: float = 0.0
    chunk_size: int = 0

    @classmethod
    def status(cls, status: int, *, retry_after: float | None = None, message: str | None = None) -> Fault:
        """Answer with HTTP ``status`` (429, 500, 503, ...) in the service's error shape; no processing."""
        if not 400 <= status <= 599:
            raise ValueError(f"fault status must be an HTTP error code (400-599), got {status}")
        return cls(kind="status", status_code=status, retry_after=retry_after, message=message)

    @classmethod
    def timeout(cls, seconds: float = 5.0, *, after_processing: bool = True) -> Fault:
        """Hold the response for ``seconds``, past a client's timeout.

        By default the request is processed first and only the response is late, which is the case
        that creates duplicates if a client blindly retries a create; ``after_processing=False`` waits
        before the request reaches the service.
        """
        return cls(kind="timeout", seconds=seconds, after_processing=after_processing)

    @classmethod
    def reset(cls, *, after_processing: bool = False) -> Fault:
        """Drop the connection mid-response (the client sees a protocol/connection error).

        ``after_processing=True`` lets the service act on the request before the connection drops.
        """
        return cls(kind="reset", after_processing=after_processing)

    @classmethod
    def slow_stream(cls, chunk_delay: float = 0.2, *, chunk_size: int = 64) -> Fault:
        """Send the response body in ``chunk_size``-byte pieces, ``chunk_delay`` seconds apart."""
        return cls(kind="slow_stream", chunk_delay=chunk_delay, chunk_size=max(1, chunk_size))

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "status": self.status_code,
            "retry_after": self.retry_after,
            "message": self.message,
            "seconds": self.seconds,
            "after_processing": self.after_processing,
            "chunk_delay": self.chunk_delay,
            "chunk_size": self.chunk_size,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        """Parse the JSON form used by the ``/_emulator/faults`` control route."""
        kind = data.get("kind")
        if kind == "status":
            return cls.status(int(data["status"]), retry_after=data.get("retry_after"), message=data.get("message"))
        if kind == "timeout":
            return cls.timeout(
                float(data.get("seconds", 5.0)), after_processing=bool(data.get("after_processing", True))
            )
        if kind == "reset":
            return cls.reset(after_processing=bool(data.get("after_processing", False)))
        if kind == "slow_stream":
            return cls.slow_stream(float(data.get("chunk_delay", 0.2)), chunk_size=int(data.get("chunk_size", 64)))
        raise ValueError(f"unknown fault kind {kind!r}; expected status, timeout, reset or slow_stream")


def _compile_route(route: str) -> tuple[str | None, str]:
    """Split "METHOD /path/{id}" into a method (None = any) and an fnmatch pattern for the path."""
    route = route.strip()
    if route in ("*", ""):
        return None, "*"
    method, _, path = route.partition(" ")
    if not path:
        method, path = "", method
    pattern = re.sub(r"\{[^/}]+\}", "*", path.strip())
    return (method.upper() or None), pattern


@dataclass
class FaultRule:
    """One injected fault: which route, what fault, and when it fires."""

    route: str
    fault: Fault
    first_n: int | None = None
    probability: float | None = None
    seed: int = 0
    seen: int = 0
    fired: int = 0
    _method: str | None = field(init=False, repr=False)
    _pattern: str = field(init=False, repr=False)
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.probability is not None and not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"probability must be within [0, 1], got {self.probability}")
        if self.first_n is not None and self.first_n < 0:
            raise ValueError(f"first_n must be >= 0, got {self.first_n}")
        self._method, self._pattern = _compile_route(self.route)
        self._rng = random.Random(f"{self.seed}:{self.route}:{self.fault}")

    def matches(self, method: str, path: str) -> bool:
        if self._method is not None and self._method != method:
            return False
        return fnmatch.fnmatchcase(path, self._pattern)

    def should_fire(self) -> bool:
        """Called once per matching request; consumes one draw so replays stay identical."""
        self.seen += 1
        if self.first_n is not None and self.fired >= self.first_n:
            return False
        if self.probability is not None and self._rng.random() >= self.probability:
            return False
        self.fired += 1
        return True

    def to_dict(self) -> dict[str, Any]:
        return {
            "route": self.route,
            "fault": self.fault.to_dict(),
            "first_n": self.first_n,
            "probability": self.probability,
            "seen": self.seen,
            "fired": self.fired,
        }


@dataclass(frozen=True)
class RecordedRequest:
    """One request the emulator answered (control routes excluded)."""

    method: str
    path: str
    query: str
    status: int
    fault: FaultKind | None
    at: float
    body: bytes = b""
    """The request body as received (its first ``max_body`` bytes), so a test can read what a client sent."""

    def json(self) -> Any:
        """The body parsed as JSON (a chat request's ``messages``, for example)."""
        return json.loads(self.body)


def default_error_body(status: int, message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "server_error" if status >= 500 else "invalid_request_error"}}


class FaultInjector:
    """ASGI middleware that applies :class:`FaultRule` s and records every request.

    Paths under ``control_prefix`` bypass both, so a test can always reach the control API.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        seed: int = 0,
        error_body: ErrorBody = default_error_body,
        control_prefix: str = "/_emulator",
        max_recorded: int = 10_000,
        max_body: int = 256 * 1024,
    ) -> None:
        self.app = app
        self.seed = seed
        self.error_body = error_body
        self.control_prefix = control_prefix
        self.rules: list[FaultRule] = []
        self.requests: deque[RecordedRequest] = deque(maxlen=max_recorded)
        self.max_body = max_body
        self.on_request: Callable[[RecordedRequest], None] | None = None
        """Called with each request as it is answered (``tunekit emulate`` logs them)."""
        self._lock = threading.Lock()

    def add(
        self, route: str, fault: Fault, *, first_n: int | None = None, probability: float | None = None
    ) -> FaultRule:
        rule = FaultRule(route, fault, first_n=first_n, probability=probability, seed=self.seed)
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    def _pick(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for rule in self.rules:
                if rule.matches(method, path) and rule.should_fire():
                    return rule.fault
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            send = _with_request_id(send)
        if scope["type"] != "http" or scope["path"].startswith(self.control_prefix):
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        path: str = scope["path"]
        fault = self._pick(method, path) if self.rules else None
        query = scope.get("query_string", b"").decode("latin-1")
        recorded = [False]
        body = bytearray()

        async def recording_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request" and len(body) < self.max_body:
                body.extend(message.get("body", b"")[: self.max_body - len(body)])
            return message

        def record(status: int) -> None:
            if not recorded[0]:
                recorded[0] = True
                kind = fault.kind if fault else None
                entry = RecordedRequest(method, path, query, status, kind, time.time(), bytes(body))
                self.requests.append(entry)
                if self.on_request is not None:
                    self.on_request(entry)

        async def recording_send(message: Message) -> None:
            # Recorded as the response starts, so a client that has its answer always finds it logged.
            if message["type"] == "http.response.start":
                record(int(message["status"]))
            await send(message)

        try:
            if fault is None:
                await self.app(scope, recording_receive, recording_send)
            else:
                await self._apply(fault, scope, recording_receive, recording_send)
        finally:
            record(0)

    async def _apply(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> None:
        if fault.kind == "status":
            await self._send_status(fault, send)
        elif fault.kind == "timeout":
            if not fault.after_processing:
                await asyncio.sleep(fault.seconds)
                await self.app(scope, receive, send)
                return
            delayed = _DelayedSend(send, fault.seconds)
            await self.app(scope, receive, delayed)
        elif fault.kind == "reset":
            if fault.after_processing:
                await self.app(scope, receive, _discard)
            # Headers promising a body that never comes, then return: the server closes the socket
            # and the client sees the connection drop mid-response.
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1024")]})
        else:
            await self.app(scope, receive, _ChunkedSend(send, fault.chunk_delay, fault.chunk_size))

    async def _send_status(self, fault: Fault, send: Send) -> None:
        message = fault.message or _REASONS.get(fault.status_code, "Injected failure.")
        body = json.dumps(self.error_body(fault.status_code, message)).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if fault.retry_after is not None:
            headers.append((b"retry-after", _format_seconds(fault.retry_after).encode()))
            headers.append((b"retry-after-ms", str(round(fault.retry_after * 1000)).encode()))
        await send({"type": "http.response.start", "status": fault.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _format_seconds(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


async def _discard(message: Message) -> None:
    return None


class _DelayedSend:
    """Hold the first message of the response for ``seconds``."""

    def __init__(self, send: Send, seconds: float) -> None:
        self._send, self._seconds, self._waited = send, seconds, False

    async def __call__(self, message: Message) -> None:
        if not self._waited:
            self._waited = True
            await asyncio.sleep(self._seconds)
        await self._send(message)


class _ChunkedSend:
    """Split each body message into small pieces with a pause between them."""

    def __init__(self, send: Send, delay: float, size: int) -> None:
        self._send, self._delay, self._size = send, delay, size

    async def __call__(self, message: Message) -> None:
        if message["type"] != "http.response.body":
            await self._send(message)
            return
        body: bytes = message.get("body", b"")
        more = bool(message.get("more_body", False))
        pieces = [body[i : i + self._size] for i in range(0, len(body), self._size)] or [b""]
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1
            await self._send({"type": "http.response.body", "body": piece, "more_body": more or not last})
            if not last:
                await asyncio.sleep(self._delay)


def _with_request_id(send: Send) -> Send:
    """Give every response an ``x-request-id`` (as the services do; SDKs surface it), unless it has one."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            if not any(name.lower() == b"x-request-id" for name, _ in headers):
                headers.append((b"x-request-id", f"req_{uuid.uuid4().hex}".encode()))
                message = {**message, "headers": headers}
        await send(message)

    return sending
