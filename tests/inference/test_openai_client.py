"""The OpenAI-compatible client against the OpenAI emulator, over real HTTP with the real SDK."""

from __future__ import annotations

import asyncio
import time

import pytest

from tunekit.errors import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    RateLimitedError,
    ServiceUnavailableError,
)
from tunekit.inference import ChatClient, OpenAIChatClient, RateLimiter
from tunekit.retry import RetryPolicy
from tunekit_emulators import Fault, OpenAIEmulator

CHAT = "/v1/chat/completions"
FAST_RETRY = RetryPolicy(max_attempts=4, initial_wait=0.01, max_wait=0.05)


def chat_requests(emu: OpenAIEmulator) -> int:
    """Requests the emulator logged; it logs after the response is sent, so wait for the count to settle."""
    count, deadline = -1, time.monotonic() + 2.0
    while time.monotonic() < deadline:
        now = emu.request_count("POST", CHAT)
        if now == count:
            return now
        count = now
        time.sleep(0.05)
    return count


def ask(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def client_for(emu: OpenAIEmulator, **kwargs: object) -> OpenAIChatClient:
    kwargs.setdefault("retry", FAST_RETRY)
    return OpenAIChatClient("gpt-4o-mini", base_url=emu.base_url, api_key=emu.api_key, **kwargs)  # type: ignore[arg-type]


def test_chat_returns_text_usage_finish_reason_and_latency(openai_emulator: OpenAIEmulator) -> None:
    with client_for(openai_emulator) as client:
        assert isinstance(client, ChatClient)
        result = client.chat(ask("Paris is the capital\nignored second line"))
    assert result.ok
    assert result.text == "Paris is the capital"  # the emulator's base models echo the first line
    assert result.model == "gpt-4o-mini"
    assert result.finish_reason == "stop"
    assert result.usage.prompt_tokens > 0 and result.usage.completion_tokens > 0
    assert result.latency_s > 0
    assert result.attempts == 1


def test_max_new_tokens_limits_the_answer(openai_emulator: OpenAIEmulator) -> None:
    with client_for(openai_emulator, params={"max_new_tokens": 2}) as client:
        result = client.chat(ask("one two three four five six seven"))
    assert result.finish_reason == "length"
    assert result.usage.completion_tokens == 2


def test_stream_and_astream_yield_the_same_text_as_chat(openai_emulator: OpenAIEmulator) -> None:
    with client_for(openai_emulator) as client:
        whole = client.chat(ask("stream me this sentence please")).text
        pieces = list(client.stream(ask("stream me this sentence please")))

        async def collect() -> tuple[list[str], str]:
            chunks = [c async for c in client.astream(ask("stream me this sentence please"))]
            single = await client.achat(ask("stream me this sentence please"))
            await client.aclose()
            return chunks, single.text

        async_pieces, async_text = asyncio.run(collect())
    assert len(pieces) > 1
    assert "".join(pieces) == whole == "".join(async_pieces) == async_text


def test_batch_keeps_order_and_bounds_concurrency() -> None:
    with OpenAIEmulator(latency=0.2) as emu, client_for(emu) as client:
        requests = [ask(f"question {i}") for i in range(6)]
        start = time.perf_counter()
        narrow = client.batch(requests, concurrency=2)
        narrow_s = time.perf_counter() - start
        start = time.perf_counter()
        wide = client.batch(requests, concurrency=6)
        wide_s = time.perf_counter() - start
    assert [r.text for r in narrow] == [f"question {i}" for i in range(6)] == [r.text for r in wide]
    assert narrow_s >= 0.55  # three rounds of two
    assert wide_s < narrow_s


def test_injected_429s_are_retried_and_nothing_fails(openai_emulator: OpenAIEmulator) -> None:
    openai_emulator.inject(f"POST {CHAT}", Fault.status(429, retry_after=0.01), probability=0.3)
    with client_for(openai_emulator, retry=RetryPolicy(max_attempts=8, initial_wait=0.01)) as client:
        results = client.batch([ask(f"q{i}") for i in range(40)], concurrency=8)
    assert all(r.ok for r in results)
    retries = sum(r.attempts - 1 for r in results)
    assert retries > 0
    assert chat_requests(openai_emulator) == 40 + retries


def test_retry_after_is_waited_for(openai_emulator: OpenAIEmulator) -> None:
    openai_emulator.inject(f"POST {CHAT}", Fault.status(429, retry_after=0.4), first_n=1)
    with client_for(openai_emulator) as client:
        start = time.perf_counter()
        result = client.chat(ask("hi"))
    assert result.attempts == 2
    assert time.perf_counter() - start >= 0.4


def test_a_long_retry_after_surfaces_at_once(openai_emulator: OpenAIEmulator) -> None:
    openai_emulator.inject(f"POST {CHAT}", Fault.status(429, retry_after=300), first_n=1)
    with client_for(openai_emulator) as client, pytest.raises(RateLimitedError) as info:
        client.chat(ask("hi"))
    assert info.value.retry_after == pytest.approx(300)
    assert info.value.status_code == 429
    assert chat_requests(openai_emulator) == 1


def test_server_errors_are_retried_then_reported_with_the_attempts(openai_emulator: OpenAIEmulator) -> None:
    openai_emulator.inject(f"POST {CHAT}", Fault.status(503))
    client = client_for(openai_emulator, retry=RetryPolicy(max_attempts=3, initial_wait=0.01))
    with client, pytest.raises(ServiceUnavailableError) as info:
        client.chat(ask("hi"))
    assert "after 3 attempts" in str(info.value)
    assert chat_requests(openai_emulator) == 3


def test_resets_and_timeouts_are_retried(openai_emulator: OpenAIEmulator) -> None:
    openai_emulator.inject(f"POST {CHAT}", Fault.reset(), first_n=1)
    with client_for(openai_emulator) as client:
        assert client.chat(ask("after a reset")).attempts == 2
    openai_emulator.clear_faults()
    openai_emulator.inject(f"POST {CHAT}", Fault.timeout(2.0), first_n=1)
    with client_for(openai_emulator, timeout=0.5) as client:
        result = client.chat(ask("after a timeout"))
    assert result.text == "after a timeout"
    assert result.attempts == 2


def test_bad_requests_are_not_retried(openai_emulator: OpenAIEmulator) -> None:
    with client_for(openai_emulator) as client, pytest.raises(InvalidRequestError) as info:
        client.chat(ask("hi"), temperature=5)
    assert info.value.param == "temperature"
    assert "temperature" in (info.value.provider_message or "")
    assert chat_requests(openai_emulator) == 1


def test_a_request_that_fails_alone_does_not_stop_the_batch(openai_emulator: OpenAIEmulator) -> None:
    requests = [ask("fine"), [{"role": "wizard", "content": "bad role"}], ask("also fine")]
    with client_for(openai_emulator) as client:
        results = client.batch(requests)
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].error is not None and "wizard" in results[1].error
    assert results[2].text == "also fine"


