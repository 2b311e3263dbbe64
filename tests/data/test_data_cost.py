"""Cost: the cookbook epoch rule, the editable price table, GPU memory for local training."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tunekit.config import TuneConfig
from tunekit.data import TokenStats, estimate_cost, estimate_memory, model_shape, target_epochs
from tunekit.data.cost import CostEstimate
from tunekit.data.tables import provider_table
from tunekit.registry import get_provider_class


@pytest.mark.parametrize(
    ("examples", "epochs"),
    [(1, 25), (3, 25), (10, 10), (33, 3), (34, 3), (100, 3), (8333, 3), (8334, 2), (12500, 2), (25000, 1), (99999, 1)],
)
def test_cookbook_epoch_rule(examples: int, epochs: int) -> None:
    assert target_epochs(examples) == epochs


def stats(examples: int = 100, total: int = 50_000, limit: int | None = 65536) -> TokenStats:
    return TokenStats(
        counter="tiktoken:o200k_base", examples=examples, total=total, billed_per_epoch=total, limit=limit
    )


def cfg(provider: str, model: str, **extra: Any) -> TuneConfig:
    return TuneConfig.model_validate({"provider": provider, "model": model, "data": {"train": "t.jsonl"}, **extra})


def priced(config: TuneConfig, token_stats: TokenStats | None = None) -> CostEstimate:
    """The estimate of ``config`` priced by its provider's hooks."""
    return estimate_cost(config, token_stats or stats(), get_provider_class(config.provider))


@pytest.mark.parametrize(
    ("model", "per_1m"),
    [("gpt-4o-mini-2024-07-18", 3.00), ("gpt-4.1-mini", 5.00), ("gpt-4.1-nano", 1.50), ("gpt-4o", 25.0)],
)
def test_openai_training_price(model: str, per_1m: float) -> None:
    estimate = priced(cfg("openai", model))
    assert estimate.epochs == 3 and estimate.epochs_source == "cookbook rule"
    assert estimate.billed_tokens == 150_000
    assert estimate.training_cost == pytest.approx(0.15 * per_1m)
    assert estimate.prices_as_of == provider_table("tunekit_openai", "prices", "openai")["as_of"]


def test_epochs_from_the_config_and_dpo_price() -> None:
    estimate = priced(cfg("openai", "gpt-4.1", method="dpo", hyperparameters={"epochs": 2}))
    assert (estimate.epochs, estimate.epochs_source, estimate.billed_tokens) == (2, "config", 100_000)
    assert estimate.price_per_1m_tokens == 25.0


def test_azure_adds_hosting_per_hour() -> None:
    estimate = priced(cfg("azure", "gpt-4o-mini"))
    assert estimate.hosting_per_hour is not None and estimate.hosting_per_hour > 0
    assert estimate.training_cost is not None and estimate.training_cost > 0


def test_models_without_a_price_row_have_no_price_and_say_so() -> None:
    estimate = priced(cfg("openai", "gpt-4-0613"))  # tunable (limits.yaml) but not priced in prices.yaml
    assert estimate.training_cost is None and estimate.unavailable is None
    assert any("prices.yaml" in note for note in estimate.notes)


def test_a_provider_that_cannot_take_the_model_is_not_priced() -> None:
    unknown = priced(cfg("openai", "gpt-9-experimental"))
    assert (unknown.training_cost, unknown.unavailable) == (None, "n/a: tunes its own models")
    qwen = priced(cfg("openai", "Qwen/Qwen2.5-0.5B-Instruct"))
    assert qwen.unavailable == "n/a: tunes its own models" and qwen.total is None
    # Open-weight providers do not price a model only OpenAI hosts.
    others = [get_provider_class("openai"), get_provider_class("azure")]
    for name in ("local", "autotrain"):
        local = estimate_cost(cfg(name, "gpt-4o-mini"), stats(), get_provider_class(name), others=others)
        assert local.unavailable is not None and "hosted only by" in local.unavailable
        assert local.total is None and local.memory is None


