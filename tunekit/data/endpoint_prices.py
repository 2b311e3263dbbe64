"""What a Hugging Face Inference Endpoint costs by the hour, from the dated table the core ships.

Any provider whose results are Hub repos (AutoTrain's, a local run pushed to
the Hub) serves them on the same Inference Endpoints, so the instance a
``deploy:`` section names and its price are decided here, once:
:func:`endpoint_instance` fills in the defaults the endpoint is created with,
:func:`endpoint_hosting_cost` prices it from ``inference_endpoints.yaml``
(``$TUNEKIT_HOME/inference_endpoints.yaml`` overrides rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tunekit.data.profile import HostingCost
from tunekit.data.tables import load_table

if TYPE_CHECKING:
    from tunekit.config import DeployConfig

__all__ = ["DEFAULT_INSTANCE", "DEFAULT_REGION", "EndpointInstance", "endpoint_hosting_cost", "endpoint_instance"]

DEFAULT_REGION = "aws/us-east-1"
DEFAULT_INSTANCE = ("nvidia-l4", "x1")
"""One L4 (24 GB): the smallest GPU that serves a small model and its adapter with vLLM."""


@dataclass(frozen=True)
class EndpointInstance:
    """Where an endpoint runs: ``vendor``/``region``, ``instance_type`` ``instance_size``."""

    vendor: str
    region: str
    instance_type: str
    instance_size: str

    @property
    def accelerator(self) -> str:
        return "cpu" if self.instance_type.startswith(("intel", "amd")) else "gpu"

    def __str__(self) -> str:
        return f"{self.vendor}/{self.region} {self.instance_type} {self.instance_size}"


def endpoint_instance(deploy: DeployConfig | None) -> EndpointInstance:
    """The instance ``deploy`` asks for, with the defaults filled in."""
    vendor, _, region = ((deploy.region if deploy else None) or DEFAULT_REGION).partition("/")
    return EndpointInstance(
        vendor=vendor,
        region=region or DEFAULT_REGION.partition("/")[2],
        instance_type=(deploy.instance_type if deploy else None) or DEFAULT_INSTANCE[0],
        instance_size=(deploy.instance_size if deploy else None) or DEFAULT_INSTANCE[1],
    )


def endpoint_hosting_cost(deploy: DeployConfig | None) -> HostingCost:
    """The hourly price of the endpoint ``deploy`` describes: one replica's rate times the replicas kept running.

    With ``min_replicas: 0`` nothing bills while the endpoint is scaled to
    zero; the price given is then that of one replica while it serves.
    """
    instance = endpoint_instance(deploy)
    table = load_table("inference_endpoints")
    sizes = ((table.get("instances") or {}).get(instance.vendor) or {}).get(instance.instance_type) or {}
    rate = sizes.get(instance.instance_size)
    low = deploy.min_replicas if deploy else 1
    high = deploy.max_replicas if deploy else 1
    replicas = f"{low}-{high} replicas" if high > low else f"{max(low, 1)} replica{'s' if low > 1 else ''}"
    if low == 0:
        idle = f" after {deploy.scale_to_zero_minutes} idle minutes" if deploy and deploy.scale_to_zero_minutes else ""
        replicas += f", scaled to zero{idle}"
    return HostingCost(
        per_hour=float(rate) * max(low, 1) if rate is not None else None,
        sku=f"{instance}, {replicas}",
        currency=str(table.get("currency", "USD")),
        as_of=str(table["as_of"]) if table.get("as_of") else None,
        source=table.get("source"),
        scales_to_zero=low == 0,
    )
