"""Hosted reinforcement fine-tuning tries its rewards on the base model's samples before anything is uploaded.

Against the OpenAI emulator over HTTP: asked at temperature 1, its base models sample among a few
variants of their echo, so a reward that reads the answer varies and a constant one does not.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from openai_helpers import ConfigFactory
from typer.testing import CliRunner

from tunekit import Ledger
from tunekit.cli.app import app
from tunekit.errors import ConfigError
from tunekit_emulators.conformance.data import write_jsonl
from tunekit_emulators.openai import OpenAIEmulator

RFT_MODEL = "o4-mini-2025-04-16"
runner = CliRunner()

REWARDS = '''
def constant(prediction, reference):
    """The same score whatever the answer: nothing for GRPO to learn."""
    return 0.5


def wordy(prediction, reference):
    """More words, more reward: differs between samples of one prompt."""
    return min(1.0, len(prediction.split()) / 20)


def broken(prediction, reference):
    return 1 / 0
'''


def rows(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "messages": [
                {"role": "user", "content": f"Name the capital of country {i}."},
                {"role": "assistant", "content": f"City{i}"},
            ]
        }
        for i in range(start, start + n)
    ]


def rft_config(make_config: ConfigFactory, emu: OpenAIEmulator, reward: list[str]) -> Path:
    config = make_config(emu, method="rft", reward=reward, model=RFT_MODEL, hyperparameters={"epochs": 1})
    write_jsonl(config.parent / "train.jsonl", rows(12))
    write_jsonl(config.parent / "valid.jsonl", rows(2, start=100))
    (config.parent / "rewards.py").write_text(REWARDS, encoding="utf-8")
    return config


def submit(config: Path, *extra: str) -> Any:
    return runner.invoke(app, ["submit", str(config), "--yes", *extra])


def test_a_constant_reward_is_refused_before_any_upload(
    openai_emulator: OpenAIEmulator, make_config: ConfigFactory
) -> None:
    config = rft_config(make_config, openai_emulator, ["rewards.py:constant"])
    result = submit(config)
    assert isinstance(result.exception, ConfigError)  # `tunekit` prints it and exits 2
    said = " ".join(result.output.split())
    assert "16 requests to o4-mini-2025-04-16 (4 training prompts x 4 samples" in said  # said before they are sent
    assert "reward constant: gave 0.5 to every completion of each of 4 prompts" in " ".join(
        str(result.exception).split()
    )
    assert openai_emulator.files() == [] and openai_emulator.jobs() == []
    assert Ledger().runs() == []


def test_a_reward_that_raises_is_refused_naming_it(openai_emulator: OpenAIEmulator, make_config: ConfigFactory) -> None:
    config = rft_config(make_config, openai_emulator, ["rewards.py:wordy", "rewards.py:broken"])
    result = submit(config)
    assert isinstance(result.exception, ConfigError)
    assert "reward broken raised ZeroDivisionError" in str(result.exception)
    assert openai_emulator.files() == [] and openai_emulator.jobs() == []


def test_a_varying_reward_passes_and_its_spread_is_recorded(
    openai_emulator: OpenAIEmulator, make_config: ConfigFactory
) -> None:
    config = rft_config(make_config, openai_emulator, ["rewards.py:wordy"])
    result = submit(config, "--json")
    assert result.exit_code == 0, result.output
    assert "wordy" in result.stderr and "varies on 4 of 4 prompts" in " ".join(result.stderr.split())
    run_id = json.loads(result.stdout)["run_id"]
    assert len(openai_emulator.jobs()) == 1
    [event] = [e for e in Ledger().events(run_id) if e.step == "reward-check"]
    [spread] = event.data["rewards"]
    assert spread["name"] == "wordy" and spread["prompts_with_spread"] == 4 and spread["samples"] == 16


@pytest.mark.parametrize("command", ["submit", "run"])
def test_skip_reward_check_trains_without_sampling(
    openai_emulator: OpenAIEmulator, make_config: ConfigFactory, command: str
) -> None:
    config = rft_config(make_config, openai_emulator, ["rewards.py:constant"])
    args = [command, str(config), "--yes", "--skip-reward-check"]
    if command == "run":
        args += ["--timeout", "0.01"]
    result = runner.invoke(app, args)
    assert "checking the rewards" not in result.output
    assert len(openai_emulator.jobs()) == 1, result.output


def test_the_reward_checks_requests_wait_for_the_answer(
    openai_emulator: OpenAIEmulator, make_config: ConfigFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The samples bill as inference: said with their price in the question, sent only once it is answered yes."""
    config = rft_config(make_config, openai_emulator, ["rewards.py:wordy"])
    monkeypatch.setattr("tunekit.cli.spend.can_ask", lambda: True)  # as at a terminal: the answer comes from stdin
    declined = runner.invoke(app, ["submit", str(config)], input="n\n")
    said = " ".join(declined.output.split())
    assert declined.exit_code == 1, said
    assert "16 requests to o4-mini-2025-04-16" in said and "Check the rewards, then start a openai job" in said
    assert openai_emulator.request_count("POST", "/v1/chat/completions") == 0
    assert openai_emulator.files() == [] and openai_emulator.jobs() == [] and Ledger().runs() == []

    agreed = runner.invoke(app, ["submit", str(config)], input="y\n")
    assert agreed.exit_code == 0, agreed.output
    assert openai_emulator.request_count("POST", "/v1/chat/completions") == 16 and len(openai_emulator.jobs()) == 1
