"""An evaluation whose models cannot be reached fails loudly: never a tie, never exit 0, never after paid training.

Real HTTP throughout: the live candidate is the OpenAI emulator, the dead one a
loopback port nothing listens on.
"""

from __future__ import annotations

import json
import logging
import shutil
import socket
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from tunekit.cli.app import app
from tunekit.evaluate import Candidate, evaluate
from tunekit.inference import OpenAIChatClient
from tunekit.retry import RetryPolicy
from tunekit_emulators import OpenAIEmulator

RECIPES = Path(__file__).resolve().parents[2] / "examples" / "recipes"
MODEL = "gpt-4o-mini-2024-07-18"
FAST = RetryPolicy(max_attempts=2, initial_wait=0.01, max_wait=0.02)
runner = CliRunner()


def _dead_url() -> str:
    """A loopback URL that refuses connections (a port bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def _items(n: int) -> list[dict[str, Any]]:
    return [
        {"messages": [{"role": "user", "content": f"Q{i}"}, {"role": "assistant", "content": f"Q{i}"}]}
        for i in range(n)
    ]


def test_a_candidate_that_answers_nothing_fails_the_evaluation(
    openai_emulator: OpenAIEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    dead_url = _dead_url()
    live = OpenAIChatClient(MODEL, base_url=openai_emulator.base_url, api_key=openai_emulator.api_key)
    dead = OpenAIChatClient(MODEL, base_url=dead_url, api_key="sk-test", retry=FAST)
    with caplog.at_level(logging.WARNING, logger="tunekit"):
        report = evaluate(
            [Candidate("base zero-shot", live, "zero-shot"), Candidate("tuned", dead, "tuned")],
            _items(40),
            ["exact_match"],
            concurrency=2,
        )
    # Not a tie, not "did not beat": the evaluation failed, and says which candidate at which URL.
    assert [c.name for c in report.failed] == ["tuned"]
    assert report.verdict.startswith("Evaluation failed: tuned")
    assert "tied" not in report.verdict and report.to_dict()["status"] == "failed"
    # The dead service was given up on after a few requests in a row, not retried for all 40.
    tuned = report.candidate("tuned")
    assert tuned is not None and tuned.errors == 40
    sent = sum(1 for r in tuned.items if r.attempts > 0)
    assert 5 <= sent <= 6, sent  # five in a row, plus the one already in flight
    # One warning line for the failing candidate, naming the URL; none per request.
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "tuned" in warnings[0] and dead_url in warnings[0] and "\n" not in warnings[0]
    live.close()
    dead.close()


@pytest.fixture
def recipe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "recipes"
    shutil.copytree(RECIPES / "data", folder / "data")
    shutil.copy(RECIPES / "openai.yaml", folder / "openai.yaml")
    return folder / "openai.yaml"


def test_eval_exits_1_when_a_candidate_answered_nothing(recipe: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dead_url = _dead_url()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", dead_url)
    result = runner.invoke(app, ["eval", str(recipe), "-n", "1", "-k", "0", "--json", "--yes"], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout[result.stdout.index("{") :])
    assert report["status"] == "failed" and report["verdict"].startswith("Evaluation failed")


def test_run_refuses_to_train_when_the_evaluation_cannot_reach_the_base_model(
    hub_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The AutoTrain recipe without its deploy section or an inference URL: refused before any upload, naming the
    setting (nothing would serve the models the evaluation asks)."""
    monkeypatch.setenv("HF_TOKEN", hub_emulator.token)
    monkeypatch.setenv("HF_ENDPOINT", hub_emulator.endpoint)
    config = yaml.safe_load((RECIPES / "autotrain.yaml").read_text())
    del config["deploy"]
    config["data"] = {"train": str(RECIPES / "data/train.jsonl"), "validation": str(RECIPES / "data/valid.jsonl")}
    config["eval"]["data"] = str(RECIPES / "data/eval.jsonl")
    path = tmp_path / "autotrain.yaml"
    path.write_text(yaml.safe_dump(config))

    result = runner.invoke(app, ["run", str(path), "--yes", "--poll-interval", "0"], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    out = " ".join(result.output.split())
    assert "cannot reach" in out and "base zero-shot" in out and "base few-shot" in out
    assert "provider_options.inference_url (not set)" in out
    assert "nothing was uploaded or spent" in out
    assert hub_emulator.jobs() == [] and hub_emulator.repos() == []


def test_run_trains_when_the_evaluation_answers(
    hub_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same recipe with the emulator's inference URL instead of a deployment passes the probe (one request per
    baseline)."""
    monkeypatch.setenv("HF_TOKEN", hub_emulator.token)
    monkeypatch.setenv("HF_ENDPOINT", hub_emulator.endpoint)
    config = yaml.safe_load((RECIPES / "autotrain.yaml").read_text())
    del config["deploy"]
    config["provider_options"]["inference_url"] = hub_emulator.inference_url("{model}")
    config["data"] = {"train": str(RECIPES / "data/train.jsonl"), "validation": str(RECIPES / "data/valid.jsonl")}
    config["eval"]["data"] = str(RECIPES / "data/eval.jsonl")
    config["eval"]["max_examples"] = 4
    path = tmp_path / "autotrain.yaml"
    path.write_text(yaml.safe_dump(config))

    result = runner.invoke(app, ["run", str(path), "--yes", "--poll-interval", "0"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert len(hub_emulator.jobs()) == 1
    assert "Evaluation failed" not in result.output
