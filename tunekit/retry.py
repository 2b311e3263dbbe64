"""One retry policy for every remote call tunekit makes.

Only what is safe to repeat is retried: connection errors and timeouts, and
the HTTP statuses 408, 409, 429 and 5xx. A server's ``Retry-After`` (or
``retry-after-ms``) is honoured exactly; without one the wait grows
exponentially with jitter. Attempts and total time are bounded, and a server
that asks for a longer pause than the policy allows is not waited for: the
error surfaces at once. A 429 whose code says the quota or billing limit is
exhausted (``insufficient_quota``) is not a rate limit and is never retried;
neither is a response carrying ``x-should-retry: false``.

The policy classifies exceptions by duck typing (``status_code``,
``response.headers``, ``body``), so it serves the ``openai`` SDK, the
``huggingface_hub`` clients and plain ``httpx`` alike without importing them.

Callers that create remote objects must check whether a failed attempt
already took effect before trying again; :class:`RetryPolicy` accepts a
``before_retry`` hook for exactly that.

A caller with a time budget of its own (``tunekit watch --timeout 10``,
``Job.wait(timeout=...)``) wraps its calls in :func:`deadline`: every retried
call inside the block then stops waiting and surfaces its last error when the
next attempt could not start before that moment, whatever the policy's own
``deadline``. A service that is down cannot stretch a ten-second budget into
minutes of backoff.

Why tunekit retries instead of the SDK (``openai`` clients are built with
``max_retries=0``): each attempt then goes through tunekit's rate limiter, so
a retry spends the RPM budget like any request instead of slipping around it;
the Hugging Face clients, which have no retries of their own, get the same
behaviour; and attempts are bounded once, not multiplied by a second layer.
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

import tenacity

from tunekit.secrets import get_logger

__all__ = [
    "DEFAULT_RETRY",
    "NO_RETRY",
    "RETRYABLE_STATUS",
    "RetryPolicy",
    "deadline",
    "header_of",
    "is_connection_error",
    "is_retryable",
    "remaining_time",
    "retry_after_of",
    "status_code_of",
]

logger = get_logger("tunekit.retry")

T = TypeVar("T")

RETRYABLE_STATUS = frozenset({408, 409, 429})
"""Statuses worth another attempt, besides every 5xx."""

_NOT_RATE_LIMITS = frozenset({"insufficient_quota", "billing_hard_limit_reached", "billing_not_active"})


_DEADLINE: ContextVar[float | None] = ContextVar("tunekit_retry_deadline", default=None)
"""The ``time.monotonic()`` by which every retried call in this context must end, if any."""


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Bound every retried call inside the block by ``seconds`` from now, waits included.

    Nested blocks keep the earlier of the two deadlines; ``None`` adds no
    bound. The context variable follows threads started with
    ``contextvars.copy_context()`` and asyncio tasks.
    """
    if seconds is None:
        yield
        return
    ends = time.monotonic() + max(0.0, seconds)
    outer = _DEADLINE.get()
    token = _DEADLINE.set(ends if outer is None else min(outer, ends))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def remaining_time() -> float | None:
    """Seconds left before the innermost :func:`deadline` (never negative); ``None`` outside one."""
    ends = _DEADLINE.get()
    return None if ends is None else max(0.0, ends - time.monotonic())


def status_code_of(exc: BaseException) -> int | None:
    """The HTTP status an exception carries, if any."""
    code = getattr(exc, "status_code", None)
    if isinstance(code, int):
        return code
    response = getattr(exc, "response", None)
    code = getattr(response, "status_code", None)
    return code if isinstance(code, int) else None


def _headers_of(exc: BaseException) -> Mapping[str, str] | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        headers = getattr(exc, "headers", None)
    return headers if isinstance(headers, Mapping) or hasattr(headers, "get") else None


def header_of(exc: BaseException, name: str) -> str | None:
    """A header of the response an exception carries (case-insensitive), if any."""
    headers = _headers_of(exc)
    value = headers.get(name) if headers is not None else None
    return str(value) if value is not None else None


