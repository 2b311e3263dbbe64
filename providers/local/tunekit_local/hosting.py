"""A local run pushed to the Hub (``push_to_hub``), served on a Hugging Face Inference Endpoint.

The endpoint machinery is the core's (``tunekit.plugin.deploy_endpoint``), the
same AutoTrain results use; this module only says which repo holds the run's
model and which token and management API to use.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from tunekit.plugin import ConfigError, FineTunedModel, HubConnection, deploy_endpoint

if TYPE_CHECKING:
    from tunekit.plugin import DeployConfig, RunContext
    from tunekit_local.options import LocalOptions

__all__ = ["deploy_pushed", "hub_connection", "hub_token"]


def hub_token(options: LocalOptions) -> str:
    """The token the run pushed with: ``hub_token``, else ``HF_TOKEN``."""
    token = options.hub_token.get_secret_value() if options.hub_token else os.environ.get("HF_TOKEN")
    if not token:
        raise ConfigError("provider_options.hub_token: deploying to an Inference Endpoint needs a token (or HF_TOKEN)")
    return token


def hub_connection(options: LocalOptions) -> HubConnection:
    # The Hub the worker pushed to: HF_ENDPOINT, as huggingface_hub reads it, else huggingface.co.
    return HubConnection(token=hub_token(options), provider="local", endpoint=os.environ.get("HF_ENDPOINT") or None)


def deploy_pushed(
    options: LocalOptions, hub: HubConnection, model: FineTunedModel, deploy: DeployConfig, run: RunContext
) -> FineTunedModel:
    """Serve the Hub repo the run pushed to; a run that was not pushed is refused before anything is created."""
    repo = model.metadata.get("hub_repo")
    if not repo:
        raise ConfigError(
            f"run {run.run_id} was not pushed to the Hub, so no Inference Endpoint can load it: train with "
            "provider_options.push_to_hub: USER/REPO, or serve it on this machine with `tunekit serve`"
        )
    return deploy_endpoint(
        hub,
        model,
        deploy,
        run,
        repo=str(repo),
        adapter=model.kind == "adapter",
        api_url=options.endpoints_api,
        wait_timeout=options.endpoint_wait,
        poll=options.endpoint_poll_interval,
    )
