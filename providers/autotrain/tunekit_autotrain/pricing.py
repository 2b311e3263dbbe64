"""What an AutoTrain run costs: GPU hours on the chosen Hugging Face flavor, from the ``prices.yaml`` shipped here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tunekit.plugin import price_hours, provider_table
from tunekit_autotrain.options import AutoTrainOptions

if TYPE_CHECKING:
    from tunekit.plugin import CostEstimate, TokenStats, TuneConfig

__all__ = ["STARTUP_HOURS", "price_run"]

STARTUP_HOURS = 0.1
"""Billed before training starts: the image pull and the model download."""


def price_run(provider: str, config: TuneConfig, stats: TokenStats, estimate: CostEstimate) -> CostEstimate:
    table = provider_table("tunekit_autotrain", "prices", provider)
    estimate.currency = str(table.get("currency", "USD"))
    estimate.prices_as_of = str(table["as_of"]) if table.get("as_of") else None
    estimate.prices_source = table.get("source")
    flavor = str(config.provider_options.get("flavor") or AutoTrainOptions.model_fields["flavor"].default)
    spec = (table.get("flavors") or {}).get(flavor)
    if spec is None:
        estimate.hardware = flavor
        estimate.notes.append(f"no price for the flavor {flavor!r}: add it to prices.yaml")
        return estimate
    price_hours(
        config,
        stats,
        estimate,
        hardware=flavor,
        gpu=spec.get("gpu"),
        count=int(spec.get("count") or 0),
        per_hour=float(spec["per_hour"]),
        startup_hours=STARTUP_HOURS,
    )
    return estimate
