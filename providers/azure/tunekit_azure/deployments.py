"""Deployments of tuned models on an Azure OpenAI resource, through Resource Manager.

A fine-tuned model answers nothing on Azure until it is deployed, and a
deployed fine-tuned model is billed by the hour for as long as the deployment
exists, whether it serves requests or not. So deploying says so, loudly, and
undeploying is one command.

Creating is idempotent: the deployment is looked up first; one that already
serves the same model is adopted (and waited for, if still being created),
one that serves another model is a name taken and is refused before anything
changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tunekit.plugin import ConfigError, ConflictError, get_logger
from tunekit_azure.arm import ArmClient, arm_path
from tunekit_azure.errors import PROVIDER

__all__ = [
    "BILLING_WARNING",
    "SKUS",
    "AccountScope",
    "Deployment",
    "DeploymentManager",
    "check_deployment_name",
    "deployment_body",
    "normalize_sku",
]

logger = get_logger("tunekit.azure.deploy")

SKUS = ("Standard", "GlobalStandard", "DeveloperTier", "ProvisionedManaged")
"""Deployment types a fine-tuned model can be served with, as Resource Manager names them."""

SKU_ALIASES = {"developer": "DeveloperTier"}
"""The portal's name for a deployment type -> the sku name Resource Manager takes (fine-tune-test sample)."""

BILLING_WARNING = "deployment {name} of {model}: {hosting}; delete it when done: tunekit undeploy {run}"

_BUSY = frozenset({"creating", "updating", "accepted", "deleting"})
_DEPLOYMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{1,63}$")


def normalize_sku(sku: str) -> str:
    """The canonical spelling of a sku name (ARM ignores case, the docs do not); ``Developer`` is DeveloperTier."""
    sku = SKU_ALIASES.get(sku.lower(), sku)
    for known in SKUS:
        if known.lower() == sku.lower():
            return known
    raise ConfigError(f"deploy.sku: unknown sku {sku!r}; choose one of {', '.join(SKUS)}")


def check_deployment_name(name: str) -> str | None:
    """Why ``name`` cannot name a deployment, or None."""
    if not _DEPLOYMENT_NAME.match(name):
        return f"deployment name {name!r}: 2 to 64 letters, digits, '_', '-' or '.', the first a letter or digit"
    return None


@dataclass(frozen=True)
class AccountScope:
    """One Azure OpenAI resource, as Resource Manager names it."""

    subscription_id: str
    resource_group: str
    account: str

    @property
    def resource_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.CognitiveServices/accounts/{self.account}"
        )

    def deployment_path(self, name: str) -> str:
        return arm_path(
            "subscriptions",
            self.subscription_id,
            "resourceGroups",
            self.resource_group,
            "providers",
            "Microsoft.CognitiveServices",
            "accounts",
            self.account,
            "deployments",
            name,
        )


@dataclass(frozen=True)
class Deployment:
    """What Resource Manager says about a deployment."""

    name: str
    model: str | None
    sku: str | None
    capacity: int | None
    state: str | None
    resource_id: str | None

    @classmethod
    def from_resource(cls, name: str, resource: dict[str, Any]) -> Deployment:
        properties = resource.get("properties") or {}
        model = properties.get("model") or {}
        sku = resource.get("sku") or {}
        capacity = sku.get("capacity")
        return cls(
            name=str(resource.get("name") or name),
            model=model.get("name"),
            sku=sku.get("name"),
            capacity=int(capacity) if isinstance(capacity, (int, float)) else None,
            state=properties.get("provisioningState"),
            resource_id=resource.get("id"),
        )


def deployment_body(model: str, *, sku: str, capacity: int, source: str | None = None) -> dict[str, Any]:
    """The ``PUT`` body that serves ``model`` (a fine-tuned model or checkpoint id)."""
    spec: dict[str, Any] = {"format": "OpenAI", "name": model, "version": "1"}
    if source is not None:
        spec["source"] = source  # the resource that trained it, for a deploy into another region or subscription
    return {"sku": {"name": normalize_sku(sku), "capacity": capacity}, "properties": {"model": spec}}


class DeploymentManager:
    """Create, read and delete deployments on ``target``; models come from ``source``."""

    def __init__(self, arm: ArmClient, *, source: AccountScope, target: AccountScope, timeout: float) -> None:
        self.arm = arm
        self.source = source
        self.target = target
        self.timeout = timeout

    @property
    def cross_resource(self) -> bool:
        return self.source != self.target

    def get(self, name: str) -> Deployment | None:
        resource = self.arm.get(self.target.deployment_path(name), what=f"read deployment {name}")
        return None if resource is None else Deployment.from_resource(name, resource)

    def create(self, name: str, model: str, *, sku: str, capacity: int) -> Deployment:
        """Deploy ``model`` as ``name`` and wait until it succeeded."""
        problem = check_deployment_name(name)
        if problem:
            raise ConfigError(problem)
        body = deployment_body(
            model, sku=sku, capacity=capacity, source=self.source.resource_id if self.cross_resource else None
        )
        what = f"deploy {model} as {name}"
        path = self.target.deployment_path(name)
        existing = self.get(name)
        if existing is not None and (existing.state or "").lower() in _BUSY:
            # Another operation holds it: an earlier deploy of ours cut short, or a delete still running.
            logger.info("deployment %s is %s; waiting for that to finish", name, existing.state)
            deleting = (existing.state or "").lower() == "deleting"
            self.arm.wait_for(path, what=f"wait for deployment {name}", timeout=self.timeout, gone=deleting)
            existing = None if deleting else self.get(name)
        if existing is not None:
            if existing.model != model:
                raise ConflictError(
                    f"deployment name {name!r} is taken on {self.target.account}: it serves {existing.model}",
                    provider=PROVIDER,
                    status_code=409,
                    code="DeploymentNameTaken",
                    hint="Choose another name (tunekit deploy RUN --name OTHER, or deploy.name in the config), "
                    "or delete that deployment first.",
                )
            same_shape = (existing.sku or "").lower() == normalize_sku(sku).lower() and existing.capacity == capacity
            if same_shape and (existing.state or "").lower() == "succeeded":
                logger.info("deployment %s already serves %s; nothing to change", name, model)
                return existing
            logger.info("deployment %s exists (%s); updating it", name, existing.state)
        resource = self.arm.put_and_wait(path, body, what=what, timeout=self.timeout)
        return Deployment.from_resource(name, resource)

    def delete(self, name: str) -> bool:
        """Delete the deployment and wait until it is gone; False when it did not exist."""
        return self.arm.delete_and_wait(
            self.target.deployment_path(name), what=f"delete deployment {name}", timeout=self.timeout
        )