def retry_after_of(exc: BaseException) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms``, ``Retry-After`` seconds or date)."""
    explicit = getattr(exc, "retry_after", None)
    if isinstance(explicit, (int, float)) and not isinstance(explicit, bool):
        return float(explicit)
    headers = _headers_of(exc)
    if headers is None:
        return None
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            value = float(raw) / divisor
        except ValueError:
            continue
        if math.isfinite(value):
            return max(0.0, value)
    raw = headers.get("retry-after")
    if raw:
        parsed = email.utils.parsedate_tz(raw)
        if parsed is not None:
            return max(0.0, float(email.utils.mktime_tz(parsed) - time.time()))
    return None


def _error_code(exc: BaseException) -> str | None:
    code = getattr(exc, "code", None)
    if isinstance(code, str):
        return code
    body = getattr(exc, "body", None)
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping) and isinstance(inner.get("code"), str):
            return str(inner["code"])
    return None


@lru_cache(maxsize=1)
def _connection_error_types() -> tuple[type[BaseException], ...]:
    # Built on first use from whichever HTTP stacks are installed; none is imported eagerly.
    types: list[type[BaseException]] = [ConnectionError, TimeoutError]
    for module, names in (
        ("openai", ("APIConnectionError",)),
        ("httpx", ("TransportError",)),
        ("httpx2", ("TransportError",)),
        ("huggingface_hub.errors", ("InferenceTimeoutError",)),
    ):
        try:
            imported = __import__(module, fromlist=list(names))
        except ImportError:
            continue
        for name in names:
            found = getattr(imported, name, None)
            if isinstance(found, type) and issubclass(found, BaseException):
                types.append(found)
    return tuple(types)


def is_connection_error(exc: BaseException) -> bool:
    """A connection reset, refused connection or timeout: no response came back."""
    if type(exc).__name__ == "OfflineModeIsEnabled":
        # huggingface_hub refusing to send at all (HF_HUB_OFFLINE) is a ConnectionError that no retry cures.
        return False
    if isinstance(exc, _connection_error_types()):
        return True
    from tunekit.errors import ServiceUnavailableError, TunekitError

    cause = exc.__cause__
    if not isinstance(exc, TunekitError) and cause is not None and cause is not exc and is_connection_error(cause):
        return True  # an SDK's own exception raised from the HTTP stack's, e.g. ``raise APIConnectionError() from err``

    return isinstance(exc, ServiceUnavailableError) and exc.status_code is None


def is_retryable(exc: BaseException) -> bool:
    """Whether another attempt may succeed and cannot do harm beyond a duplicate read."""
    headers = _headers_of(exc)
    if headers is not None:
        hint = headers.get("x-should-retry")
        if hint == "false":
            return False
        if hint == "true":
            return True
    status = status_code_of(exc)
    if status is None:
        return is_connection_error(exc)
    if status == 429 and _error_code(exc) in _NOT_RATE_LIMITS:
        return False
    return status in RETRYABLE_STATUS or status >= 500


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry; immutable, shareable across clients.

    ``max_attempts`` counts the first try. ``deadline`` bounds the whole
    call, waits included. A ``Retry-After`` above ``max_retry_after`` ends
    the retries at once (the caller surfaces the error with that value).
    """

    max_attempts: int = 6
    initial_wait: float = 0.5
    max_wait: float = 20.0
    max_retry_after: float = 120.0
    deadline: float | None = 600.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.initial_wait < 0 or self.max_wait < 0:
            raise ValueError("waits must not be negative")

    def should_retry(self, exc: BaseException) -> bool:
        if not is_retryable(exc):
            return False
        after = retry_after_of(exc)
        return after is None or after <= self.max_retry_after

    def wait_for(self, exc: BaseException | None, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        if exc is not None:
            after = retry_after_of(exc)
            if after is not None:
                return after
        backoff = min(self.max_wait, self.initial_wait * 2.0 ** (attempt - 1))
        return backoff * random.uniform(0.5, 1.0)

    # -- tenacity ------------------------------------------------------------------

    def _kwargs(self, before_retry: Callable[[BaseException, int], None] | None) -> dict[str, Any]:
        stop: tenacity.stop.stop_base = tenacity.stop_after_attempt(self.max_attempts)
        if self.deadline is not None:
            stop = stop | tenacity.stop_before_delay(self.deadline)
        # The caller's own budget (see `deadline`), read when the call runs, not when the policy was built.
        stop = stop | _StopAtCallerDeadline(self)

        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome is not None else None
            delay = self.wait_for(exc, state.attempt_number)
            left = remaining_time()
            return delay if left is None else min(delay, left)

        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome is not None else None
            delay = state.upcoming_sleep
            logger.info(
                "attempt %d failed (%s); retrying in %.2f s",
                state.attempt_number,
                _describe(exc),
                delay,
            )
            if before_retry is not None and exc is not None:
                before_retry(exc, state.attempt_number)

        return {
            "stop": stop,
            "wait": wait,
            "retry": tenacity.retry_if_exception(self.should_retry),
            "before_sleep": before_sleep,
            "reraise": True,
        }

    def retrying(self, *, before_retry: Callable[[BaseException, int], None] | None = None) -> tenacity.Retrying:
        """A tenacity ``Retrying`` that applies this policy (use as ``for attempt in ...``)."""
        return tenacity.Retrying(**self._kwargs(before_retry))

    def aretrying(self, *, before_retry: Callable[[BaseException, int], None] | None = None) -> tenacity.AsyncRetrying:
        """The async counterpart of :meth:`retrying`."""
        return tenacity.AsyncRetrying(**self._kwargs(before_retry))

    def call(
        self,
        fn: Callable[..., T],
        /,
        *args: Any,
        before_retry: Callable[[BaseException, int], None] | None = None,
        **kwargs: Any,
    ) -> T:
        """Call ``fn`` under this policy; the last error is re-raised unchanged."""
        return self.retrying(before_retry=before_retry)(fn, *args, **kwargs)

    async def acall(
        self,
        fn: Callable[..., Awaitable[T]],
        /,
        *args: Any,
        before_retry: Callable[[BaseException, int], None] | None = None,
        **kwargs: Any,
    ) -> T:
        """Await ``fn`` under this policy; the last error is re-raised unchanged."""
        return await self.aretrying(before_retry=before_retry)(fn, *args, **kwargs)


class _StopAtCallerDeadline(tenacity.stop.stop_base):
    """Stop when the next attempt could not start before the caller's deadline (see :func:`deadline`)."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        left = remaining_time()
        if left is None:
            return False
        exc = retry_state.outcome.exception() if retry_state.outcome is not None else None
        after = retry_after_of(exc) if exc is not None else None
        if after is not None:  # a Retry-After is waited exactly
            return left <= after
        # Backoff is jittered down to half its nominal value.
        nominal = min(self.policy.max_wait, self.policy.initial_wait * 2.0 ** (retry_state.attempt_number - 1))
        return left <= 0.5 * nominal


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "no error"
    status = status_code_of(exc)
    return f"HTTP {status}" if status is not None else type(exc).__name__


DEFAULT_RETRY = RetryPolicy()
"""Six attempts within ten minutes, Retry-After honoured up to two minutes."""

NO_RETRY = RetryPolicy(max_attempts=1)
"""A single attempt, for callers that handle failures themselves."""
