"""The token-bucket limiter: pacing, TPM settlement, pauses, refunds, and real sleeping."""

from __future__ import annotations

import asyncio
import time

import pytest

from tunekit.inference.ratelimit import RateLimiter, estimate_prompt_tokens


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_rpm_paces_requests_after_the_burst() -> None:
    clock = Clock()
    limiter = RateLimiter(rpm=120, burst=1.0, clock=clock)  # 2 per second, bucket of 2
    delays = [limiter.reserve().delay for _ in range(5)]
    assert delays == pytest.approx([0.0, 0.0, 0.5, 1.0, 1.5])
    clock.now += 10  # idle time refills only up to the burst size
    assert [limiter.reserve().delay for _ in range(3)] == pytest.approx([0.0, 0.0, 0.5])


def test_tpm_reserves_estimates_and_settles_to_real_usage() -> None:
    clock = Clock()
    limiter = RateLimiter(tpm=6000, burst=1.0, clock=clock)  # 100 tokens per second
    first = limiter.reserve(100)
    assert first.delay == 0.0
    assert limiter.reserve(100).delay == pytest.approx(1.0)
    # The first request used only 20 tokens: the 80 it did not use come back.
    limiter.settle(first, 20)
    assert limiter.reserve(20).delay == pytest.approx(0.4)


def test_settle_charges_more_when_usage_exceeded_the_estimate() -> None:
    clock = Clock()
    limiter = RateLimiter(tpm=6000, clock=clock)
    reservation = limiter.reserve(50)
    limiter.settle(reservation, 150)
    assert limiter.reserve(0).delay == 0.0  # zero tokens never wait on TPM
    assert limiter.reserve(1).delay == pytest.approx(0.51)


def test_pause_holds_every_new_request() -> None:
    clock = Clock()
    limiter = RateLimiter(rpm=6000, clock=clock)
    limiter.pause(2.0)
    assert limiter.reserve().delay == pytest.approx(2.0)
    clock.now += 1.5
    assert limiter.reserve().delay == pytest.approx(0.5)


def test_refund_returns_a_request_slot() -> None:
    clock = Clock()
    limiter = RateLimiter(rpm=60, clock=clock)
    limiter.reserve()
    limiter.refund_request()
    assert limiter.reserve().delay == 0.0


def test_unlimited_never_waits() -> None:
    limiter = RateLimiter()
    assert limiter.unlimited
    assert all(limiter.reserve(10_000).delay == 0.0 for _ in range(100))


@pytest.mark.parametrize("kwargs", [{"rpm": 0}, {"tpm": -1}, {"rpm": 10, "burst": 0}])
def test_rejects_nonsense_limits(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RateLimiter(**kwargs)


def test_async_acquire_really_waits_to_hold_the_rate() -> None:
    limiter = RateLimiter(rpm=1200, burst=0.25)  # 20/s, 5 at once

    async def run() -> float:
        start = time.perf_counter()
        await asyncio.gather(*(limiter.aacquire() for _ in range(15)))
        return time.perf_counter() - start

    elapsed = asyncio.run(run())
    assert 0.45 <= elapsed < 1.5  # 10 beyond the burst at 20/s


def test_prompt_estimate_grows_with_text_and_messages() -> None:
    short = estimate_prompt_tokens([{"role": "user", "content": "hi"}])
    long = estimate_prompt_tokens([{"role": "user", "content": "hi " * 400}])
    two = estimate_prompt_tokens([{"role": "system", "content": "x"}, {"role": "user", "content": "hi"}])
    parts = estimate_prompt_tokens([{"role": "user", "content": [{"type": "text", "text": "hi " * 400}]}])
    assert short < two < long
    assert parts == long
    assert 280 <= long <= 320
