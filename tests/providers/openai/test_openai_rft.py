"""Reinforcement fine-tuning from reward functions: the job's grader is made from the metrics `tunekit eval` uses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openai
import pytest
import yaml
from openai_helpers import ConfigFactory

from tunekit import JobStatus, Tuner
from tunekit.errors import ConfigError
from tunekit.evaluate.metrics import resolve_metrics
from tunekit_emulators.conformance.data import write_jsonl
from tunekit_emulators.openai import OpenAIEmulator

RFT_MODEL = "o4-mini-2025-04-16"
SAME_GRADER = {
    "type": "string_check",
    "name": "same",
    "input": "{{sample.output_text}}",
    "reference": "x",
    "operation": "eq",
}

REWARDS = '''
import json


def in_allowed(prediction, reference, allowed):
    """Every listed ingredient is one the example allows."""
    try:
        names = json.loads(prediction)
    except ValueError:
        return 0.0
    return float(isinstance(names, list) and all(name in allowed for name in names))
'''


def recipe_rows(n: int) -> list[dict[str, Any]]:
    return [
        {
            "messages": [
                {"role": "user", "content": f"List the ingredients of dish {i} as JSON."},
                {"role": "assistant", "content": json.dumps(["salt", f"herb{i}"])},
            ],
            "allowed": ["salt", f"herb{i}", "oil"],
        }
        for i in range(n)
    ]


def rft_config(make_config: ConfigFactory, emu: OpenAIEmulator, tmp_path: Path, reward: list[str], **kw: Any) -> Path:
    config = make_config(emu, method="rft", reward=reward, model=RFT_MODEL, hyperparameters={"epochs": 1}, **kw)
    write_jsonl(config.parent / "train.jsonl", recipe_rows(12))
    write_jsonl(config.parent / "valid.jsonl", recipe_rows(4))
    (config.parent / "rewards.py").write_text(REWARDS, encoding="utf-8")
    return config


def grade_with(grader: dict[str, Any], sample: dict[str, Any], item: dict[str, Any]) -> float:
    """Run a python grader as the service does: its source alone, then ``grade(sample, item)``."""
    namespace: dict[str, Any] = {}
    exec(compile(grader["source"], "<grader>", "exec"), namespace)
    return float(namespace["grade"](sample, item))


def test_an_rft_job_carries_the_grader_made_from_the_metrics(
    openai_emulator: OpenAIEmulator, make_config: ConfigFactory, tmp_path: Path
) -> None:
    config = rft_config(make_config, openai_emulator, tmp_path, ["json_valid", "rewards.py:in_allowed"])
    job = Tuner.from_config(config).submit()
    assert job.wait(poll_interval=0.01, timeout=30).status == JobStatus.SUCCEEDED

    [remote] = openai_emulator.jobs()
    assert remote["method"]["type"] == "reinforcement"
    grader = remote["method"]["reinforcement"]["grader"]
    assert grader["type"] == "python" and grader["name"] == "tunekit rewards"

    # The uploaded rows hold what the grader reads: the prompt, the reference answer, the other fields.
    rows = [json.loads(line) for line in openai_emulator.file_content(remote["training_file"]).splitlines()]
    assert rows[3] == {
        "messages": [{"role": "user", "content": "List the ingredients of dish 3 as JSON."}],
        "reference": '["salt", "herb3"]',
        "allowed": ["salt", "herb3", "oil"],
    }
    # The grader, run alone, scores as the evaluation's metrics do: the mean of the rewards.
    metrics = resolve_metrics(["json_valid", f"{config.parent / 'rewards.py'}:in_allowed"])
    for output in ('["salt", "oil"]', '["sugar"]', "not json"):
        expected = sum(m.score(output, rows[3]["reference"], {"allowed": rows[3]["allowed"]}) for m in metrics) / 2
        assert grade_with(grader, {"output_text": output}, rows[3]) == pytest.approx(expected)
    assert grade_with(grader, {"output_text": '["salt", "oil"]'}, rows[3]) == 1.0
    assert grade_with(grader, {"output_text": '["sugar"]'}, rows[3]) == 0.5


def test_exact_match_becomes_the_services_string_check(
    openai_emulator: OpenAIEmulator, make_config: ConfigFactory, tmp_path: Path
) -> None:
    config = rft_config(make_config, openai_emulator, tmp_path, ["exact_match"])
    job = Tuner.from_config(config).submit()
    assert job.wait(poll_interval=0.01, timeout=30).status == JobStatus.SUCCEEDED
    [remote] = openai_emulator.jobs()
    assert remote["method"]["reinforcement"]["grader"] == {
        "type": "string_check",
        "name": "exact_match",
        "input": "{{sample.output_text}}",
        "reference": "{{item.reference}}",
        "operation": "eq",
    }


def test_a_reward_the_service_cannot_run_is_refused_before_upload(
    openai_emulator: OpenAIEmulator, make_config: ConfigFactory, tmp_path: Path
) -> None:
    config = rft_config(make_config, openai_emulator, tmp_path, ["rewards.py:in_allowed"])
    (config.parent / "rewards.py").write_text(
        "import yaml\n\n\ndef in_allowed(prediction, reference, allowed):\n    return 1.0\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"reward in_allowed: its module imports yaml; a hosted grader runs"):
        Tuner.from_config(config).submit()
    assert openai_emulator.files() == [] and openai_emulator.jobs() == []


def test_a_reward_needing_a_missing_column_is_refused_before_upload(
    openai_emulator: OpenAIEmulator, make_config: ConfigFactory, tmp_path: Path
) -> None:
    config = rft_config(make_config, openai_emulator, tmp_path, ["rewards.py:in_allowed"])
    rows = recipe_rows(12)
    del rows[5]["allowed"]
    write_jsonl(config.parent / "train.jsonl", rows)
    with pytest.raises(ConfigError, match=r"needs the column 'allowed', which 1 of 12 examples lack \(first: .*:6\)"):
        Tuner.from_config(config).submit()
    assert openai_emulator.files() == [] and openai_emulator.jobs() == []


@pytest.mark.parametrize("model", ["gpt-4o-mini-2024-07-18", "gpt-4.1-2025-04-14"])
def test_rft_on_a_model_the_service_does_not_train_that_way_is_refused_before_upload(
    openai_emulator: OpenAIEmulator, make_config: ConfigFactory, tmp_path: Path, model: str
) -> None:
    config = rft_config(make_config, openai_emulator, tmp_path, ["exact_match"])
    spec = yaml.safe_load(config.read_text(encoding="utf-8"))
    config.write_text(yaml.safe_dump({**spec, "model": model}), encoding="utf-8")
    expected = rf"model: openai trains rft \(reinforcement fine-tuning\) only on o4-mini, not '{model}'"
    with pytest.raises(ConfigError, match=expected):
        Tuner.from_config(config).submit()
    assert openai_emulator.files() == [] and openai_emulator.jobs() == []


def test_a_grader_on_a_model_without_reinforcement_is_refused_before_upload(
    openai_emulator: OpenAIEmulator, make_config: ConfigFactory
) -> None:
    grader = SAME_GRADER
    config = make_config(openai_emulator, provider_options={"grader": grader})  # method sft, gpt-4o-mini
    with pytest.raises(
        ConfigError, match=r"provider_options.grader: a grader makes a reinforcement job; openai trains"
    ):
        Tuner.from_config(config).submit()
    assert openai_emulator.files() == [] and openai_emulator.jobs() == []


def test_the_emulator_refuses_reinforcement_where_the_service_does(openai_emulator: OpenAIEmulator) -> None:
    client = openai.OpenAI(api_key=openai_emulator.api_key, base_url=openai_emulator.base_url, max_retries=0)
    grader = SAME_GRADER
    with pytest.raises(openai.BadRequestError) as info:
        client.fine_tuning.jobs.create(
            model="gpt-4.1-mini-2025-04-14",
            training_file="file-none",
            method={"type": "reinforcement", "reinforcement": {"grader": grader}},  # type: ignore[typeddict-item]
        )
    error = info.value.body
    assert isinstance(error, dict)
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", "method.type", "invalid_value")
    assert "gpt-4.1-mini-2025-04-14 does not support reinforcement fine-tuning" in error["message"]
    assert "o4-mini-2025-04-16" in error["message"]  # the models that can
    assert openai_emulator.jobs() == []
