"""The baseline ladder before training: models of any installed provider, and asking before requests that bill.

The OpenAI emulator stands in for the paid service; its request log shows
what was sent, and that nothing was sent when the user did not agree.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from tunekit.cli.app import app
from tunekit.errors import ConfigError
from tunekit.evaluate import Price, evaluate_baselines
from tunekit.evaluate.candidates import split_model
from tunekit.tuner import Tuner
from tunekit_emulators import OpenAIEmulator
from tunekit_emulators.conformance.data import write_jsonl

BASE = "gpt-4o-mini-2024-07-18"


def conversation(i: int) -> dict[str, Any]:
    return {
        "messages": [
            {"role": "user", "content": f"What is the capital of country {i}?"},
            {"role": "assistant", "content": f"City{i}"},
        ]
    }


def write_config(folder: Path, **fields: Any) -> Path:
    config = {
        "provider": "openai",
        "model": BASE,
        "data": {"train": str(write_jsonl(folder / "train.jsonl", [conversation(i) for i in range(10)]))},
        "eval": {"data": str(write_jsonl(folder / "eval.jsonl", [conversation(i) for i in range(100, 105)]))},
        **fields,
    }
    path = folder / "tune.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.fixture
def openai_env(openai_emulator: OpenAIEmulator, monkeypatch: pytest.MonkeyPatch) -> OpenAIEmulator:
    monkeypatch.setenv("OPENAI_API_KEY", openai_emulator.api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", openai_emulator.base_url)
    return openai_emulator


def chat_models(emulator: OpenAIEmulator) -> list[str]:
    return [r.json()["model"] for r in emulator.requests if r.path == "/v1/chat/completions"]


def test_eval_of_a_config_asks_before_requests_that_bill(tmp_path: Path, openai_env: OpenAIEmulator) -> None:
    config = write_config(tmp_path)
    runner = CliRunner()

    refused = runner.invoke(app, ["eval", str(config)])
    assert refused.exit_code == 2, refused.output
    said = " ".join(refused.output.split())
    # Two baselines (zero-shot, few-shot k=3) on five examples; the bound uses the price table's rate.
    assert "this evaluation sends 10 requests that bill (at most $" in said
    assert f"base zero-shot ({BASE}), base few-shot (k=3) ({BASE})" in said
    assert "pass --yes" in said
    assert chat_models(openai_env) == []
    assert not (tmp_path / "home" / "evals").exists() or not any((tmp_path / "home" / "evals").iterdir())

    declined = runner.invoke(app, ["eval", str(config)], input="n\n")  # CliRunner's stdin is no terminal
    assert declined.exit_code == 2 and chat_models(openai_env) == []

    agreed = runner.invoke(app, ["eval", str(config), "--yes", "--json"])
    assert agreed.exit_code == 0, agreed.output
    assert chat_models(openai_env) == [BASE] * 10


def test_the_bound_covers_what_the_evaluation_then_costs(tmp_path: Path, openai_env: OpenAIEmulator) -> None:
    from tunekit.evaluate import EvaluationSpend

    seen: list[EvaluationSpend] = []
    tuner = Tuner.from_config(write_config(tmp_path))
    report = evaluate_baselines(tuner, confirm=seen.append)
    [spend] = seen
    assert spend.requests == 10 and spend.unpriced == [] and spend.max_cost is not None
    spent = sum(c.cost_per_1k or 0.0 for c in report.candidates) * 5 / 1000  # five requests per candidate
    assert 0 < spent <= spend.max_cost
    # Without a path, the report goes where `tunekit eval CONFIG` puts it.
    assert Path(report.paths["markdown"]).parent.parent.name == "evals"


def test_a_stop_from_confirm_sends_nothing(tmp_path: Path, openai_env: OpenAIEmulator) -> None:
    class Stop(Exception):
        pass

    def refuse(spend: object) -> None:
        raise Stop

    tuner = Tuner.from_config(write_config(tmp_path))
    with pytest.raises(Stop):
        evaluate_baselines(tuner, confirm=refuse)
    assert chat_models(openai_env) == []
    assert not any((tmp_path / "home").glob("evals/*/report.json"))


def test_a_model_of_another_installed_provider_is_a_candidate(tmp_path: Path, openai_env: OpenAIEmulator) -> None:
    # The config tunes locally (nothing bills); the bigger model is OpenAI's, reached with OpenAI's own settings.
    config = write_config(
        tmp_path,
        provider="local",
        model="smollm2-135m-instruct",
        eval={
            "data": str(tmp_path / "eval.jsonl"),
            "baselines": [],
            "models": ["openai:gpt-4.1-mini"],
        },
    )
    result = CliRunner().invoke(app, ["eval", str(config), "--json", "--yes"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout[result.stdout.index("{") :])
    [other] = data["candidates"]
    assert other["name"] == "openai:gpt-4.1-mini" and other["model"] == "gpt-4.1-mini"
    assert chat_models(openai_env) == ["gpt-4.1-mini"] * 5
    # Priced from OpenAI's table, though the config's provider is local.
    assert Price(**other["price"]) == Price(0.40, 1.60)


def test_model_entries_name_a_provider_only_when_one_is_installed() -> None:
    assert split_model("openai:gpt-4.1", "local") == ("openai", "gpt-4.1")
    assert split_model("gpt-4.1", "openai") == ("openai", "gpt-4.1")
    assert split_model("ft:gpt-4o-mini-2024-07-18:org::abc123", "openai") == (
        "openai",
        "ft:gpt-4o-mini-2024-07-18:org::abc123",
    )
    assert split_model("llama3:8b", "local") == ("local", "llama3:8b")


def test_a_provider_that_needs_settings_is_named(tmp_path: Path, openai_env: OpenAIEmulator) -> None:
    config = write_config(tmp_path, eval={"data": str(tmp_path / "eval.jsonl"), "models": ["azure:gpt-4.1"]})
    tuner = Tuner.from_config(config)
    with pytest.raises(ConfigError, match=r"eval\.models: azure:gpt-4\.1: the azure provider"):
        evaluate_baselines(tuner)
    assert chat_models(openai_env) == []


@pytest.mark.parametrize("mode", ["score", "pairwise"])
def test_the_bound_counts_the_judge_too(openai_emulator: OpenAIEmulator, mode: str) -> None:
    from tunekit.evaluate import Candidate, eval_items, evaluate, evaluation_spend
    from tunekit.evaluate.judge import Judge
    from tunekit.inference import OpenAIChatClient

    def client() -> OpenAIChatClient:
        return OpenAIChatClient(BASE, base_url=openai_emulator.base_url, api_key=openai_emulator.api_key)

    price = Price(0.15, 0.60)
    candidates = [
        Candidate("base few-shot", client(), "few-shot", price=price, spends_money=True),
        Candidate("other", client(), "model", price=price, spends_money=True),
    ]
    rubric = "Score: 8 and Winner: A. Reason: it does."
    judge = Judge(client(), rubric, mode=mode, price=price, provider="openai", max_tokens=64)  # type: ignore[arg-type]
    items = eval_items([conversation(i) for i in range(5)])

    spend = evaluation_spend(candidates, items, 32, judge=judge)
    report = evaluate(candidates, items, ["token_f1"], judge=judge, max_new_tokens=32)

    assert report.judge is not None and spend.judge_requests == report.judge.requests
    assert spend.requests == 2 * 5 + report.judge.requests
    assert f"{spend.judge_requests} of them to the judge" in spend.sentence()
    spent = sum(c.cost_per_1k or 0.0 for c in report.candidates) * 5 / 1000 + (report.judge.cost or 0.0)
    assert spend.max_cost is not None and 0 < spent <= spend.max_cost
