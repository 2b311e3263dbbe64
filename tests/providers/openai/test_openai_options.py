"""provider_options: validated up front, secrets kept out of the ledger, logs and files."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml
from openai_helpers import ConfigFactory

from tunekit import ConfigError, JobStatus, Tuner, parse_config
from tunekit.ledger import tunekit_home
from tunekit_emulators.openai import OpenAIEmulator
from tunekit_openai import OpenAIOptions, OpenAIProvider


def _config(**options: object) -> dict[str, object]:
    return {
        "provider": "openai",
        "model": "gpt-4o-mini-2024-07-18",
        "data": {"train": "t.jsonl"},
        "provider_options": options,
    }


@pytest.mark.parametrize(
    "url", ["https://api.openai.com/v1", "http://127.0.0.1:8000/v1", "http://localhost:9/v1", "http://[::1]:8000/v1"]
)
def test_accepted_base_urls(url: str) -> None:
    options = parse_config(_config(base_url=url)).options()
    assert isinstance(options, OpenAIOptions) and options.base_url == url


@pytest.mark.parametrize("url", ["http://api.example.com/v1", "http://10.0.0.5:8000/v1", "ftp://example.com", "nohost"])
def test_plain_http_off_loopback_is_refused(url: str) -> None:
    with pytest.raises(ConfigError, match=r"provider_options\.base_url"):
        parse_config(_config(base_url=url))


def test_env_base_url_is_checked_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://proxy.internal/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0123456789")
    provider = OpenAIProvider(OpenAIOptions())
    with pytest.raises(ConfigError, match=r"OPENAI_BASE_URL.*plain http"):
        provider.conn.client  # noqa: B018


def test_typos_and_bad_graders_are_named() -> None:
    with pytest.raises(ConfigError, match=r"provider_options\.api_kee: unknown key"):
        parse_config(_config(api_kee="x"))
    with pytest.raises(ConfigError, match=r"provider_options\.grader.*grader\.type must be one of"):
        parse_config(_config(grader={"type": "vibes", "name": "g"}))


def test_secrets_stay_out_of_ledger_logs_and_files(
    openai_emulator: OpenAIEmulator, make_config: ConfigFactory, caplog: pytest.LogCaptureFixture
) -> None:
    key = "sk-tunekit-emulator-" + "s3cr3t" * 4
    config = make_config(openai_emulator, provider_options={"api_key": key})
    caplog.set_level(logging.DEBUG, logger="tunekit")
    tuner = Tuner.from_config(config)
    assert key not in repr(tuner.provider.options) and key not in tuner.config.to_yaml()
    job = tuner.submit()
    assert job.wait(poll_interval=0.01, timeout=30).status == JobStatus.SUCCEEDED
    job.result()

    assert key not in caplog.text
    for path in Path(tunekit_home()).rglob("*"):
        if path.is_file():
            assert key.encode() not in path.read_bytes(), path
    stored = yaml.safe_load(yaml.safe_dump(job.record.config))
    assert stored["provider_options"].get("api_key") in (None, "**********")


def test_ignored_settings_are_warned_once_each(
    openai_emulator: OpenAIEmulator, make_config: ConfigFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing is dropped silently (lora included), and validate + submit do not say it twice."""
    config = make_config(
        openai_emulator,
        hyperparameters={"epochs": 1, "learning_rate": 0.001, "warmup_ratio": 0.05},
        lora={"r": 8, "alpha": 16, "dropout": 0.0},
    )
    caplog.set_level(logging.WARNING, logger="tunekit")
    tuner = Tuner.from_config(config)
    tuner.validate()
    assert tuner.submit().wait(poll_interval=0.01, timeout=30).status == JobStatus.SUCCEEDED

    warned = [r.getMessage() for r in caplog.records if "is ignored on" in r.getMessage()]
    assert sorted(message.split(" is ignored")[0] for message in warned) == [
        "hyperparameters.learning_rate",
        "hyperparameters.warmup_ratio",
        "lora",
    ]
    assert all(" is ignored on OpenAI: " in message for message in warned)


def test_default_lora_section_is_not_warned(
    openai_emulator: OpenAIEmulator, make_config: ConfigFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="tunekit")
    Tuner.from_config(make_config(openai_emulator)).validate()
    assert not [r for r in caplog.records if "is ignored on" in r.getMessage()]