def test_errors_that_would_repeat_stop_the_batch(openai_emulator: OpenAIEmulator) -> None:
    openai_emulator.reject_keys("sk-wrong-key-123456")
    client = OpenAIChatClient("gpt-4o-mini", base_url=openai_emulator.base_url, api_key="sk-wrong-key-123456")
    with pytest.raises(AuthenticationError) as info:
        client.batch([ask(f"q{i}") for i in range(40)], concurrency=4)
    assert "sk-wrong-key-123456" not in str(info.value)
    assert chat_requests(openai_emulator) < 40  # the rest were never sent
    missing = client_for(openai_emulator)
    missing.model = "no-such-model"
    with pytest.raises(NotFoundError):
        missing.batch([ask("q")])


def test_client_side_rpm_paces_the_batch(openai_emulator: OpenAIEmulator) -> None:
    limiter = RateLimiter(rpm=1200, burst=0.25)  # 20 per second, 5 at once
    with client_for(openai_emulator, limiter=limiter) as client:
        start = time.perf_counter()
        results = client.batch([ask(f"q{i}") for i in range(25)], concurrency=25)
        elapsed = time.perf_counter() - start
    assert all(r.ok for r in results)
    assert elapsed >= 0.95  # 20 beyond the burst at 20/s


def test_server_rate_limit_429s_are_absorbed() -> None:
    # The server allows 5 requests per (short) window and says when to come back; every request succeeds.
    with OpenAIEmulator(rpm=5) as emu:
        emu.limiter.window = 0.5
        with client_for(emu, retry=RetryPolicy(max_attempts=10)) as client:
            results = client.batch([ask(f"q{i}") for i in range(12)], concurrency=12)
    assert all(r.ok for r in results)
    assert sum(r.attempts - 1 for r in results) > 0


def test_unknown_parameters_travel_in_extra_body(openai_emulator: OpenAIEmulator) -> None:
    with client_for(openai_emulator) as client:
        assert client.chat(ask("vllm style"), top_k=5, repetition_penalty=1.1).text == "vllm style"


def test_missing_key_is_reported_before_any_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(AuthenticationError, match="OPENAI_API_KEY"):
        OpenAIChatClient("gpt-4o-mini")


class FrozenClock:
    """A limiter clock that never moves: what the limiter reserved stays visible as debt."""

    def __call__(self) -> float:
        return 1000.0


def test_a_429_that_cost_the_server_nothing_gives_its_slot_back(openai_emulator: OpenAIEmulator) -> None:
    limiter = RateLimiter(rpm=6000, tpm=60_000, burst=1.0, clock=FrozenClock())  # 100 slots, 1000 tokens
    openai_emulator.inject(f"POST {CHAT}", Fault.status(429, retry_after=0.01), first_n=2)
    with client_for(openai_emulator, limiter=limiter) as client:
        result = client.chat(ask("hi"))
    assert result.attempts == 3
    # The two refused attempts carried no rate-limit headers: only the answered one spent a slot,
    # and the token bucket was charged what the answer really used.
    assert limiter.requests_available == pytest.approx(99)
    assert limiter.tokens_available == pytest.approx(1000 - result.usage.total_tokens)


def test_a_429_from_a_spent_window_keeps_the_slot_and_holds_everyone() -> None:
    limiter = RateLimiter(rpm=6000, burst=1.0, clock=FrozenClock())
    with OpenAIEmulator(rpm=1) as emu:
        emu.limiter.window = 0.3
        with client_for(emu, limiter=limiter) as client:
            assert client.chat(ask("first")).attempts == 1
            second = client.chat(ask("second"))
    assert second.attempts == 2
    # x-ratelimit-remaining-requests was 0: the refused attempt stays spent (3 slots for 2 answers), and
    # the server's Retry-After became a pause for every request sharing the limiter.
    assert limiter.requests_available == pytest.approx(97)
    assert limiter.reserve().delay > 0.1
