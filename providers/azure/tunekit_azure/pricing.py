"""What an Azure deployment of a tuned model costs, by sku, from the ``prices.yaml`` shipped here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tunekit.plugin import ConfigError, table_hosting_cost
from tunekit_azure.deployments import normalize_sku

if TYPE_CHECKING:
    from tunekit.plugin import DeployConfig, HostingCost

__all__ = ["hosting_cost"]


def hosting_cost(package: str, provider: str, model: str, deploy: DeployConfig | None) -> HostingCost:
    """The hourly fee (and lifetime) of deploying a model tuned from ``model`` with ``deploy``'s sku (Standard)."""
    try:
        sku = normalize_sku(deploy.sku if deploy is not None else "Standard")
    except ConfigError:
        sku = deploy.sku if deploy is not None else "Standard"  # check() reports it; price it as Standard
    return table_hosting_cost(package, provider, model, sku)