def test_azure_hosting_follows_the_deploy_sku() -> None:
    standard = priced(cfg("azure", "gpt-4.1-mini", deploy={"sku": "Standard"}))
    assert standard.hosting_per_hour == 1.70 and standard.hosting_sku == "Standard"
    assert any("per hour" in note for note in standard.notes)
    developer = priced(cfg("azure", "gpt-4.1-mini", deploy={"sku": "Developer"}))
    assert developer.hosting_per_hour == 0 and developer.hosting_sku == "DeveloperTier"
    notes = " ".join(developer.notes)
    assert "no hourly fee" in notes and "24 hours" in notes and "per hour while deployed" not in notes
    assert developer.training_cost == standard.training_cost


def test_the_price_table_is_user_editable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tunekit_home: Path) -> None:
    (tunekit_home / "prices.yaml").write_text(
        'providers:\n  openai:\n    as_of: "2030-01-01"\n    models:\n      gpt-4o-mini: {training_per_1m: 1.0}\n',
        encoding="utf-8",
    )
    estimate = priced(cfg("openai", "gpt-4o-mini"))
    assert estimate.prices_as_of == "2030-01-01"
    assert estimate.training_cost == pytest.approx(0.15)
    # Entries not overridden keep the packaged values.
    assert priced(cfg("openai", "gpt-4.1-nano")).price_per_1m_tokens == 1.50


def test_autotrain_prices_the_flavor_by_time() -> None:
    config = cfg("autotrain", "HuggingFaceTB/SmolLM2-135M-Instruct", provider_options={"flavor": "t4-small"})
    estimate = priced(config)
    assert estimate.hardware == "t4-small" and estimate.price_per_hour == 0.40
    assert estimate.hours is not None and estimate.training_cost == pytest.approx(estimate.hours * 0.40)
    assert estimate.memory is not None


def test_memory_estimate_orders_methods_and_fits_gpus() -> None:
    shape = model_shape("meta-llama/Llama-3.1-8B-Instruct")
    assert shape is not None and shape.params == pytest.approx(8.03e9) and not shape.approximate
    memory = estimate_memory(shape, seq_len=2048, batch_size=1)
    assert memory.qlora_gib < memory.lora_gib < memory.full_gib
    assert 120 < memory.full_gib < 160  # 16 bytes a parameter plus activations
    fits = {g.gpu: g for g in memory.fits}
    assert not fits["H100"].full and fits["H100"].lora and fits["T4"].qlora and not fits["T4"].lora
    tiny = estimate_memory(model_shape("smollm2-135m-instruct"), seq_len=1024)  # type: ignore[arg-type]
    assert all(g.full for g in tiny.fits)


def test_model_shape_from_a_local_config_and_from_the_name(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(
        '{"hidden_size": 64, "num_hidden_layers": 2, "intermediate_size": 128, "vocab_size": 1000}', encoding="utf-8"
    )
    local = model_shape(str(tmp_path))
    assert local is not None and (local.hidden, local.layers, local.vocab) == (64, 2, 1000)
    guessed = model_shape("someone/wonder-13b-chat")
    assert guessed is not None and guessed.approximate and guessed.params == pytest.approx(13e9)
    assert model_shape("gpt-4o-mini") is None


def test_local_estimate_is_free_with_memory() -> None:
    estimate = priced(cfg("local", "Qwen/Qwen2.5-0.5B-Instruct", hyperparameters={"max_seq_length": 512}))
    assert estimate.total == 0.0
    assert estimate.memory is not None and estimate.memory.seq_len == 512


@pytest.mark.parametrize(
    "fields",
    [{"method": "rft", "reward": ["exact_match"]}, {"provider_options": {"grader": {"type": "string_check"}}}],
)
def test_reinforcement_names_its_hourly_rate(fields: dict[str, Any]) -> None:
    """Method rft and a hand-written grader both make an hourly-billed job: the estimate says so, not 'no price'."""
    estimate = priced(cfg("openai", "o4-mini-2025-04-16", **fields))
    assert "reinforcement fine-tuning is billed 100.00 per hour of training time" in estimate.notes
    assert not any(note.startswith("no price") for note in estimate.notes)
