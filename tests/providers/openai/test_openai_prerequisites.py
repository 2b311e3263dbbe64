"""Prerequisites before any request: the API key; and a 404 that names what was not found."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from openai_helpers import ConfigFactory

from tunekit.config import load_config
from tunekit.errors import NotFoundError
from tunekit.provider import JobRef
from tunekit.registry import create_provider
from tunekit_emulators.openai import OpenAIEmulator

TUNEKIT = str(Path(sys.executable).with_name("tunekit"))


def test_a_missing_api_key_is_refused_before_any_request(
    openai_emulator: OpenAIEmulator, make_config: ConfigFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_config(openai_emulator)
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    done = subprocess.run(
        [TUNEKIT, "run", str(path), "--yes"], capture_output=True, text=True, env={**env, "COLUMNS": "200"}
    )
    assert done.returncode == 2, done.stderr
    assert "provider_options.api_key" in done.stderr and "OPENAI_API_KEY" in done.stderr
    assert openai_emulator.requests == []  # refused before anything was sent, uploaded or spent


def test_check_lists_the_missing_key(
    openai_emulator: OpenAIEmulator, make_config: ConfigFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(make_config(openai_emulator))
    monkeypatch.delenv("OPENAI_API_KEY")
    provider = create_provider("openai", config.options())
    assert any(p.startswith("provider_options.api_key: no OpenAI API key") for p in provider.check(config))
    monkeypatch.setenv("OPENAI_API_KEY", openai_emulator.api_key)
    assert not [p for p in provider.check(config) if p.startswith("provider_options.api_key")]


def test_a_404_names_the_job_it_wanted(openai_emulator: OpenAIEmulator, make_config: ConfigFactory) -> None:
    config = load_config(make_config(openai_emulator))
    provider = create_provider("openai", config.options())
    with pytest.raises(NotFoundError) as caught:
        provider.status(JobRef(provider="openai", job_id="ftjob-gone0000"))
    assert "fine-tuning job ftjob-gone0000 was not found" in str(caught.value)


def test_a_404_names_the_model_it_wanted(openai_emulator: OpenAIEmulator, make_config: ConfigFactory) -> None:
    config = load_config(make_config(openai_emulator))
    provider = create_provider("openai", config.options())
    client = provider.base_client("ft:gpt-4.1-mini-2025-04-14:org::deleted1")
    with pytest.raises(NotFoundError) as caught:
        client.chat([{"role": "user", "content": "hi"}])
    assert "ft:gpt-4.1-mini-2025-04-14:org::deleted1" in str(caught.value)
