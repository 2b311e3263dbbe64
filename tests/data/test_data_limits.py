"""Provider limits: refused before anything is uploaded, from each provider's own limits table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tunekit.config import TuneConfig
from tunekit.registry import create_provider, get_provider_class


def cfg(provider: str, model: str, **extra: Any) -> TuneConfig:
    return TuneConfig.model_validate({"provider": provider, "model": model, "data": {"train": "t.jsonl"}, **extra})


def problems(config: TuneConfig) -> list[str]:
    return create_provider(config.provider).check(config)


def test_openai_refuses_more_than_50_epochs() -> None:
    assert not [p for p in problems(cfg("openai", "gpt-4.1-mini", hyperparameters={"epochs": 50})) if "epochs" in p]
    over = problems(cfg("openai", "gpt-4.1-mini", hyperparameters={"epochs": 51}))
    assert "hyperparameters.epochs: openai allows at most 50 (got 51)" in over


@pytest.mark.parametrize("provider", ["openai", "azure"])
def test_models_the_service_does_not_tune_are_refused(provider: str) -> None:
    assert not [p for p in problems(cfg(provider, "gpt-4.1-mini-2025-04-14")) if p.startswith("model:")]
    refused = [p for p in problems(cfg(provider, "gpt-9-ultra")) if p.startswith("model:")]
    assert refused and f"{provider} cannot fine-tune 'gpt-9-ultra'" in refused[0] and "gpt-4.1-mini" in refused[0]


def test_azure_suffix_is_at_most_18_characters_and_openai_64() -> None:
    assert not [p for p in problems(cfg("azure", "gpt-4.1-mini", suffix="x" * 18)) if p.startswith("suffix")]
    assert "suffix: azure allows at most 18 characters, 'xxxxxxxxxxxxxxxxxxx' has 19" in problems(
        cfg("azure", "gpt-4.1-mini", suffix="x" * 19)
    )
    assert not [p for p in problems(cfg("openai", "gpt-4.1-mini", suffix="x" * 19)) if p.startswith("suffix")]
    assert any(
        p.startswith("suffix: openai allows at most 64")
        for p in problems(cfg("openai", "gpt-4.1-mini", suffix="x" * 65))
    )


def test_a_user_limits_file_overrides_a_provider_row(tunekit_home: Path) -> None:
    (tunekit_home / "limits.yaml").write_text("providers:\n  openai:\n    max_epochs: 10\n", encoding="utf-8")
    assert get_provider_class("openai").limits("gpt-4.1-mini").max_epochs == 10
    assert get_provider_class("azure").limits("gpt-4.1-mini").max_epochs == 50


def test_serves_tuned_says_which_tuned_models_answer_without_a_deployment(tunekit_home: Path) -> None:
    """A tune the service will not serve is refused before training only when an evaluation needs it served."""
    together = get_provider_class("together")
    unserved, served = "Qwen/Qwen3-8B", "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
    assert (together.limits(unserved).serves_tuned, together.limits(served).serves_tuned) == ("none", "lora")
    refusal = together.limits(unserved).serving_refusal(cfg("together", unserved), "together", deploys=False)
    assert refusal is not None and refusal.startswith("model: together serves a model tuned from 'Qwen/Qwen3-8B'")
    assert f"it serves those of {served}," in refusal and "add a deploy: section" not in refusal
    # A provider that deploys offers the deploy: section; with one, the deployment serves the evaluation.
    assert "add a deploy: section, or pass --skip-eval" in str(
        together.limits(unserved).serving_refusal(cfg("together", unserved), "together", deploys=True)
    )
    deployed = cfg("together", unserved, deploy={"instance_type": "gpu"})
    assert together.limits(unserved).serving_refusal(deployed, "together", deploys=True) is None
    assert together.limits(served).serving_refusal(cfg("together", served), "together", deploys=False) is None
    # When the service starts serving another base, a user's row says so (true/false mean any/none).
    (tunekit_home / "limits.yaml").write_text(
        f"providers:\n  together:\n    models:\n      {unserved}: {{serves_tuned: true}}\n", encoding="utf-8"
    )
    assert together.limits(unserved).serves_tuned == "any" and unserved in together.limits(served).serving_models
    assert get_provider_class("openai").limits("gpt-4.1-mini").serves_tuned is None  # not listed: not refused
