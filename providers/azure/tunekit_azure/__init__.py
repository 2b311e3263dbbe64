"""tunekit-azure: fine-tune on Azure OpenAI, deploy the tuned model, chat with it, delete the deployment.

Registered as the ``azure`` provider (entry point group ``tunekit.providers``)::

    provider: azure
    model: gpt-4.1-mini-2025-04-14
    data: {train: train.jsonl}
    suffix: recipes                   # at most 18 characters on Azure
    deploy: {name: recipes, sku: Standard, capacity: 1}
    provider_options:
      endpoint: https://my-resource.openai.azure.com
      api_key: ${AZURE_OPENAI_API_KEY}     # or leave it out to sign in with Entra ID
      api_version: 2025-04-01-preview      # or v1 for the /openai/v1/ API
      training_type: GlobalStandard
      arm: {subscription_id: ..., resource_group: ...}

Deployments are created through Azure Resource Manager and bill by the hour
while they exist; ``tunekit undeploy RUN`` deletes them.
"""

from __future__ import annotations

from tunekit_azure.arm import ArmClient, ArmRetryPolicy, OperationFailedError, OperationTimeoutError
from tunekit_azure.auth import TokenProvider
from tunekit_azure.connection import AzureConnection
from tunekit_azure.deployments import SKUS, AccountScope, Deployment, DeploymentManager
from tunekit_azure.options import ArmOptions, AzureOptions, DeployTarget
from tunekit_azure.provider import MAX_SUFFIX, AzureProvider
from tunekit_azure.states import AZURE_STATUSES

__all__ = [
    "AZURE_STATUSES",
    "MAX_SUFFIX",
    "SKUS",
    "AccountScope",
    "ArmClient",
    "ArmOptions",
    "ArmRetryPolicy",
    "AzureConnection",
    "AzureOptions",
    "AzureProvider",
    "DeployTarget",
    "Deployment",
    "DeploymentManager",
    "OperationFailedError",
    "OperationTimeoutError",
    "TokenProvider",
]
