from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tunekit.config import TuneConfig, config_hash, interpolate_env, load_config, parse_config
from tunekit.errors import ConfigError, ProviderNotFoundError


def test_yaml_round_trip(memo_config: Path, tmp_path: Path) -> None:
    config = load_config(memo_config)
    again = tmp_path / "again.yaml"
    data = config.model_dump(mode="json")
    again.write_text(yaml.safe_dump(data))
    reloaded = load_config(again)
    assert reloaded.model_dump(exclude={"provider_options"}) == config.model_dump(exclude={"provider_options"})
    assert config_hash(reloaded) == config_hash(config)
    # A saved config never carries the secret: it comes back from the environment, or not at all.
    assert "sk-memo-not-set" not in again.read_text()
    assert reloaded.options().api_key is None  # type: ignore[attr-defined]


def test_json_config_and_relative_paths(tmp_path: Path, chat_file: Path) -> None:
    path = tmp_path / "tune.json"
    path.write_text(
        json.dumps(
            {
                "provider": "memo",
                "model": "m",
                "data": {"train": "train.jsonl"},
                "provider_options": {"state_dir": str(tmp_path)},
            }
        )
    )
    config = load_config(path)
    assert config.data.train == str(chat_file.resolve())
    assert config.method == "sft" and config.hyperparameters.epochs == "auto"


def test_env_interpolation_with_default_and_escape() -> None:
    env = {"MODEL": "gpt-4.1-mini"}
    doc = {"model": "${MODEL}", "suffix": "${SUFFIX:-recipes}", "note": "$${LITERAL}", "list": ["${MODEL}"]}
    assert interpolate_env(doc, env) == {
        "model": "gpt-4.1-mini",
        "suffix": "recipes",
        "note": "${LITERAL}",
        "list": ["gpt-4.1-mini"],
    }


def test_missing_env_variable_names_the_path() -> None:
    with pytest.raises(ConfigError, match=r"data\.train: environment variable TRAIN_FILE is not set"):
        interpolate_env({"data": {"train": "${TRAIN_FILE}"}}, {})


def test_unknown_keys_rejected_with_full_path(memo_config: Path, tmp_path: Path) -> None:
    bad = yaml.safe_load(memo_config.read_text())
    bad["hyperparameters"] = {"epochz": 3}
    bad["data"]["trian"] = "x"
    with pytest.raises(ConfigError) as info:
        parse_config(bad, source="tune.yaml", base_dir=tmp_path)
    assert "hyperparameters.epochz: unknown key" in info.value.problems
    assert "data.trian: unknown key" in info.value.problems
    assert str(info.value).startswith("tune.yaml: ")


def test_unknown_provider_option_rejected_with_path(memo_config: Path, tmp_path: Path) -> None:
    bad = yaml.safe_load(memo_config.read_text())
    bad["provider_options"]["api_kee"] = "oops"
    with pytest.raises(ConfigError) as info:
        parse_config(bad, source="tune.yaml", base_dir=tmp_path)
    assert "provider_options.api_kee: unknown key" in info.value.problems


def test_unknown_provider_lists_installed_and_names_package(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ProviderNotFoundError) as info:
        parse_config({"provider": "azure-typo", "model": "m", "data": {"train": "t.jsonl"}})
    assert "memo" in info.value.installed
    # A built-in name whose package is not installed says what to install.
    import tunekit.entrypoints as entrypoints
    import tunekit.registry as registry

    monkeypatch.setattr(entrypoints, "entry_points", lambda: {})
    with pytest.raises(ProviderNotFoundError, match="pip install tunekit-local"):
        registry.get_provider_class("local")


def test_value_checks() -> None:
    base = {"provider": "memo", "model": "m", "data": {"train": "t"}, "provider_options": {"state_dir": "/tmp"}}
    with pytest.raises(ConfigError, match="hyperparameters: Value error, epochs must be positive"):
        parse_config({**base, "hyperparameters": {"epochs": 0}})
    with pytest.raises(ConfigError, match="method"):
        parse_config({**base, "method": "rlhf"})
    with pytest.raises(ConfigError, match="either validation or validation_split"):
        parse_config({**base, "data": {"train": "t", "validation": "v", "validation_split": 0.1}})
    config = parse_config({**base, "hyperparameters": {"epochs": 3, "learning_rate": 2e-4}})
    assert isinstance(config, TuneConfig) and config.hyperparameters.epochs == 3


def test_empty_and_broken_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(ConfigError, match="empty"):
        load_config(empty)
    broken = tmp_path / "broken.yaml"
    broken.write_text("provider: [unclosed")
    with pytest.raises(ConfigError, match=r"broken\.yaml: cannot parse config"):
        load_config(broken)
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "missing.yaml")


def test_yaml_is_loaded_safely(tmp_path: Path) -> None:
    evil = tmp_path / "evil.yaml"
    evil.write_text("provider: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="cannot parse config"):
        load_config(evil)


def test_config_hash_ignores_name_and_secret_values(memo_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMO_API_KEY", "sk-first-secret-value-1234567890")
    first = load_config(memo_config)
    monkeypatch.setenv("MEMO_API_KEY", "sk-other-secret-value-0987654321")
    second = load_config(memo_config, name="renamed")
    assert config_hash(first) == config_hash(second)
    third = load_config(memo_config, seed=7)
    assert config_hash(third) != config_hash(first)


def test_scorer_files_in_eval_metrics_are_found_beside_the_config(
    tmp_path: Path, chat_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tunekit.evaluate.metrics import resolve_metrics

    (tmp_path / "scorers.py").write_text("def shouty(prediction, reference):\n    return float(prediction.isupper())\n")
    path = tmp_path / "tune.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "provider": "memo",
                "model": "m",
                "data": {"train": "train.jsonl"},
                "eval": {"data": "train.jsonl", "metrics": ["exact_match", "scorers.py:shouty", "json:loads"]},
                "provider_options": {"state_dir": str(tmp_path)},
            }
        )
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # as `tunekit run ../tune.yaml` from another folder
    config = load_config(path)
    assert config.eval is not None
    assert config.eval.metrics == ["exact_match", f"{tmp_path.resolve() / 'scorers.py'}:shouty", "json:loads"]
    shouty = resolve_metrics(config.eval.metrics[1:2])[0]
    assert shouty.scorer("YES", "") == 1.0
