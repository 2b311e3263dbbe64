"""A config's training rewards are reported by every evaluation of it, after the metrics it lists.

Against the OpenAI emulator: it trains ``method: rft`` on o4-mini, and its base
models echo the question.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from tunekit.cli.app import app
from tunekit.config import config_hash, load_config
from tunekit.evaluate import EvalReport
from tunekit.runkey import run_key
from tunekit.tuner import Tuner
from tunekit_emulators import OpenAIEmulator
from tunekit_emulators.conformance.data import write_jsonl

RFT_MODEL = "o4-mini-2025-04-16"

MYMOD = '''
def score(prediction, reference):
    """1 when the answer names the reference's city."""
    return float(reference.split()[-1].rstrip(".") in prediction)
'''


def conversation(i: int, **fields: Any) -> dict[str, Any]:
    return {
        "messages": [
            {"role": "user", "content": f"What is the capital of country {i}?"},
            {"role": "assistant", "content": f"The capital of country {i} is City{i}."},
        ],
        **fields,
    }


def write_config(folder: Path, emulator: OpenAIEmulator, reward: list[str], eval_rows: list[dict[str, Any]]) -> Path:
    config = {
        "name": "capitals",
        "provider": "openai",
        "model": RFT_MODEL,
        "method": "rft",
        "reward": reward,
        "hyperparameters": {"epochs": 1},
        "data": {
            "train": str(write_jsonl(folder / "train.jsonl", [conversation(i) for i in range(12)])),
            "validation": str(write_jsonl(folder / "valid.jsonl", [conversation(i) for i in range(100, 104)])),
        },
        "eval": {
            "data": str(write_jsonl(folder / "eval.jsonl", eval_rows)),
            "metrics": ["exact_match"],
            "baselines": ["zero-shot"],
        },
        "provider_options": {"base_url": emulator.base_url, "poll_interval": 0.02, "file_poll_interval": 0.01},
    }
    path = folder / "tune.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.fixture
def config_path(tmp_path: Path, openai_emulator: OpenAIEmulator, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OPENAI_API_KEY", openai_emulator.api_key)
    (tmp_path / "mymod.py").write_text(MYMOD, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    return write_config(tmp_path, openai_emulator, ["token_f1", "mymod:score"], [conversation(i) for i in range(4)])


def eval_json(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["eval", *args, "--json", "--yes"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)  # warnings go to stderr
    return data


def test_every_evaluation_reports_the_rewards_after_the_listed_metrics(config_path: Path) -> None:
    before = load_config(config_path)
    key, digest = run_key(before), config_hash(before)

    # Before training: the baseline ladder of `tunekit eval CONFIG`.
    ladder = eval_json(str(config_path))
    assert ladder["metrics"] == ["exact_match", "token_f1", "score"]
    assert ladder["rewards"] == ["token_f1", "score"]
    assert ladder["comparison"] is None or ladder["comparison"]["metric"] == "exact_match"
    (zero,) = ladder["candidates"]
    assert zero["name"] == "base zero-shot"
    # The echoed question shares words with the answer but never names its city.
    assert 0 < zero["scores"]["token_f1"] < 100 and zero["scores"]["score"] == 0.0

    # After training: the run's own evaluation (what `tunekit run` calls), and `tunekit eval RUN`.
    from tunekit.evaluate import evaluate_run

    tuner = Tuner.from_config(config_path)
    job = tuner.submit()
    job.wait(poll_interval=0.02, timeout=60)
    report = evaluate_run(tuner, job)
    assert report.metrics == ["exact_match", "token_f1", "score"] and report.primary_metric == "exact_match"
    tuned = report.candidate("tuned")
    assert tuned is not None and all(tuned.scored(metric) for metric in report.metrics)
    assert "exact_match" in report.verdict and "Training rewards (reward:): token_f1, score." in report.to_text()
    assert "Training rewards (reward:): token_f1, score." in Path(report.paths["markdown"]).read_text("utf-8")
    assert "Training rewards (reward:): token_f1, score." in Path(report.paths["html"]).read_text("utf-8")
    saved = EvalReport.load(Path(report.paths["json"]).parent)
    assert saved.rewards == ["token_f1", "score"]
    by_run = eval_json(job.run_id)
    assert by_run["metrics"] == ["exact_match", "token_f1", "score"]
    assert by_run["comparison"]["metric"] == "exact_match"

    # Nothing was written into the config: the same job, found again by its unchanged key.
    after = Tuner.from_config(config_path)
    assert after.config.eval is not None and after.config.eval.metrics == ["exact_match"]
    assert run_key(after.config) == key and config_hash(after.config) == digest
    assert tuner.config.eval is not None and tuner.config.eval.metrics == ["exact_match"]
    assert run_key(tuner.config) == key and config_hash(tuner.config) == digest
    existing = after.existing_run()
    assert existing is not None and existing.run_id == job.run_id


def test_a_listed_reward_keeps_its_place_and_one_the_held_out_data_cannot_feed_is_left_out(
    tmp_path: Path, openai_emulator: OpenAIEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", openai_emulator.api_key)
    (tmp_path / "rewards.py").write_text(
        "def in_allowed(prediction, reference, allowed):\n    return float(prediction in allowed)\n", encoding="utf-8"
    )
    path = write_config(
        tmp_path, openai_emulator, ["rewards.py:in_allowed", "exact_match"], [conversation(i) for i in range(3)]
    )
    data = eval_json(str(path))
    # exact_match is listed already (and stays first); in_allowed needs a field eval.jsonl does not carry.
    assert data["metrics"] == ["exact_match"] and data["rewards"] == ["exact_match"]
    first = tmp_path / "eval.jsonl"
    assert data["rewards_left_out"] == [
        f"reward in_allowed: needs the column 'allowed', which 3 of 3 examples lack (first: {first}:1)"
    ]
