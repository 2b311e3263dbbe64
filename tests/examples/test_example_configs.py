"""Every config under examples/ loads, and the recipe configs describe one workload on four providers."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tunekit.config import TuneConfig, load_config
from tunekit.errors import ProviderNotFoundError
from tunekit.registry import get_provider_class

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
RECIPES = EXAMPLES / "recipes"

# What the configs read from the environment; placeholders, never sent anywhere.
ENVIRONMENT = {
    "OPENAI_API_KEY": "sk-example-key",
    "AZURE_OPENAI_ENDPOINT": "https://example.openai.azure.com",
    "AZURE_OPENAI_API_KEY": "example-azure-key",
    "HF_TOKEN": "hf_example_token",
    "HF_USERNAME": "example-user",
    "FIREWORKS_API_KEY": "fw_example_key",
    "FIREWORKS_ACCOUNT_ID": "example-account",
    "TOGETHER_API_KEY": "tgp_v1_example_key",
}
# Keys that may differ between the recipe configs: where the job runs, and what that provider needs.
PROVIDER_KEYS = {"provider", "model", "provider_options", "deploy"}


def _is_autotrain_yaml(path: Path) -> bool:
    """AutoTrain's own YAML format (imported by the autotrain provider), not a tunekit config."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return isinstance(data, dict) and "task" in data and "provider" not in data


def _yaml_files() -> list[Path]:
    found = sorted(p for p in EXAMPLES.rglob("*.y*ml") if "data" not in p.relative_to(EXAMPLES).parts)
    return [p for p in found if p.suffix in (".yaml", ".yml")]


def _configs() -> list[Path]:
    return [p for p in _yaml_files() if not _is_autotrain_yaml(p)]


def _autotrain_configs() -> list[Path]:
    return [p for p in _yaml_files() if _is_autotrain_yaml(p)]


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)


def _installed(provider: str) -> bool:
    try:
        get_provider_class(provider)
    except ProviderNotFoundError:
        return False
    return True


def _load(path: Path) -> TuneConfig:
    provider = yaml.safe_load(path.read_text(encoding="utf-8"))["provider"]
    if not _installed(provider):
        pytest.skip(f"{path.relative_to(ROOT)}: provider {provider!r} is not installed")
    return load_config(path)


def test_the_recipe_example_has_a_config_per_provider() -> None:
    names = {p.name for p in _configs() if p.parent == RECIPES}
    assert {"local.yaml", "openai.yaml", "azure.yaml", "autotrain.yaml", "fireworks.yaml", "together.yaml"} <= names


@pytest.mark.parametrize("path", _configs(), ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_example_config_loads(path: Path) -> None:
    config = _load(path)
    config.options()  # provider_options validated by the provider's own Options model
    assert Path(config.data.train).is_file()
    if config.data.validation is not None:
        assert Path(config.data.validation).is_file()
    if config.eval is not None and config.eval.data is not None:
        assert Path(config.eval.data).is_file()


@pytest.mark.parametrize("path", _autotrain_configs(), ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_autotrain_yaml_example_imports_as_a_tunekit_config(path: Path) -> None:
    if not _installed("autotrain"):
        pytest.skip("the autotrain provider is not installed")
    from tunekit_autotrain import load_autotrain_yaml

    config = load_autotrain_yaml(path)
    assert config.provider == "autotrain"
    config.options()
    assert Path(config.data.train).is_file()


@pytest.mark.parametrize("name", ["openai.yaml", "azure.yaml", "autotrain.yaml", "fireworks.yaml", "together.yaml"])
def test_recipe_configs_differ_from_local_only_in_provider_keys(name: str) -> None:
    local = yaml.safe_load((RECIPES / "local.yaml").read_text())
    other = yaml.safe_load((RECIPES / name).read_text())
    differing = {k for k in local.keys() | other.keys() if local.get(k) != other.get(k)}
    assert differing <= PROVIDER_KEYS, f"{name} differs from local.yaml in {sorted(differing - PROVIDER_KEYS)}"
    assert other["provider"] == name.removesuffix(".yaml")


def test_recipe_eval_section_measures_format_and_normalization() -> None:
    config = _load(RECIPES / "local.yaml")
    assert config.eval is not None
    assert config.eval.metrics[0] == "normalized_exact_match"
    assert {"token_f1", "json_valid"} <= set(config.eval.metrics)
    assert config.eval.few_shot == 3
    # The whole ladder: the base model alone, with random shots, with the most similar shots (BM25).
    assert set(config.eval.baselines) == {"zero-shot", "few-shot", "retrieval"}
    assert config.eval.traffic is not None and config.eval.traffic.requests_per_day > 0


def test_secrets_in_example_configs_come_from_the_environment() -> None:
    for path in _configs():
        for line in path.read_text().splitlines():
            key = line.split(":", 1)[0].strip()
            if key in {"api_key", "token", "hub_token", "ad_token"}:
                value = line.split(":", 1)[1].strip()
                assert value.startswith("${"), f"{path.relative_to(ROOT)}: {key} must read ${{ENV}}, not a literal"


def test_secret_values_do_not_leak_into_the_saved_config() -> None:
    for name in ("openai.yaml", "azure.yaml", "autotrain.yaml", "fireworks.yaml", "together.yaml"):
        if not _installed(name.removesuffix(".yaml")):
            continue
        config = load_config(RECIPES / name)
        saved = config.to_yaml()
        for value in ENVIRONMENT.values():
            if "key" in value or "token" in value:
                assert value not in saved, name
