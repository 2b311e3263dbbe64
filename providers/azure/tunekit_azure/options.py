"""The Azure provider's own config section (``provider_options``).

Two planes, two sets of credentials: the *data plane* (the Azure OpenAI
resource's endpoint: files, fine-tuning jobs, chat) takes an API key or a
Microsoft Entra ID token; the *control plane* (Azure Resource Manager, which
creates and deletes deployments) only takes Entra ID tokens, usually for a
different audience and often for a different identity.
"""

from __future__ import annotations

import os
import re
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from tunekit.plugin import MASK, ConfigError
from tunekit_openai.options import OpenAIOptions, check_base_url

__all__ = [
    "ARM_SCOPE",
    "COGNITIVE_SCOPE",
    "DEFAULT_ARM_API_VERSION",
    "DEFAULT_ARM_URL",
    "V1",
    "ArmOptions",
    "AzureOptions",
    "DeployTarget",
    "TrainingType",
]

V1 = "v1"
"""``api_version: v1`` selects the version-less ``/openai/v1/`` API."""

COGNITIVE_SCOPE = "https://cognitiveservices.azure.com/.default"
ARM_SCOPE = "https://management.azure.com/.default"
DEFAULT_ARM_URL = "https://management.azure.com"
DEFAULT_ARM_API_VERSION = "2024-10-01"

TrainingType = Literal["Standard", "GlobalStandard", "Developer"]

_API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$|^preview$|^latest$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,89}$")
# Keys of the OpenAI options that mean nothing on Azure; refused rather than silently ignored.
_NOT_ON_AZURE = {
    "organization": "Azure resources have no OpenAI organization",
    "project": "Azure resources have no OpenAI project",
    "base_url": "give the resource's endpoint instead (https://NAME.openai.azure.com)",
}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _unmasked(value: Any) -> Any:
    # A config read back from the ledger carries the mask where a secret was; the environment supplies it again.
    if value == MASK or (isinstance(value, SecretStr) and value.get_secret_value() == MASK):
        return None
    return value


class DeployTarget(_Section):
    """Another Azure OpenAI resource to deploy into (a cross-region or cross-subscription deploy)."""

    subscription_id: str | None = Field(
        None, description="Subscription of the target resource; the source's when omitted."
    )
    resource_group: str = Field(description="Resource group of the target resource.")
    account: str = Field(description="Name of the target Azure OpenAI resource.")
    endpoint: str | None = Field(
        None, description="Endpoint of the target resource, for chat; https://ACCOUNT.openai.azure.com when omitted."
    )
    api_key: SecretStr | None = Field(
        None, description="Key of the target resource, for chat; the data-plane credential when omitted."
    )

    @field_validator("account", "resource_group")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"{value!r} is not a valid Azure resource name")
        return value

    @field_validator("endpoint")
    @classmethod
    def _safe_endpoint(cls, value: str | None) -> str | None:
        if value is None:
            return None
        problem = check_base_url(value)
        if problem:
            raise ValueError(problem.replace("base_url", "endpoint"))
        return value.rstrip("/")

    _unmask = field_validator("api_key", mode="before")(_unmasked)


class ArmOptions(_Section):
    """Azure Resource Manager: where deployments of the tuned model are created."""

    subscription_id: str | None = Field(None, description="Subscription id; AZURE_SUBSCRIPTION_ID when omitted.")
    resource_group: str | None = Field(None, description="Resource group; AZURE_RESOURCE_GROUP when omitted.")
    account: str | None = Field(
        None,
        description="Azure OpenAI resource name; AZURE_OPENAI_ACCOUNT, else read from an "
        "https://NAME.openai.azure.com endpoint.",
    )
    url: str = Field(DEFAULT_ARM_URL, description="Resource Manager endpoint (another cloud, or an emulator).")
    api_version: str = Field(DEFAULT_ARM_API_VERSION, description="Microsoft.CognitiveServices api-version.")
    token: SecretStr | None = Field(
        None,
        description="A bearer token for Resource Manager (AZURE_ARM_TOKEN when omitted); without one, "
        "DefaultAzureCredential from tunekit-azure[identity] signs in (and refreshes).",
    )
    scope: str = Field(ARM_SCOPE, description="Entra ID scope requested for Resource Manager tokens.")
    target: DeployTarget | None = Field(
        None, description="Deploy into another resource (region, subscription); the model is copied from this one."
    )
    poll_interval: float = Field(5.0, gt=0, description="Seconds between polls of a deployment being created.")
    deploy_timeout: float = Field(3600.0, gt=0, description="Seconds to wait for a deployment to succeed.")

    @field_validator("url")
    @classmethod
    def _safe_url(cls, value: str) -> str:
        problem = check_base_url(value)
        if problem:
            raise ValueError(problem.replace("base_url", "url"))
        return value.rstrip("/")

    _unmask = field_validator("token", mode="before")(_unmasked)


