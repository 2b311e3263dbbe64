"""What an Azure deployment of a tuned model costs, by sku, from the ``prices.yaml`` shipped here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tunekit.plugin import ConfigError, HostingCost
from tunekit_azure.deployments import normalize_sku
from tunekit_openai.pricing import model_price

if TYPE_CHECKING:
    from tunekit.plugin import DeployConfig

__all__ = ["hosting_cost"]


def hosting_cost(package: str, provider: str, model: str, deploy: DeployConfig | None) -> HostingCost:
    """The hourly fee (and lifetime) of deploying a model tuned from ``model`` with ``deploy``'s sku (Standard)."""
    try:
        sku = normalize_sku(deploy.sku if deploy is not None else "Standard")
    except ConfigError:
        sku = deploy.sku if deploy is not None else "Standard"  # check() reports it; price it as Standard
    _key, entry, table = model_price(package, provider, model)
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
