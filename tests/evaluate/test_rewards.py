"""Reward functions: metrics with the example's other fields, the config's rft method, the checks before training."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tunekit.config import config_hash, parse_config
from tunekit.data import read_examples
from tunekit.errors import ConfigError
from tunekit.evaluate.candidates import Candidate, EvalItem
from tunekit.evaluate.metrics import resolve_metrics
from tunekit.evaluate.rewards import (
    RewardFunction,
    check_reward_columns,
    check_reward_spread,
    resolve_rewards,
    reward_items,
    reward_rows,
)
from tunekit.evaluate.runner import evaluate
from tunekit.inference import OpenAIChatClient
from tunekit_emulators import OpenAIEmulator

SCORERS = '''
import json


def in_allowed(prediction, reference, allowed):
    """Every listed ingredient is one the example allows."""
    try:
        names = json.loads(prediction)
    except ValueError:
        return 0.0
    return float(all(name in allowed for name in names))


def kind_bonus(prediction, reference, kind="plain", **fields):
    return 1.0 if kind in prediction else 0.0


def broken(prediction, reference):
    return 1 / 0
'''


@pytest.fixture
def scorers(tmp_path: Path) -> Path:
    path = tmp_path / "scorers.py"
    path.write_text(SCORERS, encoding="utf-8")
    return path


def base(**extra: Any) -> dict[str, Any]:
    return {"provider": "local", "model": "m", "data": {"train": "t.jsonl"}, **extra}


def test_grpo_is_an_alias_of_rft_and_rft_needs_a_reward() -> None:
    config = parse_config(base(method="grpo", reward=["json_valid", "json_match"]))
    assert config.method == "rft" and config.reward == ["json_valid", "json_match"]
    with pytest.raises(ConfigError, match="method rft needs reward"):
        parse_config(base(method="rft"))
    with pytest.raises(ConfigError, match="reward is used only by method rft"):
        parse_config(base(reward=["json_valid"]))
    with pytest.raises(ConfigError, match="generations must be at least 2"):
        parse_config(base(method="rft", reward=["json_valid"], hyperparameters={"generations": 1}))


def test_a_config_without_rft_settings_keeps_its_hash() -> None:
    # The new settings are left out at their defaults: configs written before them keep their run's identity.
    dump = parse_config(base()).redacted()
    assert "reward" not in dump and "generations" not in dump["hyperparameters"]
    assert config_hash(parse_config(base())) != config_hash(parse_config(base(method="rft", reward=["json_valid"])))


def test_a_reward_file_next_to_the_config_is_found_from_anywhere(tmp_path: Path, scorers: Path) -> None:
    path = tmp_path / "tune.yaml"
    path.write_text("provider: local\nmodel: m\ndata: {train: t.jsonl}\nmethod: rft\nreward: [scorers.py:broken]\n")
    from tunekit.config import load_config

    assert load_config(path).reward == [f"{scorers}:broken"]


def test_a_scorer_receives_the_fields_it_names(scorers: Path) -> None:
    allowed, bonus = resolve_metrics([f"{scorers}:in_allowed", f"{scorers}:kind_bonus"])
    assert allowed.columns == ("allowed",) and bonus.columns == ()
    fields = {"allowed": ["salt", "basil"], "kind": "salt", "other": 1}
    assert allowed.score('["salt"]', "", fields) == 1.0
    assert allowed.score('["sugar"]', "", fields) == 0.0
    assert bonus.score("salt", "", fields) == 1.0  # optional and **fields both receive the columns
    (exact,) = resolve_metrics(["exact_match"])
    assert exact.columns == () and exact.score("a", "a", fields) == 1.0


def test_reward_items_keep_the_other_fields_and_name_their_line(tmp_path: Path) -> None:
    data = tmp_path / "train.jsonl"
    messages = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "[]"}]
    data.write_text(json.dumps({"messages": messages, "allowed": ["salt"]}) + "\n")
    items = reward_items(read_examples(data))
    assert items[0].fields == {"allowed": ["salt"]} and items[0].reference == "[]"
    assert items[0].where.endswith("train.jsonl:1")
    row = reward_rows(items)[0]
    assert row["prompt"] == [{"role": "user", "content": "q"}] and row["reference"] == "[]"


def test_missing_columns_are_refused_naming_the_reward_the_column_and_the_example(scorers: Path) -> None:
    rewards = resolve_rewards([f"{scorers}:in_allowed", "json_valid"])
    items = [EvalItem([], "[]", "train.jsonl:1", {"allowed": []}), EvalItem([], "[]", "train.jsonl:2")]
    with pytest.raises(ConfigError) as caught:
        check_reward_columns(rewards, items)
    assert "reward in_allowed: needs the column 'allowed', which 1 of 2 examples lack (first: train.jsonl:2)" in str(
        caught.value
    )
    check_reward_columns(rewards, items[:1])


def test_a_reward_that_raises_or_never_varies_is_refused(scorers: Path) -> None:
    item = EvalItem([{"role": "user", "content": "q"}], '["salt"]', "train.jsonl:3")
    (broken,) = resolve_rewards([f"{scorers}:broken"])
    with pytest.raises(ConfigError, match=r"reward broken raised ZeroDivisionError: .* \(example train.jsonl:3"):
        check_reward_spread([broken], [(item, ["a", "b"])])

    valid, match = resolve_rewards(["json_valid", "json_match"])
    groups = [(item, ['["salt"]', "not json"]), (item, ['["pepper"]', '["pepper"]'])]
    (spread,) = check_reward_spread([valid], groups)
    assert spread.prompts_with_spread == 1 and spread.low == 0.0 and spread.high == 1.0
    never = [(item, ["prose", "more prose"]), (item, ["x", "y"])]
    with pytest.raises(ConfigError) as caught:
        check_reward_spread([valid, match], never)
    for name in ("json_valid", "json_match"):
        assert f"reward {name}: gave 0 to every completion of each of 2 prompts" in str(caught.value)


def test_the_reward_function_scores_trl_completions_with_their_fields(scorers: Path) -> None:
    (allowed,) = resolve_rewards([f"{scorers}:in_allowed"])
    reward = RewardFunction(allowed)
    assert reward.__name__ == "in_allowed"  # TRL logs rewards/in_allowed/mean
    items = [EvalItem([], "", "t:1", {"allowed": ["salt"]})] * 2
    rows = reward_rows(items)
    scores = reward(
        prompts=[r["prompt"] for r in rows],
        completions=[[{"role": "assistant", "content": '["salt"]'}], [{"role": "assistant", "content": '["oil"]'}]],
        reference=[r["reference"] for r in rows],
        fields=[r["fields"] for r in rows],
        trainer_state=None,
    )
    assert scores == [1.0, 0.0]


def test_tunekit_eval_reports_a_reward_that_reads_a_column(scorers: Path, openai_emulator: OpenAIEmulator) -> None:
    # The emulator's base model answers with the user's message, so one answer passes the reward and one fails.
    def example(answer: str) -> dict[str, Any]:
        messages = [{"role": "user", "content": answer}, {"role": "assistant", "content": "x"}]
        return {"messages": messages, "allowed": ["salt"]}

    client = OpenAIChatClient(
        "gpt-4.1-mini-2025-04-14", base_url=openai_emulator.base_url, api_key=openai_emulator.api_key
    )
    report = evaluate(
        [Candidate("base", client, "zero-shot")], [example('["salt"]'), example('["oil"]')], [f"{scorers}:in_allowed"]
    )
    assert report.candidates[0].score("in_allowed") == 50.0


def test_an_rft_configs_data_reads_without_a_providers_limits(tmp_path: Path) -> None:
    # The evaluation reads a config's splits with no provider at hand (the baselines before training).
    from tunekit.data import load_splits

    messages = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "[]"}]
    data = tmp_path / "train.jsonl"
    data.write_text(json.dumps({"messages": messages}) + "\n", encoding="utf-8")
    config = parse_config(base(method="rft", reward=["json_valid"], data={"train": str(data)}))
    assert len(load_splits(config).train) == 1
