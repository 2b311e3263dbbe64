"""OpenAI's limits, token counting and prices: the data layer's questions, answered from the tables shipped here.

``limits.yaml`` and ``prices.yaml`` sit beside this module (package data); a
user's ``$TUNEKIT_HOME/limits.yaml`` / ``prices.yaml`` override rows under
``providers: {openai: ...}``. Azure reuses these functions with its own package
and tables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from tunekit.plugin import Limits, TiktokenCounter, encoding_for_model, lookup_model, price_tokens, provider_table

if TYPE_CHECKING:
    from tunekit.plugin import CostEstimate, TuneConfig

__all__ = ["inference_price", "model_limits", "model_price", "price_training", "token_counter"]


Severity = Literal["error", "warning", "info"]
_SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")


def _ints(table: dict[str, Any], *keys: str) -> dict[str, int | None]:
    return {key: int(table[key]) if table.get(key) is not None else None for key in keys}


def model_limits(package: str, provider: str, model: str) -> Limits:
    """The provider's limits for ``model`` from its ``limits.yaml``."""
    table = provider_table(package, "limits", provider)
    models = table.get("models") or {}
    _key, entry = lookup_model(models, model)
    kinds = table.get("kinds") or Limits().kinds
    token_limit = entry.get("token_limit") or table.get("default_token_limit")
    return Limits(
        **_ints(table, "min_examples", "max_file_bytes", "max_suffix", "max_epochs"),
        kinds={str(k): tuple(v) for k, v in kinds.items()},
        preference_single_turn=bool(table.get("preference_single_turn")),
        token_limit=int(token_limit) if token_limit else None,
        tunable_models=tuple(str(k) for k in models),
        family=tuple(str(f) for f in table.get("family") or ()),
        hosted_only=bool(table.get("hosted_only")),
        severities={str(k): v for k, v in (table.get("severities") or {}).items() if v in _SEVERITIES},
        as_of=str(table["as_of"]) if table.get("as_of") else None,
        source=table.get("source"),
    )


def token_counter(package: str, provider: str, model: str) -> TiktokenCounter:
    """Exact counts with the model's tiktoken encoding (the table's, else tiktoken's own model map)."""
    models = provider_table(package, "limits", provider).get("models") or {}
    _key, entry = lookup_model(models, model)
    encoding = entry.get("encoding")
    return TiktokenCounter(str(encoding) if encoding else encoding_for_model(model))


def model_price(package: str, provider: str, model: str) -> tuple[str | None, dict[str, Any], dict[str, Any]]:
    """(the matching row's key, the row, the whole table) of ``prices.yaml``."""
    table = provider_table(package, "prices", provider)
    key, entry = lookup_model(table.get("models") or {}, model)
    return key, entry, table


def price_training(package: str, provider: str, config: TuneConfig, estimate: CostEstimate) -> CostEstimate:
    """Bill the estimate's tokens at the model's training (or DPO) price; the row's date and source go with it."""
    key, entry, table = model_price(package, provider, config.model)
    estimate.currency = str(table.get("currency", "USD"))
    if key is None:
        estimate.notes.append(f"no {provider} price for {config.model}: add it to prices.yaml")
        return estimate
    estimate.prices_as_of = str(entry.get("as_of") or table.get("as_of") or "") or None
    estimate.prices_source = entry.get("source") or table.get("source")
    hourly = entry.get("reinforcement_per_hour")
    if config.provider_options.get("grader") and hourly is not None:  # a grader makes it reinforcement
        estimate.notes.append(f"reinforcement fine-tuning is billed {float(hourly):.2f} per hour of training time")
        return estimate
    rate = entry.get("dpo_per_1m" if config.method == "dpo" else "training_per_1m")
    price_tokens(estimate, rate, what=f"{config.method} on {key} ({provider} lists none)")
    return estimate


def inference_price(package: str, provider: str, model: str, *, tuned: bool) -> tuple[float, float] | None:
    """(input, output) per 1M tokens of ``model`` (its tuned rate when ``tuned`` and listed), or None."""
    key, entry, _table = model_price(package, provider, model)
    if key is None:
        return None
    prefix = "tuned_" if tuned and "tuned_input_per_1m" in entry else ""
    try:
        return float(entry[f"{prefix}input_per_1m"]), float(entry[f"{prefix}output_per_1m"])
    except (KeyError, TypeError, ValueError):
        return None
