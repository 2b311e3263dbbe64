"""A provider's limits and prices read from the ``limits.yaml`` / ``prices.yaml`` it ships.

Every hosted provider answers the data layer's questions (what it accepts,
what a run and its hosting cost) from two dated tables beside its code; these
functions read them the same way for all of them, so a provider names only
its package, its name and which price row applies.

``limits.yaml``: ``as_of``, ``source``, ``min_examples``, ``max_file_bytes``,
``max_suffix``, ``max_epochs``, ``kinds``, ``family``, ``hosted_only``,
``severities``, ``default_token_limit``, ``method_models: {method: [prefix]}`` (a method the service
trains on those models only), ``serves_tuned`` (the default of the rows' own) and ``models: {prefix:
{token_limit, serves_tuned}}`` (``serves_tuned``: ``any``, ``lora`` or ``none``, see
:attr:`Limits.serves_tuned <tunekit.data.profile.Limits.serves_tuned>`; ``true``/``false`` mean any/none).
``prices.yaml``: ``currency``, ``as_of``, ``source``, ``models: {prefix: {rate
keys per 1M tokens}}`` and ``skus: {name: {per_hour, lifetime_hours}}``; a row
may carry its own ``as_of`` and ``source``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from tunekit.data.cost import price_tokens
from tunekit.data.profile import HostingCost, Limits, Serving
from tunekit.data.tables import lookup_model, provider_table

if TYPE_CHECKING:
    from tunekit.config import TuneConfig
    from tunekit.data.cost import CostEstimate

__all__ = ["table_hosting_cost", "table_inference_price", "table_limits", "table_price", "table_training_cost"]

Severity = Literal["error", "warning", "info"]
_SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")
_SERVING: dict[object, Serving] = {"any": "any", "lora": "lora", "none": "none", True: "any", False: "none"}


def _ints(table: dict[str, Any], *keys: str) -> dict[str, int | None]:
    return {key: int(table[key]) if table.get(key) is not None else None for key in keys}


def _serving(row: dict[str, Any], table: dict[str, Any]) -> Serving | None:
    """A row's ``serves_tuned`` (else the table's): any, lora or none; None when not given (or not one of them)."""
    value = row.get("serves_tuned", table.get("serves_tuned"))
    return _SERVING.get(value) if isinstance(value, str | bool) else None


def table_limits(package: str, provider: str, model: str) -> Limits:
    """The provider's limits for ``model`` from its ``limits.yaml``."""
    table = provider_table(package, "limits", provider)
    models = table.get("models") or {}
    _key, entry = lookup_model(models, model)
    kinds = table.get("kinds") or Limits().kinds
    token_limit = entry.get("token_limit") or table.get("default_token_limit")
    serving = {str(k): _serving(row or {}, table) for k, row in models.items()}
    return Limits(
        **_ints(table, "min_examples", "max_file_bytes", "max_suffix", "max_epochs"),
        kinds={str(k): tuple(v) for k, v in kinds.items()},
        preference_single_turn=bool(table.get("preference_single_turn")),
        token_limit=int(token_limit) if token_limit else None,
        tunable_models=tuple(str(k) for k in models),
        method_models={
            str(method): tuple(str(m) for m in prefixes or ())
            for method, prefixes in (table.get("method_models") or {}).items()
        },
        serves_tuned=_serving(entry, table),
        serving_models=tuple(k for k, how in serving.items() if how in ("any", "lora")),
        family=tuple(str(f) for f in table.get("family") or ()),
        hosted_only=bool(table.get("hosted_only")),
        severities={str(k): v for k, v in (table.get("severities") or {}).items() if v in _SEVERITIES},
        as_of=str(table["as_of"]) if table.get("as_of") else None,
        source=table.get("source"),
    )


def table_price(package: str, provider: str, model: str) -> tuple[str | None, dict[str, Any], dict[str, Any]]:
    """(the matching row's key, the row, the whole table) of ``prices.yaml``."""
    table = provider_table(package, "prices", provider)
    key, entry = lookup_model(table.get("models") or {}, model)
    return key, entry, table


def table_training_cost(
    package: str, provider: str, config: TuneConfig, estimate: CostEstimate, *, rate_key: str | None = None
) -> CostEstimate:
    """Bill the estimate's tokens at the model's ``rate_key`` price (default: the method's rate, see below).

    SFT is priced at ``training_per_1m``, DPO at ``dpo_per_1m``, RFT at ``rft_per_1m``
    (a service that lists none gets a note, not the SFT price). The row's date and
    source go with the estimate; an hourly reinforcement rate (method rft, or a
    grader in the options) is named instead of a token price.
    """
    key, entry, table = table_price(package, provider, config.model)
    estimate.currency = str(table.get("currency", "USD"))
    if key is None:
        estimate.notes.append(f"no {provider} price for {config.model}: add it to prices.yaml")
        return estimate
    estimate.prices_as_of = str(entry.get("as_of") or table.get("as_of") or "") or None
    estimate.prices_source = entry.get("source") or table.get("source")
    hourly = entry.get("reinforcement_per_hour")
    reinforcement = config.method == "rft" or bool(config.provider_options.get("grader"))  # a grader makes it so
    if reinforcement and hourly is not None:
        estimate.notes.append(f"reinforcement fine-tuning is billed {float(hourly):.2f} per hour of training time")
        return estimate
    # Reinforcement fine-tuning samples and scores answers: never priced as the dataset's tokens at the SFT rate.
    default = {"dpo": "dpo_per_1m", "rft": "rft_per_1m"}.get(config.method, "training_per_1m")
    rate = entry.get(rate_key or default)
    price_tokens(estimate, rate, what=f"{config.method} on {key} ({provider} lists none)")
    return estimate


def table_inference_price(package: str, provider: str, model: str, *, tuned: bool) -> tuple[float, float] | None:
    """(input, output) per 1M tokens of ``model`` (its tuned rate when ``tuned`` and listed), or None."""
    key, entry, _table = table_price(package, provider, model)
    if key is None:
        return None
    prefix = "tuned_" if tuned and "tuned_input_per_1m" in entry else ""
    try:
        return float(entry[f"{prefix}input_per_1m"]), float(entry[f"{prefix}output_per_1m"])
    except (KeyError, TypeError, ValueError):
        return None


def table_hosting_cost(package: str, provider: str, model: str, sku: str) -> HostingCost:
    """The hourly fee (and lifetime) of hosting a model tuned from ``model`` on ``sku`` (its ``skus`` row)."""
    _key, entry, table = table_price(package, provider, model)
    tier = (table.get("skus") or {}).get(sku) or {}
    per_hour = tier["per_hour"] if "per_hour" in tier else entry.get("hosting_per_hour")
    lifetime = tier.get("lifetime_hours")
    return HostingCost(
        per_hour=float(per_hour) if per_hour is not None else None,
        sku=sku,
        lifetime_hours=float(lifetime) if lifetime is not None else None,
        currency=str(table.get("currency", "USD")),
        as_of=str(tier.get("as_of") or entry.get("as_of") or table.get("as_of") or "") or None,
        source=tier.get("source") or entry.get("source") or table.get("source"),
    )
