"""AutoTrain YAML configs: imported without losing any field they set, and `tunekit autotrain import`."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from tunekit.cli.app import app
from tunekit.config import load_config
from tunekit.errors import ConfigError
from tunekit_autotrain import autotrain_to_tunekit, is_autotrain_config, load_autotrain_yaml
from tunekit_autotrain.params import resolve_params
from tunekit_emulators.hub import HubEmulator

CONFIGS = Path(__file__).parent / "configs"
EXAMPLE = Path(__file__).parents[3] / "examples" / "autotrain" / "autotrain.yml"
TOKEN = "hf_" + "y" * 34


@pytest.fixture(autouse=True)
def hub_account(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_USERNAME", "alice")
    monkeypatch.setenv("HF_TOKEN", TOKEN)


def _number(value: Any) -> Any:
    try:
        return float(value) if isinstance(value, str) and "e" in value.lower() else value
    except ValueError:
        return value


@pytest.mark.parametrize("path", [CONFIGS / "smollm2-sft.yml", CONFIGS / "smollm2-dpo-qlora.yml", EXAMPLE])
def test_every_field_of_an_autotrain_config_survives(path: Path) -> None:
    source = yaml.safe_load(path.read_text())
    config = load_autotrain_yaml(path)
    options = config.options()
    resolved = resolve_params(config, options.params)  # type: ignore[attr-defined]

    assert config.model == source["base_model"] and config.provider == "autotrain"
    assert config.name == options.project_name == source["project_name"]  # type: ignore[attr-defined]
    trainer = source["task"].split("-", 1)[1]
    assert resolved["trainer"] == trainer and config.method == ("dpo" if trainer == "dpo" else "sft")
    for key, value in source["params"].items():
        assert resolved[key] == _number(value), key
    assert resolved["log"] == source["log"]
    assert resolved["chat_template"] == source["data"]["chat_template"]

    backend = source["backend"]
    if backend.startswith("spaces-"):
        assert (options.backend, options.flavor) == ("spaces", backend.removeprefix("spaces-"))  # type: ignore[attr-defined]
    assert options.namespace == "alice" and options.resolved_token() == TOKEN  # type: ignore[attr-defined]

    data = source["data"]
    folder = (path.parent / data["path"]).resolve()
    assert Path(config.data.train) == folder / f"{data['train_split']}.jsonl"
    if data["valid_split"]:
        assert Path(config.data.validation or "") == folder / f"{data['valid_split']}.jsonl"
    else:
        assert config.data.validation is None
    columns = config.data.columns or {}
    mapping = data["column_mapping"]
    if trainer == "dpo":
        assert columns == {
            "prompt": mapping["prompt_text_column"],
            "chosen": mapping["text_column"],
            "rejected": mapping["rejected_text_column"],
        }
    else:
        assert columns == {"messages": mapping["text_column"]}


def test_the_imported_config_reads_its_data(tmp_path: Path) -> None:
    from tunekit.data import load_splits

    splits = load_splits(load_autotrain_yaml(CONFIGS / "smollm2-sft.yml"))
    assert len(splits.train) == 40 and len(splits.validation or []) == 8


def test_only_autotrain_llm_configs_are_imported(tmp_path: Path) -> None:
    base = {"task": "llm-sft", "base_model": "m", "project_name": "p", "backend": "local", "data": {"path": "d"}}
    assert is_autotrain_config(base) and not is_autotrain_config({**base, "provider": "autotrain"})
    with pytest.raises(ConfigError, match="not an LLM task"):
        autotrain_to_tunekit({**base, "task": "text_classification"})
    with pytest.raises(ConfigError, match="backend"):
        autotrain_to_tunekit({**base, "backend": "ep-aws-useast1-m"})
    with pytest.raises(ConfigError, match="push_to_hub"):
        autotrain_to_tunekit({**base, "hub": {"push_to_hub": False}})
    with pytest.raises(ConfigError, match="not an AutoTrain LLM parameter"):
        autotrain_to_tunekit({**base, "params": {"learning_rate": 0.1}})
    hub_data = autotrain_to_tunekit({**base, "data": {"path": "HuggingFaceH4/no_robots", "train_split": "train"}})
    assert hub_data["data"]["train"] == "hf://datasets/HuggingFaceH4/no_robots/train"


def test_tunekit_autotrain_import_prints_a_loadable_config(tmp_path: Path) -> None:
    shutil.copytree(CONFIGS, tmp_path / "at")
    runner = CliRunner()
    printed = runner.invoke(app, ["autotrain", "import", str(tmp_path / "at" / "smollm2-sft.yml")])
    assert printed.exit_code == 0, printed.output
    assert "${HF_USERNAME}" in printed.output and TOKEN not in printed.output
    assert yaml.safe_load(printed.output)["provider_options"]["backend"] == "spaces"

    out = tmp_path / "tunekit" / "tune.yml"
    written = runner.invoke(app, ["autotrain", "import", str(tmp_path / "at" / "smollm2-sft.yml"), "-o", str(out)])
    assert written.exit_code == 0, written.output
    config = load_config(out)  # relative data paths still reach the same files from the new folder
    assert Path(config.data.train) == (tmp_path / "at" / "data" / "train.jsonl").resolve()
    assert config.options().params.optimizer == "paged_adamw_8bit"  # type: ignore[attr-defined]


def test_tunekit_run_takes_an_autotrain_config_as_it_is(
    hub_emulator: HubEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    shutil.copytree(CONFIGS, tmp_path / "at")
    monkeypatch.setenv("HF_ENDPOINT", hub_emulator.endpoint)
    monkeypatch.setenv("HF_TOKEN", hub_emulator.token)
    monkeypatch.setenv("HF_USERNAME", hub_emulator.namespace)
    result = CliRunner().invoke(
        app, ["run", str(tmp_path / "at" / "smollm2-sft.yml"), "--yes", "--poll-interval", "0.05", "--skip-eval"]
    )
    assert result.exit_code == 0, result.output
    model_repo = f"{hub_emulator.namespace}/autotrain-smollm2-acme-support"
    assert f"tuned model: {model_repo}" in " ".join(result.output.split())
    space = f"{hub_emulator.namespace}/autotrain-autotrain-smollm2-acme-support"
    assert hub_emulator.space_stage(space) == "PAUSED"
    assert "adapter_model.safetensors" in hub_emulator.files(model_repo)
