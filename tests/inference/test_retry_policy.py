"""The shared retry policy: what is retried, how long it waits, and when it gives up."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx2
import openai
import pytest

from tunekit.retry import RetryPolicy, deadline, is_retryable, remaining_time, retry_after_of

FAST = RetryPolicy(max_attempts=4, initial_wait=0.001, max_wait=0.01)


def status_error(status: int, headers: dict[str, str] | None = None, code: str | None = None) -> openai.APIStatusError:
    request = httpx2.Request("POST", "http://127.0.0.1:9/v1/chat/completions")
    response = httpx2.Response(status, headers=headers or {}, request=request)
    body: dict[str, Any] = {"message": f"HTTP {status}", "type": "error", "code": code}
    cls = {400: openai.BadRequestError, 429: openai.RateLimitError, 409: openai.ConflictError}.get(
        status, openai.InternalServerError if status >= 500 else openai.APIStatusError
    )
    return cls(f"HTTP {status}", response=response, body=body)


def connection_error() -> openai.APIConnectionError:
    return openai.APIConnectionError(request=httpx2.Request("POST", "http://127.0.0.1:9/v1/chat/completions"))


class Flaky:
    """Fails with the given errors, then answers."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504])
def test_safe_statuses_are_retried(status: int) -> None:
    assert is_retryable(status_error(status))
    fn = Flaky(status_error(status), status_error(status))
    assert FAST.call(fn) == "ok"
    assert fn.calls == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_are_not_retried(status: int) -> None:
    fn = Flaky(status_error(status))
    with pytest.raises(openai.APIStatusError):
        FAST.call(fn)
    assert fn.calls == 1


def test_connection_errors_and_timeouts_are_retried() -> None:
    fn = Flaky(connection_error(), httpx2.ConnectError("refused"), TimeoutError())
    assert FAST.call(fn) == "ok"
    assert fn.calls == 4


def test_exhausted_quota_is_not_a_rate_limit() -> None:
    fn = Flaky(status_error(429, code="insufficient_quota"))
    with pytest.raises(openai.RateLimitError):
        FAST.call(fn)
    assert fn.calls == 1


def test_server_can_forbid_or_demand_a_retry() -> None:
    assert not is_retryable(status_error(503, {"x-should-retry": "false"}))
    assert is_retryable(status_error(400, {"x-should-retry": "true"}))


def test_attempts_are_bounded_and_the_last_error_surfaces() -> None:
    errors = [status_error(503) for _ in range(10)]
    fn = Flaky(*errors)
    with pytest.raises(openai.InternalServerError) as info:
        FAST.call(fn)
    assert fn.calls == 4
    assert info.value is errors[3]


def test_retry_after_is_honoured_exactly() -> None:
    assert retry_after_of(status_error(429, {"retry-after": "0.2"})) == pytest.approx(0.2)
    assert retry_after_of(status_error(429, {"retry-after-ms": "150", "retry-after": "9"})) == pytest.approx(0.15)
    assert retry_after_of(status_error(429, {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0
    assert retry_after_of(status_error(429)) is None
    fn = Flaky(status_error(429, {"retry-after": "0.2"}))
    start = time.perf_counter()
    assert FAST.call(fn) == "ok"
    assert 0.19 <= time.perf_counter() - start < 1.0


def test_a_retry_after_beyond_the_policy_ends_retries_at_once() -> None:
    policy = RetryPolicy(max_attempts=5, max_retry_after=1.0)
    fn = Flaky(status_error(429, {"retry-after": "30"}))
    start = time.perf_counter()
    with pytest.raises(openai.RateLimitError):
        policy.call(fn)
    assert fn.calls == 1
    assert time.perf_counter() - start < 0.5


def test_backoff_without_retry_after_grows_and_is_capped() -> None:
    policy = RetryPolicy(initial_wait=1.0, max_wait=5.0)
    waits = [policy.wait_for(None, attempt) for attempt in range(1, 8)]
    assert 0.5 <= waits[0] <= 1.0
    assert 2.0 <= waits[2] <= 4.0
    assert all(w <= 5.0 for w in waits)


def test_deadline_bounds_total_time() -> None:
    policy = RetryPolicy(max_attempts=100, initial_wait=0.05, max_wait=0.05, deadline=0.3)
    fn = Flaky(*[status_error(500) for _ in range(100)])
    start = time.perf_counter()
    with pytest.raises(openai.InternalServerError):
        policy.call(fn)
    assert time.perf_counter() - start < 0.6
    assert 3 <= fn.calls < 100


def test_before_retry_hook_sees_each_failure() -> None:
    seen: list[tuple[int | None, int]] = []
    fn = Flaky(status_error(500), status_error(429))
    FAST.call(fn, before_retry=lambda exc, n: seen.append((getattr(exc, "status_code", None), n)))
    assert seen == [(500, 1), (429, 2)]


def test_async_calls_retry_the_same_way() -> None:
    state = {"calls": 0}

    async def flaky() -> str:
        state["calls"] += 1
        if state["calls"] < 3:
            raise status_error(502)
        return "ok"

    assert asyncio.run(FAST.acall(flaky)) == "ok"
    assert state["calls"] == 3


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)


# -- the caller's own deadline ---------------------------------------------------------------


def test_a_caller_deadline_bounds_every_retry_inside_it() -> None:
    patient = RetryPolicy(max_attempts=50, initial_wait=0.4, max_wait=5.0, deadline=None)
    fn = Flaky(*[connection_error() for _ in range(60)])
    start = time.monotonic()
    with deadline(1.5), pytest.raises(openai.APIConnectionError):
        patient.call(fn)
    assert time.monotonic() - start < 2.0
    assert fn.calls >= 2  # it did retry, within the budget


def test_a_retry_after_beyond_the_caller_deadline_is_not_waited_for() -> None:
    fn = Flaky(*[status_error(503, {"retry-after": "30"}) for _ in range(3)])
    start = time.monotonic()
    with deadline(5.0), pytest.raises(openai.InternalServerError):
        FAST.call(fn)
    assert time.monotonic() - start < 1.0 and fn.calls == 1


def test_nested_deadlines_keep_the_earlier_and_end_with_their_block() -> None:
    assert remaining_time() is None
    with deadline(10.0):
        with deadline(60.0):
            inner = remaining_time()
            assert inner is not None and inner <= 10.0
        with deadline(None):
            assert remaining_time() is not None
    assert remaining_time() is None


def test_an_async_call_honours_the_caller_deadline() -> None:
    patient = RetryPolicy(max_attempts=50, initial_wait=0.4, max_wait=5.0, deadline=None)
    calls = 0

    async def down() -> str:
        nonlocal calls
        calls += 1
        raise connection_error()

    async def main() -> None:
        with deadline(1.0), pytest.raises(openai.APIConnectionError):
            await patient.acall(down)

    start = time.monotonic()
    asyncio.run(main())
    assert time.monotonic() - start < 1.5 and calls >= 2
