"""The OpenAI-compatible client on an Azure OpenAI deployment, against the Azure emulator."""

from __future__ import annotations

import pytest

from tunekit.errors import AuthenticationError, ConfigError, NotFoundError
from tunekit.inference import OpenAIChatClient
from tunekit.retry import RetryPolicy
from tunekit_emulators import AzureOpenAIEmulator, Fault

FAST = RetryPolicy(max_attempts=4, initial_wait=0.01, max_wait=0.05)


def test_chat_stream_and_batch_through_a_deployment(azure_emulator: AzureOpenAIEmulator) -> None:
    azure_emulator.deploy("chat-prod", "gpt-4o-mini")
    azure_emulator.inject("POST /openai/deployments/chat-prod/chat/completions", Fault.status(429), first_n=2)
    client = OpenAIChatClient.azure(
        "chat-prod",
        endpoint=azure_emulator.endpoint,
        api_key=azure_emulator.api_key,
        api_version=azure_emulator.api_version,
        retry=FAST,
    )
    with client:
        assert client.provider == "azure"
        first = client.chat([{"role": "user", "content": "hello deployment"}])
        streamed = "".join(client.stream([{"role": "user", "content": "hello deployment"}]))
        results = client.batch([[{"role": "user", "content": f"q{i}"}] for i in range(5)])
    assert first.text == streamed == "hello deployment"
    assert first.attempts == 3
    assert [r.text for r in results] == [f"q{i}" for i in range(5)]


def test_entra_id_token_provider(azure_emulator: AzureOpenAIEmulator) -> None:
    azure_emulator.deploy("chat", "gpt-4o-mini")
    token = azure_emulator.issue_token()
    client = OpenAIChatClient.azure(
        "chat",
        endpoint=azure_emulator.endpoint,
        api_version=azure_emulator.api_version,
        azure_ad_token_provider=lambda: token,
    )
    assert client.chat([{"role": "user", "content": "signed in"}]).text == "signed in"


def test_azure_errors(azure_emulator: AzureOpenAIEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = OpenAIChatClient.azure(
        "nowhere",
        endpoint=azure_emulator.endpoint,
        api_key=azure_emulator.api_key,
        api_version=azure_emulator.api_version,
        retry=FAST,
    )
    with pytest.raises(NotFoundError) as info:
        missing.chat([{"role": "user", "content": "x"}])
    assert info.value.provider == "azure" and info.value.code == "DeploymentNotFound"
    azure_emulator.deploy("chat", "gpt-4o-mini")
    wrong = OpenAIChatClient.azure(
        "chat",
        endpoint=azure_emulator.endpoint,
        api_key="not-the-key-0123456789",
        api_version=azure_emulator.api_version,
    )
    with pytest.raises(AuthenticationError):
        wrong.chat([{"role": "user", "content": "x"}])
    monkeypatch.delenv("AZURE_OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("AZURE_OPENAI_AD_TOKEN", raising=False)
    monkeypatch.delenv("OPENAI_API_VERSION", raising=False)
    with pytest.raises(AuthenticationError, match="AZURE_OPENAI_API_KEY"):
        OpenAIChatClient.azure("chat", endpoint=azure_emulator.endpoint, api_version=azure_emulator.api_version)
    with pytest.raises(ConfigError, match="api_version"):
        OpenAIChatClient.azure("chat", endpoint=azure_emulator.endpoint, api_key="k")
