"""Evaluation end to end against the OpenAI emulator: tune with the OpenAI provider, then compare.

The emulator's tuned models replay the replies they were trained on and its
base models echo the question's first line, so on questions from the
training data the tuned model must win, and the report must say so with the
right numbers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from tunekit.cli.app import app
from tunekit.evaluate import Candidate, Price, evaluate, evaluate_run, few_shot_turns
from tunekit.inference import OpenAIChatClient
from tunekit.tuner import Tuner
from tunekit_emulators import Fault, OpenAIEmulator
from tunekit_emulators.conformance.data import write_jsonl

BASE = "gpt-4o-mini-2024-07-18"
SYSTEM = "You name capitals."


def conversation(i: int) -> dict[str, Any]:
    return {
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"What is the capital of country {i}?"},
            {"role": "assistant", "content": f"The capital of country {i} is City{i}."},
        ]
    }


@pytest.fixture
def config_path(tmp_path: Path, openai_emulator: OpenAIEmulator, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OPENAI_API_KEY", openai_emulator.api_key)
    config = {
        "name": "capitals",
        "provider": "openai",
        "model": BASE,
        "data": {
            "train": str(write_jsonl(tmp_path / "train.jsonl", [conversation(i) for i in range(12)])),
            "validation": str(write_jsonl(tmp_path / "valid.jsonl", [conversation(i) for i in range(100, 104)])),
        },
        "eval": {
            # Questions the tuned model was trained on: the emulator's model memorizes, it does not generalize.
            "data": str(write_jsonl(tmp_path / "eval.jsonl", [conversation(i) for i in range(8)])),
            "metrics": ["exact_match", "token_f1"],
            "few_shot": 2,
            "models": ["gpt-4.1-mini"],
            "traffic": {"requests_per_day": 5000},
        },
        "provider_options": {"base_url": openai_emulator.base_url, "poll_interval": 0.02, "file_poll_interval": 0.01},
    }
    path = tmp_path / "tune.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_tuned_model_beats_the_baselines_through_the_whole_path(
    config_path: Path, openai_emulator: OpenAIEmulator
) -> None:
    tuner = Tuner.from_config(config_path)
    job = tuner.submit()
    job.wait(poll_interval=0.02, timeout=60)
    model = job.result()
    # Chat requests are refused with a 429 at random (seeded, 30%): the numbers must not change.
    openai_emulator.inject("POST /v1/chat/completions", Fault.status(429, retry_after=0.01), probability=0.3)

    report = evaluate_run(tuner, job, model)

    names = [c.name for c in report.candidates]
    assert names == ["base zero-shot", "base few-shot (k=2)", "tuned", "gpt-4.1-mini"]
    zero, few, tuned, other = report.candidates
    assert tuned.model == model.model_id and tuned.model.startswith("ft:")
    assert tuned.score("exact_match") == 100.0
    assert zero.score("exact_match") == few.score("exact_match") == other.score("exact_match") == 0.0
    assert 0 < zero.score("token_f1") < 100  # the echoed question shares words with the answer
    assert all(c.errors == 0 for c in report.candidates)
    assert sum(c.retries for c in report.candidates) > 0
    # Few-shot pays for its examples in every prompt; the tuned model does not.
    assert few.prompt_tokens is not None and zero.prompt_tokens is not None and tuned.prompt_tokens is not None
    assert few.prompt_tokens > 2 * zero.prompt_tokens
    assert tuned.prompt_tokens == zero.prompt_tokens
    ratio = round(100 * tuned.prompt_tokens / few.prompt_tokens)
    assert report.verdict.startswith(
        f"The tuned model beat base few-shot (k=2) by 100.0 points (100.0 vs 0.0 exact_match) at {ratio}% of its prompt"
    )
    # Priced from the data layer's table, the fine-tuned model at its own (higher) rate.
    assert zero.price == few.price == Price(0.15, 0.60)
    assert tuned.price == Price(0.30, 1.20)
    assert tuned.cost_per_1k == pytest.approx(
        (tuned.prompt_tokens * 0.30 + (tuned.completion_tokens or 0) * 1.20) / 1000
    )
    assert f"{round(100 * tuned.cost_per_1k / few.cost_per_1k)}% of its cost per 1,000 requests" in report.verdict
    assert tuned.latency_p50 is not None and tuned.latency_p95 is not None
    assert tuned.latency_p50 <= tuned.latency_p95

    folder = job.record.run_dir / "eval" / "latest"
    assert Path(report.paths["markdown"]).parent.resolve() == folder.resolve()
    for name in ("report.md", "report.html", "report.json", "predictions.jsonl", "metrics.png"):
        assert (folder / name).is_file(), name
    assert report.verdict in (folder / "report.md").read_text(encoding="utf-8")
    # The loss curve comes from the metrics events the job reported while training.
    assert job.metrics()

    # The break-even uses what the service reports it trained, at the table's $3.00 per 1M training tokens.
    trained = model.metadata["trained_tokens"]
    assert isinstance(trained, int) and trained > 0
    assert report.economics is not None and report.economics.training_source == "reported"
    assert report.economics.training_cost == pytest.approx(trained * 3.00 / 1_000_000)
    assert report.economics.hosting_per_hour == 0 and report.economics.requests_per_day == 5000
    decision = report.decision()
    assert decision is not None and decision.fine_tune and decision.break_even is not None
    # No baseline comes near the tuned model: the break-even is against the best one, which it beats on quality.
    assert not decision.break_even.baseline_matches_quality
    assert "Fine-tune: the tuned model scores best on exact_match (100.0)" in report.verdict, report.verdict
    assert (folder / "loss.png").is_file()
    # One loss plot: the report shows the curve the provider drew for the run, not a second drawing.
    assert (folder / "loss.png").read_bytes() == (job.record.run_dir / "loss_curve.png").read_bytes()
    assert report.loss and "train_loss" in report.loss[0]


def test_few_shot_prompts_carry_the_examples_after_the_system_message(openai_emulator: OpenAIEmulator) -> None:
    train = [conversation(i) for i in range(20, 30)]
    shots = few_shot_turns(train, 3, seed=7)
    assert [m["role"] for m in shots] == ["user", "assistant"] * 3
    assert shots == few_shot_turns(train, 3, seed=7)
    client = OpenAIChatClient(BASE, base_url=openai_emulator.base_url, api_key=openai_emulator.api_key)
    candidate = Candidate("few", client, "few-shot", shots=shots)
    rendered = candidate.render(conversation(1)["messages"][:2])
    assert rendered[0] == {"role": "system", "content": SYSTEM}
    assert rendered[1:7] == shots
    assert rendered[7]["content"] == "What is the capital of country 1?"
    report = evaluate([candidate], [conversation(1)], ["exact_match"])
    assert report.candidates[0].items[0].prediction == "What is the capital of country 1?"
    assert report.verdict.startswith("Few scored 0.0 exact_match points")


def test_cli_eval_by_run_and_by_config_and_chat(config_path: Path, openai_emulator: OpenAIEmulator) -> None:
    runner = CliRunner()
    tuner = Tuner.from_config(config_path)
    job = tuner.submit()
    job.wait(poll_interval=0.02, timeout=60)
    job.result()

    by_run = runner.invoke(app, ["eval", job.run_id, "--metric", "exact_match", "-k", "1", "--json", "--yes"])
    assert by_run.exit_code == 0, by_run.output
    data = json.loads(by_run.output)
    assert [c["name"] for c in data["candidates"]][:3] == ["base zero-shot", "base few-shot (k=1)", "tuned"]
    assert data["comparison"]["difference_points"] == pytest.approx(100.0)
    assert Path(data["paths"]["html"]).is_file()

    out = config_path.parent / "report"
    by_config = runner.invoke(app, ["eval", str(config_path), "--max-examples", "3", "--out", str(out), "-y"])
    assert by_config.exit_code == 0, by_config.output
    assert "The tuned model beat base few-shot (k=2) by 100.0 points" in " ".join(by_config.output.split())
    assert (out / "report.md").is_file() and (out / "metrics.png").is_file()

    one = runner.invoke(app, ["chat", job.run_id, "--message", "What is the capital of country 3?"])
    assert one.exit_code == 0, one.output
    assert "The capital of country 3 is City3." in one.output
    session = runner.invoke(
        app, ["chat", job.run_id], input="What is the capital of country 5?\n/reset\nhello base\n/exit\n"
    )
    assert session.exit_code == 0, session.output
    assert "City5" in session.output and "history cleared" in session.output and "hello base" in session.output


def test_cli_eval_of_a_config_without_a_run_compares_the_baselines(config_path: Path) -> None:
    result = CliRunner().invoke(app, ["eval", str(config_path), "--json", "--yes"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [c["name"] for c in data["candidates"]] == ["base zero-shot", "base few-shot (k=2)", "gpt-4.1-mini"]


def test_cli_eval_errors_are_clear(tmp_path: Path) -> None:
    runner = CliRunner()
    missing_run = runner.invoke(app, ["eval", "no-such-run"])
    assert missing_run.exit_code != 0
    missing_file = runner.invoke(app, ["eval", str(tmp_path / "nope.yaml")])
    assert missing_file.exit_code == 2
    assert "no such config file" in missing_file.output


def test_failed_requests_are_counted_not_fatal(openai_emulator: OpenAIEmulator) -> None:
    client = OpenAIChatClient(BASE, base_url=openai_emulator.base_url, api_key=openai_emulator.api_key)
    candidates = [
        Candidate("default sampling", client, "zero-shot", params={"temperature": None}),
        Candidate("hot", client, "model", params={"temperature": 5}),  # the API refuses temperatures above 2
    ]
    report = evaluate(candidates, [conversation(i) for i in range(4)], ["token_f1"])
    fine, hot = report.candidates
    assert fine.errors == 0 and fine.score("token_f1") > 0
    assert hot.errors == 4 and hot.score("token_f1") == 0.0
    assert all("temperature" in (r.error or "") for r in hot.items)
    # A candidate that answered nothing was not evaluated: the verdict says so, with the service's reason.
    assert report.verdict.startswith("Evaluation failed: hot") and "temperature" in report.verdict
    assert [c.name for c in report.failed] == ["hot"]


def test_config_asks_for_the_retrieval_baseline(config_path: Path, openai_emulator: OpenAIEmulator) -> None:
    from tunekit.evaluate import evaluate_config

    tuner = Tuner.from_config(config_path)
    assert tuner.config.eval is not None
    tuner.config.eval.baselines = ["zero-shot", "retrieval"]
    tuner.config.eval.models = []
    sent = openai_emulator.request_count("POST", "/v1/chat/completions")
    report = evaluate_config(tuner.config, tuner.provider)
    assert [c.name for c in report.candidates] == ["base zero-shot", "base retrieval (k=2)"]
    assert openai_emulator.request_count("POST", "/v1/chat/completions") == sent + 2 * 8
    # The eight held-out questions are also training examples: none of them is offered as its own shot.
    retrieval = report.candidate("retrieval")
    assert retrieval is not None and retrieval.notes == {"k": 2, "excluded_duplicates": 8}
