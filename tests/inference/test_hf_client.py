"""The Hugging Face client (huggingface_hub.InferenceClient) against an OpenAI-compatible endpoint over HTTP.

The OpenAI emulator serves ``/v1/chat/completions`` exactly as a TGI server or
an Inference Endpoint does, so it stands in for one through ``base_url``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import huggingface_hub.constants
import pytest

from tunekit.errors import AuthenticationError, ProviderError, ServiceUnavailableError
from tunekit.inference import ChatClient, HuggingFaceChatClient
from tunekit.retry import RetryPolicy
from tunekit_emulators import Fault, OpenAIEmulator

CHAT = "POST /v1/chat/completions"


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # The test session runs with HF_HUB_OFFLINE=1, which huggingface_hub reads once at import and which
    # makes it refuse every request, loopback included; lift it for these loopback-only tests.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    yield


def client_for(emu: OpenAIEmulator, **kwargs: object) -> HuggingFaceChatClient:
    kwargs.setdefault("retry", RetryPolicy(max_attempts=5, initial_wait=0.01, max_wait=0.05))
    return HuggingFaceChatClient("gpt-4o-mini", base_url=emu.base_url, token=emu.api_key, **kwargs)  # type: ignore[arg-type]


def ask(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


@pytest.mark.usefixtures("online")
def test_chat_stream_and_async(openai_emulator: OpenAIEmulator) -> None:
    with client_for(openai_emulator) as client:
        assert isinstance(client, ChatClient)
        result = client.chat(ask("bonjour tout le monde"), max_tokens=50)
        pieces = list(client.stream(ask("bonjour tout le monde")))

        async def run() -> tuple[str, str]:
            reply = await client.achat(ask("bonjour tout le monde"))
            streamed = "".join([c async for c in client.astream(ask("bonjour tout le monde"))])
            await client.aclose()
            return reply.text, streamed

        async_text, async_streamed = asyncio.run(run())
    assert result.text == "bonjour tout le monde"
    assert result.usage.prompt_tokens > 0 and result.usage.completion_tokens > 0
    assert result.finish_reason == "stop"
    assert "".join(pieces) == async_text == async_streamed == result.text


@pytest.mark.usefixtures("online")
def test_batch_retries_server_errors(openai_emulator: OpenAIEmulator) -> None:
    openai_emulator.inject(CHAT, Fault.status(503), probability=0.3)
    with client_for(openai_emulator) as client:
        results = client.batch([ask(f"q{i}") for i in range(20)], concurrency=5)
    assert [r.text for r in results] == [f"q{i}" for i in range(20)]
    assert sum(r.attempts - 1 for r in results) > 0


@pytest.mark.usefixtures("online")
def test_errors_map_with_the_service_message(openai_emulator: OpenAIEmulator) -> None:
    openai_emulator.reject_keys("hf_rejectedtoken0123456789abcdef")
    token = "hf_rejectedtoken0123456789abcdef"
    bad = HuggingFaceChatClient("gpt-4o-mini", base_url=openai_emulator.base_url, token=token)
    with pytest.raises(AuthenticationError) as info:
        bad.chat(ask("x"))
    assert info.value.code == "invalid_api_key"
    assert "Incorrect API key" in (info.value.provider_message or "")
    assert "hf_rejectedtoken" not in str(info.value)
    openai_emulator.inject(CHAT, Fault.status(502))
    client = client_for(openai_emulator, retry=RetryPolicy(max_attempts=2, initial_wait=0.01))
    with client, pytest.raises(ServiceUnavailableError, match="after 2 attempts"):
        client.chat(ask("x"))


def test_offline_mode_is_named_in_the_error(openai_emulator: OpenAIEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with client_for(openai_emulator) as client, pytest.raises(ProviderError, match="HF_HUB_OFFLINE") as info:
        client.chat(ask("x"))
    assert "attempts" not in str(info.value)  # nothing to retry
    assert openai_emulator.requests == []


def test_provider_and_base_url_are_exclusive() -> None:
    with pytest.raises(ValueError):
        HuggingFaceChatClient("m", provider="together", base_url="http://127.0.0.1:1")
