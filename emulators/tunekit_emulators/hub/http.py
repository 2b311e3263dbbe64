"""Shared pieces of the Hub emulator's routes: errors in the Hub's shape, auth, JSON bodies, SSE."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from email.utils import formatdate
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from tunekit_emulators.hub.runs import LogLine, Run
from tunekit_emulators.hub.state import HubState
from tunekit_emulators.hub.store import HubError, HubUser, iso

__all__ = [
    "Handler",
    "endpoint",
    "error_body",
    "error_response",
    "json_body",
    "optional_user",
    "require_user",
    "run_lines",
    "sse_logs",
]

Handler = Callable[[Request, HubState], Awaitable[Response]]


def error_body(status: int, message: str) -> dict[str, Any]:
    """The Hub's error body; also what injected faults answer with."""
    return {"error": message}


def error_response(exc: HubError) -> JSONResponse:
    headers = {"X-Error-Message": exc.message}
    if exc.code:
        headers["X-Error-Code"] = exc.code
    return JSONResponse(error_body(exc.status, exc.message), status_code=exc.status, headers=headers)


def endpoint(state: HubState, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler: let timed runs catch up first, answer HubError in the Hub's shape, tag the request id."""

    async def run(request: Request) -> Response:
        request_id = request.headers.get("x-amzn-trace-id") or request.headers.get("x-request-id") or str(uuid.uuid4())
        try:
            state.settle()
            response = await handler(request, state)
        except HubError as exc:
            response = error_response(exc)
        response.headers["x-request-id"] = request_id
        # The exact time of the answer: clients replaying logs stop at the first line after it.
        response.headers["date"] = formatdate(time.time(), usegmt=True)
        return response

    return run


def require_user(request: Request, state: HubState) -> HubUser:
    user = state.authenticate(request.headers.get("authorization"))
    if user is None:
        raise HubError(401, "Invalid username or password.")
    return user


def optional_user(request: Request, state: HubState) -> HubUser | None:
    return state.authenticate(request.headers.get("authorization"))


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise HubError(400, f"Invalid JSON body: {exc.msg}") from None
    if not isinstance(data, dict):
        raise HubError(400, "The request body must be a JSON object")
    return data


def sse_logs(
    request: Request,
    state: HubState,
    lines: Callable[[], tuple[list[LogLine], bool]],
    *,
    tail: int | None = None,
    idle_close_s: float | None,
    poll_s: float = 0.05,
    keep_alive_s: float = 30.0,
) -> StreamingResponse:
    """Stream log lines as the Hub does (``data: {"data": ..., "timestamp": ...}``).

    The stream follows a running container live, with a ``: keep-alive``
    comment every ``keep_alive_s``, and ends once the container is over. With
    ``idle_close_s`` set, a stream with no new line for that long ends early
    (quicker one-shot reads; clients that follow reconnect).
    """

    async def events() -> AsyncIterator[bytes]:
        with state.lock:
            backlog, _ = lines()
        sent = max(0, len(backlog) - tail) if tail is not None else 0
        idle = quiet = 0.0
        while True:
            with state.lock:
                state.settle()
                current, done = lines()
            fresh = current[sent:]
            sent = len(current)
            for line in fresh:
                payload = json.dumps({"data": line.text, "timestamp": iso(line.at)})
                yield f"data: {payload}\n\n".encode()
            if done and not fresh:
                return
            idle = 0.0 if fresh else idle + poll_s
            quiet = 0.0 if fresh else quiet + poll_s
            if (idle_close_s is not None and idle >= idle_close_s) or await request.is_disconnected():
                return
            if quiet >= keep_alive_s:
                quiet = 0.0
                yield b": keep-alive\n\n"
            await asyncio.sleep(poll_s)

    return StreamingResponse(events(), media_type="text/event-stream", headers={"cache-control": "no-cache"})


def run_lines(run: Run) -> Callable[[], tuple[list[LogLine], bool]]:
    return lambda: (list(run.logs), run.terminal)
