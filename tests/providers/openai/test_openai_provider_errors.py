"""Refusals become tunekit errors with text a user can act on, and nothing half-done is left behind."""

from __future__ import annotations

import subprocess
import sys

import pytest
from openai_helpers import ConfigFactory

from tunekit import (
    AuthenticationError,
    ConfigError,
    FineTuningUnavailableError,
    InvalidRequestError,
    Ledger,
    Tuner,
)
from tunekit_emulators.openai import OpenAIEmulator


def test_organization_without_fine_tuning_is_told_why_and_what_to_do(
    openai_emulator: OpenAIEmulator, make_config: ConfigFactory
) -> None:
    openai_emulator.deny_fine_tuning()
    with pytest.raises(FineTuningUnavailableError) as caught:
        Tuner.from_config(make_config(openai_emulator)).submit()
    text = str(caught.value)
    assert "2027-01-06" in text
    assert "another provider" in text
    # Every other installed provider is named as somewhere to go, whatever else is installed.
    assert all(name in text for name in ("autotrain", "azure", "local"))
    assert "does not have access to fine-tuning" in text  # the service's own words
    assert openai_emulator.jobs() == []
    [record] = Ledger().runs()
    steps = [(e.kind, e.step) for e in Ledger().events(record.run_id) if e.step == "create_job"]
    assert steps == [("intent", "create_job")]


@pytest.mark.slow
def test_cli_prints_one_clear_line_not_a_traceback(openai_emulator: OpenAIEmulator, make_config: ConfigFactory) -> None:
    openai_emulator.deny_fine_tuning()
    config = make_config(openai_emulator)
    done = subprocess.run(
        [sys.executable, "-m", "tunekit.cli", "submit", str(config), "--yes"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    text = " ".join(done.stderr.split())  # rich wraps long lines
    assert text.startswith("error: [openai] this account may not start fine-tuning jobs")
    assert "2027-01-06" in text and "another provider" in text


def test_rejected_key_is_an_authentication_error_without_the_key(
    openai_emulator: OpenAIEmulator, make_config: ConfigFactory
) -> None:
    config = make_config(openai_emulator)
    openai_emulator.reject_keys(openai_emulator.api_key)
    with pytest.raises(AuthenticationError) as caught:
        Tuner.from_config(config).submit()
    assert "credentials were rejected" in str(caught.value)
    assert openai_emulator.api_key not in str(caught.value)
    assert openai_emulator.jobs() == [] and openai_emulator.files() == []


def test_model_that_cannot_be_tuned(openai_emulator: OpenAIEmulator, make_config: ConfigFactory) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        Tuner.from_config(make_config(openai_emulator, model="gpt-3.5-turbo-instruct")).submit()
    error = caught.value
    assert error.param == "model" and error.status_code == 400
    assert "gpt-3.5-turbo-instruct is not available for fine-tuning" in str(error)
    assert "gpt-4.1-mini-2025-04-14" in str(error)  # what to pick instead
    assert openai_emulator.jobs() == []


def test_config_problems_are_reported_before_any_upload(
    openai_emulator: OpenAIEmulator, make_config: ConfigFactory
) -> None:
    config = make_config(openai_emulator, hyperparameters={"beta": 0.1}, suffix="x" * 70)
    with pytest.raises(ConfigError) as caught:
        Tuner.from_config(config).submit()
    assert "hyperparameters.beta: beta only applies to method dpo" in str(caught.value)
    assert "suffix: openai allows at most 64 characters" in str(caught.value)
    assert [r.method for r in openai_emulator.requests if r.method != "GET"] == []  # nothing uploaded or created


def test_no_api_key_anywhere(openai_emulator: OpenAIEmulator, make_config: ConfigFactory, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    config = make_config(openai_emulator)
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        Tuner.from_config(config).submit()
    assert openai_emulator.requests == []