class AzureOptions(OpenAIOptions):
    """How tunekit reaches an Azure OpenAI resource, shapes its jobs and deploys the result."""

    # OpenAI-only settings: refused by _refuse_openai_only, hidden from the schema.
    organization: SkipJsonSchema[None] = None
    project: SkipJsonSchema[None] = None
    base_url: SkipJsonSchema[None] = None

    endpoint: str | None = Field(
        None, description="Resource endpoint, https://NAME.openai.azure.com; AZURE_OPENAI_ENDPOINT when omitted."
    )
    api_key: SecretStr | None = Field(
        None, description="Resource key; AZURE_OPENAI_API_KEY when omitted. Without a key, Entra ID is used."
    )
    api_version: str | None = Field(
        None,
        description="Data-plane api-version (e.g. 2025-04-01-preview), or 'v1' for the /openai/v1/ API; "
        "OPENAI_API_VERSION or AZURE_OPENAI_API_VERSION when omitted.",
    )
    auth: Literal["auto", "key", "entra"] = Field(
        "auto", description="key, entra (Microsoft Entra ID), or auto: the key when there is one, else Entra ID."
    )
    ad_token: SecretStr | None = Field(
        None,
        description="A fixed Entra ID token for the data plane (AZURE_OPENAI_AD_TOKEN when omitted); "
        "without one, DefaultAzureCredential signs in.",
    )
    scope: str = Field(COGNITIVE_SCOPE, description="Entra ID scope requested for data-plane tokens.")
    training_type: TrainingType | None = Field(
        None, description="Where training runs: Standard (the resource's region), GlobalStandard, or Developer."
    )
    training_file_url: SecretStr | None = Field(
        None,
        description="Import the training file from this URL (an Azure Blob SAS URL) instead of uploading data.train; "
        "data.train is still read locally to validate and estimate.",
    )
    validation_file_url: SecretStr | None = Field(None, description="Import the validation file from this URL.")
    base_deployment: str | None = Field(
        None,
        description="The deployment that serves the untuned base model, for evaluation baselines; "
        "a deployment named like the base model when omitted.",
    )
    arm: ArmOptions = Field(default_factory=ArmOptions, description="Resource Manager, for deployments.")

    _unmask = field_validator("api_key", "ad_token", "training_file_url", "validation_file_url", mode="before")(
        _unmasked
    )

    @model_validator(mode="before")
    @classmethod
    def _refuse_openai_only(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, why in _NOT_ON_AZURE.items():
                if data.get(key) is not None:
                    raise ValueError(f"{key} is not used on Azure: {why}")
        return data

    @field_validator("endpoint")
    @classmethod
    def _safe_endpoint(cls, value: str | None) -> str | None:
        if value is None:
            return None
        problem = check_base_url(value)
        if problem:
            raise ValueError(problem.replace("base_url", "endpoint"))
        return value.rstrip("/")

    @field_validator("api_version")
    @classmethod
    def _known_shape(cls, value: str | None) -> str | None:
        if value is None or value == V1:
            return value
        if not _API_VERSION.match(value):
            raise ValueError(f"api_version {value!r} is not YYYY-MM-DD[-preview], 'preview' or 'v1'")
        return value

    # -- resolved from the options and the environment --------------------------------

    def resolved_endpoint(self) -> str:
        endpoint = self.endpoint or os.environ.get("AZURE_OPENAI_ENDPOINT")
        if not endpoint:
            raise ConfigError(
                "no Azure OpenAI endpoint: set provider_options.endpoint (https://NAME.openai.azure.com) "
                "or AZURE_OPENAI_ENDPOINT"
            )
        problem = check_base_url(endpoint)
        if problem:
            raise ConfigError(f"AZURE_OPENAI_ENDPOINT: {problem.replace('base_url', 'endpoint')}")
        return endpoint.rstrip("/")

    def resolved_api_version(self) -> str:
        version = self.api_version or os.environ.get("OPENAI_API_VERSION") or os.environ.get("AZURE_OPENAI_API_VERSION")
        if not version:
            raise ConfigError(
                "no api-version for Azure OpenAI: set provider_options.api_version "
                "(e.g. 2025-04-01-preview), or OPENAI_API_VERSION; or api_version: v1 for the /openai/v1/ API"
            )
        return version

    def resolved_key(self) -> str | None:
        """The resource key, or None when Entra ID signs the requests."""
        if self.auth == "entra":
            return None
        if self.api_key is not None and self.api_key.get_secret_value():
            return self.api_key.get_secret_value()
        key = os.environ.get("AZURE_OPENAI_API_KEY")
        if key:
            return key
        if self.auth == "key":
            raise ConfigError("auth is 'key' but no key is set: set provider_options.api_key or AZURE_OPENAI_API_KEY")
        return None

    def resolved_ad_token(self) -> str | None:
        if self.ad_token is not None and self.ad_token.get_secret_value():
            return self.ad_token.get_secret_value()
        return os.environ.get("AZURE_OPENAI_AD_TOKEN") or None

    def resolved_api_key(self) -> str:
        key = self.resolved_key()
        if key is None:
            raise ConfigError("this Azure resource is reached with Entra ID, not a key")
        return key

    def resolved_base_url(self) -> str | None:
        return self.resolved_endpoint()

    def account_name(self) -> str | None:
        """The resource name: the option, AZURE_OPENAI_ACCOUNT, or the endpoint's first label."""
        if self.arm.account:
            return self.arm.account
        if os.environ.get("AZURE_OPENAI_ACCOUNT"):
            return os.environ["AZURE_OPENAI_ACCOUNT"]
        endpoint = self.endpoint or os.environ.get("AZURE_OPENAI_ENDPOINT") or ""
        host = urlsplit(endpoint).hostname or ""
        for suffix in (".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com"):
            if host.endswith(suffix):
                return host[: -len(suffix)]
        return None
