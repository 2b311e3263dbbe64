"""provider_options and AutoTrain's parameters: validation, AutoTrain's defaults, precedence, conflicts, TRL flags."""

from __future__ import annotations

from typing import Any

import pytest
from autotrain_helpers import BASE_MODEL
from pydantic import ValidationError

from tunekit.config import TuneConfig, parse_config
from tunekit.errors import ConfigError
from tunekit_autotrain import AUTOTRAIN_DEFAULTS, AutoTrainOptions, AutoTrainProvider, LLMParams
from tunekit_autotrain.options import JOB_FLAVORS, SPACE_FLAVORS
from tunekit_autotrain.params import resolve_params, trl_arguments


def _config(**fields: Any) -> TuneConfig:
    data: dict[str, Any] = {"provider": "autotrain", "model": BASE_MODEL, "data": {"train": "train.jsonl"}}
    data.update(fields)
    data.setdefault("provider_options", {"token": "hf_" + "t" * 34})
    return parse_config(data)


def test_flavor_lists_match_huggingface_hub() -> None:
    from huggingface_hub import JobHardware, SpaceHardware

    assert set(JOB_FLAVORS) == {h.value for h in JobHardware}
    assert set(SPACE_FLAVORS) == {h.value for h in SpaceHardware}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"endpoint": "http://hub.example.com"}, "plain http"),
        ({"endpoint": "ftp://127.0.0.1"}, "http(s) URL"),
        ({"flavor": "h200", "backend": "spaces"}, "is not spaces hardware"),
        ({"flavor": "tpu-v5"}, "is not jobs hardware"),
        ({"timeout": "two hours"}, "timeout"),
        ({"project_name": "my project!"}, "project_name"),
        ({"runner": "axolotl"}, "runner"),
        ({"params": {"quantization": "int3"}}, "quantization"),
        ({"params": {"lora_rr": 8}}, "lora_rr"),
    ],
)
def test_bad_options_are_refused_with_their_path(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match="provider_options") as info:
        _config(provider_options=options)
    assert message in str(info.value)


def test_loopback_http_is_allowed_and_the_token_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    options = AutoTrainOptions(endpoint="http://127.0.0.1:8123/", timeout=3600)
    assert options.endpoint == "http://127.0.0.1:8123"
    with pytest.raises(ConfigError, match="HF_TOKEN"):
        options.resolved_token()
    monkeypatch.setenv("HF_TOKEN", "hf_fromtheenvironment000000000000000")
    assert options.resolved_token() == "hf_fromtheenvironment000000000000000"
    assert "fromtheenvironment" not in repr(AutoTrainOptions(token="hf_fromtheenvironment000000000000000"))


def test_a_silent_config_gets_autotrains_defaults() -> None:
    config = _config()
    resolved = resolve_params(config, config.options().params)  # type: ignore[attr-defined]
    for key in ("lr", "epochs", "batch_size", "gradient_accumulation", "warmup_ratio", "optimizer", "scheduler"):
        assert resolved[key] == AUTOTRAIN_DEFAULTS[key], key
    assert (resolved["quantization"], resolved["mixed_precision"], resolved["block_size"]) == ("int4", None, -1)
    assert (resolved["model_max_length"], resolved["padding"], resolved["max_prompt_length"]) == (2048, "right", 128)
    # The tunekit config asks for a LoRA adapter by default, and says sft.
    assert (resolved["peft"], resolved["lora_r"], resolved["lora_alpha"], resolved["trainer"]) == (True, 16, 32, "sft")


def test_config_values_and_params_both_apply() -> None:
    config = _config(
        method="dpo",
        hyperparameters={"epochs": 3, "learning_rate": 2e-4, "max_seq_length": 4096, "beta": 0.3},
        lora={"r": 8, "alpha": 16, "target_modules": ["q_proj", "v_proj"]},
        seed=7,
        provider_options={"token": "hf_" + "t" * 34, "params": {"trainer": "orpo", "mixed_precision": "bf16"}},
    )
    resolved = resolve_params(config, config.options().params)  # type: ignore[attr-defined]
    assert (resolved["epochs"], resolved["lr"], resolved["block_size"], resolved["dpo_beta"]) == (3, 2e-4, 4096, 0.3)
    assert resolved["model_max_length"] == 4096  # raised to fit the block size
    assert (resolved["lora_r"], resolved["target_modules"], resolved["seed"]) == (8, "q_proj,v_proj", 7)
    assert (resolved["trainer"], resolved["mixed_precision"]) == ("orpo", "bf16")


def test_params_may_set_what_the_config_leaves_to_auto_or_default() -> None:
    config = _config(provider_options={"token": "hf_" + "t" * 34, "params": {"lr": 1e-4, "peft": False}})
    resolved = resolve_params(config, config.options().params)  # type: ignore[attr-defined]
    assert resolved["lr"] == 1e-4
    assert (resolved["peft"], resolved["quantization"], resolved["merge_adapter"]) == (False, None, False)


def test_check_reports_conflicts_and_mismatched_trainers() -> None:
    provider = AutoTrainProvider(AutoTrainOptions(params=LLMParams(epochs=2, trainer="dpo")))
    problems = provider.check(_config(hyperparameters={"epochs": 3}))
    assert "provider_options.params.epochs: also set by the tunekit config; set it in one place only" in problems
    assert any("trainer: dpo trains on preference pairs; set method: dpo" in p for p in problems)
    trl = AutoTrainProvider(AutoTrainOptions(runner="trl", params=LLMParams(trainer="orpo")))
    assert any("trl runner runs sft and dpo" in p for p in trl.check(_config(method="dpo")))
    assert AutoTrainProvider(AutoTrainOptions(token="hf_" + "t" * 30)).check(_config()) == []
    assert any(p.startswith("provider_options.token: no Hugging Face token") for p in provider.check(_config()))


def test_trl_arguments_carry_the_resolved_parameters() -> None:
    config = _config(method="dpo", hyperparameters={"max_seq_length": 1024})
    resolved = resolve_params(config, LLMParams(mixed_precision="fp16"))
    resolved["project_name"] = "p"
    args = trl_arguments(resolved, dataset="me/data", validation=True, model_repo="me/p", private=True)
    pairs = dict(zip(args[::2], args[1::2], strict=False))
    assert pairs["--model_name_or_path"] == BASE_MODEL and pairs["--dataset_name"] == "me/data"
    assert "--beta" in args and args[args.index("--beta") + 1] == "0.1"
    assert args[args.index("--max_length") + 1] == "1024" and "--fp16" in args and "--hub_private_repo" in args
    assert args[args.index("--dataset_test_split") + 1] == "validation"


def test_llm_params_reject_unknown_keys() -> None:
    with pytest.raises(ValidationError):
        LLMParams.model_validate({"epochs": 1, "learning_rate": 0.1})
