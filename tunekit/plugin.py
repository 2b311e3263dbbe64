"""The plugin interface (SPI): the one module a provider package imports.

Everything a provider needs from the core is re-exported here, so the core's
module layout can change without breaking a plugin::

    from tunekit.plugin import FineTunedModel, JobRef, PreparedData, Provider, RunContext, get_logger

    class MyProvider(Provider[MyOptions]):
        name = "mine"
        Options = MyOptions
        ...

Names load on first use (like :mod:`tunekit`), so importing this module
imports no SDK and no torch. A name missing here that a provider needs
belongs here: add it to ``_EXPORTS`` and to the ``TYPE_CHECKING`` block.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tunekit.lazy import lazy_exports as lazy_exports  # also for plugins: their own lazy packages

# name -> module that defines it; imported on first attribute access.
_EXPORTS: dict[str, str] = {
    # the contract and the values it passes
    "Provider": "tunekit.provider",
    "NoOptions": "tunekit.provider",
    "PreparedData": "tunekit.provider",
    "JobRef": "tunekit.provider",
    "Checkpoint": "tunekit.provider",
    "FineTunedModel": "tunekit.provider",
    "RunContext": "tunekit.provider",
    "JobStatus": "tunekit.states",
    "JobState": "tunekit.states",
    "JobEvent": "tunekit.states",
    "normalize_status": "tunekit.states",
    "state_events": "tunekit.states",
    "events_after": "tunekit.states",
    # configuration
    "TuneConfig": "tunekit.config",
    "DeployConfig": "tunekit.config",
    "TrackingConfig": "tunekit.config",
    "parse_config": "tunekit.config",
    # data
    "DatasetSplits": "tunekit.data.splits",
    "write_examples": "tunekit.data.writers",
    "autotrain_params": "tunekit.data.writers",
    "target_epochs": "tunekit.data.cost",
    # what the data layer asks a provider (the limits, token counter and cost hooks)
    "Limits": "tunekit.data.profile",
    "HostingCost": "tunekit.data.profile",
    "CostEstimate": "tunekit.data.cost",
    "TokenStats": "tunekit.data.stats",
    "TokenCounter": "tunekit.data.tokens",
    "TiktokenCounter": "tunekit.data.tokens",
    "encoding_for_model": "tunekit.data.tokens",
    "price_tokens": "tunekit.data.cost",
    "price_hours": "tunekit.data.cost",
    "provider_table": "tunekit.data.tables",
    "table_limits": "tunekit.data.price_tables",
    "table_price": "tunekit.data.price_tables",
    "table_training_cost": "tunekit.data.price_tables",
    "table_inference_price": "tunekit.data.price_tables",
    "table_hosting_cost": "tunekit.data.price_tables",
    "EndpointInstance": "tunekit.data.endpoint_prices",
    "endpoint_hosting_cost": "tunekit.data.endpoint_prices",
    "endpoint_instance": "tunekit.data.endpoint_prices",
    # Hugging Face Inference Endpoints for results that live in Hub repos
    "HubAccess": "tunekit.serve.inference_endpoints",
    "HubConnection": "tunekit.serve.hub_connection",
    "deploy_endpoint": "tunekit.serve.inference_endpoints",
    "delete_endpoint": "tunekit.serve.inference_endpoints",
    "pause_endpoint": "tunekit.serve.inference_endpoints",
    "resume_endpoint": "tunekit.serve.inference_endpoints",
    "endpoint_client": "tunekit.serve.inference_endpoints",
    "endpoint_base_client": "tunekit.serve.inference_endpoints",
    "endpoint_serves_base": "tunekit.serve.inference_endpoints",
    "endpoint_config_problems": "tunekit.serve.inference_endpoints",
    # canonical examples (what ``DatasetSplits`` holds) and their writers
    "Example": "tunekit.data.examples",
    "ChatExample": "tunekit.data.examples",
    "PromptCompletionExample": "tunekit.data.examples",
    "PreferenceExample": "tunekit.data.examples",
    "TextExample": "tunekit.data.examples",
    "to_openai_rows": "tunekit.data.writers",
    "to_trl_rows": "tunekit.data.writers",
    "to_autotrain_rows": "tunekit.data.writers",
    # reward functions (reinforcement fine-tuning): metrics scored on sampled completions
    "EvalItem": "tunekit.evaluate.candidates",
    "Metric": "tunekit.evaluate.metrics",
    "RewardFunction": "tunekit.evaluate.rewards",
    "check_reward_columns": "tunekit.evaluate.rewards",
    "check_reward_data": "tunekit.evaluate.rewards",
    "portable_source": "tunekit.evaluate.reward_source",
    "reward_script": "tunekit.evaluate.reward_source",
    "check_reward_spread": "tunekit.evaluate.rewards",
    "resolve_rewards": "tunekit.evaluate.rewards",
    "reward_items": "tunekit.evaluate.rewards",
    "reward_rows": "tunekit.evaluate.rewards",
    # chat clients
    "ChatClient": "tunekit.inference.base",
    "ChatResult": "tunekit.inference.base",
    "Usage": "tunekit.inference.base",
    "OpenAIChatClient": "tunekit.inference.openai_client",
    "HuggingFaceChatClient": "tunekit.inference.hf_client",
    "LocalChatClient": "tunekit.inference.local",
    "map_openai_error": "tunekit.inference.openai_errors",
    "map_hf_error": "tunekit.inference.hf_client",
    "error_for_status": "tunekit.inference.http_errors",
    # models on disk
    "ADAPTER_METADATA": "tunekit.inference.loading",
    "adapter_base_model": "tunekit.inference.loading",
    "load_causal_lm": "tunekit.inference.loading",
    "load_tokenizer": "tunekit.inference.loading",
    "resolve_model": "tunekit.inference.loading",
    "openmp_environment": "tunekit.inference.loading",
    # the remote toolkit: create-with-find, retry and poll options, content-hash uploads
    "ClientConnection": "tunekit.remote",
    "RemoteConnection": "tunekit.remote",
    "RemoteFile": "tunekit.remote",
    "RemoteOptions": "tunekit.remote",
    "content_hash": "tunekit.remote",
    "content_name": "tunekit.remote",
    "download_files": "tunekit.remote",
    "slug_id": "tunekit.remote",
    "poll_until": "tunekit.remote",
    "create_with_find": "tunekit.remote",
    "recorded_upload": "tunekit.remote",
    "resolve_secret": "tunekit.remote",
    "resolve_url": "tunekit.remote",
    "upload_once": "tunekit.remote",
    "unpack_archive": "tunekit.remote",
    # dedicated deployments: created once, waited for, deleted when they do not start
    "Rental": "tunekit.remote_deploy",
    "rent": "tunekit.remote_deploy",
    "return_rental": "tunekit.remote_deploy",
    # tables a provider ships (prices, limits, shutdown dates)
    "load_table": "tunekit.data.tables",
    "lookup_model": "tunekit.data.tables",
    "Retirement": "tunekit.retirement",
    "parse_table": "tunekit.retirement",
    # CLI commands a provider contributes (the tunekit.cli entry-point group)
    "console": "tunekit.cli.output",
    "err_console": "tunekit.cli.output",
    "format_validation_error": "tunekit.config",
    "lazy_exports": "tunekit.lazy",
    "merge_adapter": "tunekit.inference.merge",
    # retries, secrets, endpoints, files
    "DEFAULT_RETRY": "tunekit.retry",
    "RetryPolicy": "tunekit.retry",
    "remaining_time": "tunekit.retry",
    "retry_after_of": "tunekit.retry",
    "status_code_of": "tunekit.retry",
    "MASK": "tunekit.secrets",
    "get_logger": "tunekit.secrets",
    "redact": "tunekit.secrets",
    "register_secret": "tunekit.secrets",
    "check_endpoint": "tunekit.endpoints",
    "unreachable": "tunekit.endpoints",
    "tunekit_home": "tunekit.paths",
    # the errors a provider raises
    "TunekitError": "tunekit.errors",
    "ConfigError": "tunekit.errors",
    "DataError": "tunekit.errors",
    "DependencyMissingError": "tunekit.errors",
    "UnsupportedOperationError": "tunekit.errors",
    "ProviderError": "tunekit.errors",
    "AuthenticationError": "tunekit.errors",
    "PermissionDeniedError": "tunekit.errors",
    "FineTuningUnavailableError": "tunekit.errors",
    "QuotaExceededError": "tunekit.errors",
    "NotFoundError": "tunekit.errors",
    "InvalidRequestError": "tunekit.errors",
    "ConflictError": "tunekit.errors",
    "DeploymentFailedError": "tunekit.errors",
    "RateLimitedError": "tunekit.errors",
    "ServiceUnavailableError": "tunekit.errors",
    "JobError": "tunekit.errors",
    "JobFailedError": "tunekit.errors",
    "JobNotFinishedError": "tunekit.errors",
    "JobCancelledError": "tunekit.errors",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)


# Explicit "X as X" re-exports: type checkers cannot read the computed __all__ above.
if TYPE_CHECKING:
    from tunekit.cli.output import console as console, err_console as err_console
    from tunekit.config import (
        DeployConfig as DeployConfig,
        TrackingConfig as TrackingConfig,
        TuneConfig as TuneConfig,
        format_validation_error as format_validation_error,
        parse_config as parse_config,
    )
    from tunekit.data.cost import (
        CostEstimate as CostEstimate,
        price_hours as price_hours,
        price_tokens as price_tokens,
        target_epochs as target_epochs,
    )
    from tunekit.data.endpoint_prices import (
        EndpointInstance as EndpointInstance,
        endpoint_hosting_cost as endpoint_hosting_cost,
        endpoint_instance as endpoint_instance,
    )
    from tunekit.data.examples import (
        ChatExample as ChatExample,
        Example as Example,
        PreferenceExample as PreferenceExample,
        PromptCompletionExample as PromptCompletionExample,
        TextExample as TextExample,
    )
    from tunekit.data.price_tables import (
        table_hosting_cost as table_hosting_cost,
        table_inference_price as table_inference_price,
        table_limits as table_limits,
        table_price as table_price,
        table_training_cost as table_training_cost,
    )
    from tunekit.data.profile import HostingCost as HostingCost, Limits as Limits
    from tunekit.data.splits import DatasetSplits as DatasetSplits
    from tunekit.data.stats import TokenStats as TokenStats
    from tunekit.data.tables import (
        load_table as load_table,
        lookup_model as lookup_model,
        provider_table as provider_table,
    )
    from tunekit.data.tokens import (
        TiktokenCounter as TiktokenCounter,
        TokenCounter as TokenCounter,
        encoding_for_model as encoding_for_model,
    )
    from tunekit.data.writers import (
        autotrain_params as autotrain_params,
        to_autotrain_rows as to_autotrain_rows,
        to_openai_rows as to_openai_rows,
        to_trl_rows as to_trl_rows,
        write_examples as write_examples,
    )
    from tunekit.endpoints import check_endpoint as check_endpoint, unreachable as unreachable
    from tunekit.errors import (
        AuthenticationError as AuthenticationError,
        ConfigError as ConfigError,
        ConflictError as ConflictError,
        DataError as DataError,
        DependencyMissingError as DependencyMissingError,
        DeploymentFailedError as DeploymentFailedError,
        FineTuningUnavailableError as FineTuningUnavailableError,
        InvalidRequestError as InvalidRequestError,
        JobCancelledError as JobCancelledError,
        JobError as JobError,
        JobFailedError as JobFailedError,
        JobNotFinishedError as JobNotFinishedError,
        NotFoundError as NotFoundError,
        PermissionDeniedError as PermissionDeniedError,
        ProviderError as ProviderError,
        QuotaExceededError as QuotaExceededError,
        RateLimitedError as RateLimitedError,
        ServiceUnavailableError as ServiceUnavailableError,
        TunekitError as TunekitError,
        UnsupportedOperationError as UnsupportedOperationError,
    )
    from tunekit.evaluate.candidates import EvalItem as EvalItem
    from tunekit.evaluate.metrics import Metric as Metric
    from tunekit.evaluate.reward_source import portable_source as portable_source, reward_script as reward_script
    from tunekit.evaluate.rewards import (
        RewardFunction as RewardFunction,
        check_reward_columns as check_reward_columns,
        check_reward_data as check_reward_data,
        check_reward_spread as check_reward_spread,
        resolve_rewards as resolve_rewards,
        reward_items as reward_items,
        reward_rows as reward_rows,
    )
    from tunekit.inference.base import ChatClient as ChatClient, ChatResult as ChatResult, Usage as Usage
    from tunekit.inference.hf_client import HuggingFaceChatClient as HuggingFaceChatClient, map_hf_error as map_hf_error
    from tunekit.inference.http_errors import error_for_status as error_for_status
    from tunekit.inference.loading import (
        ADAPTER_METADATA as ADAPTER_METADATA,
        adapter_base_model as adapter_base_model,
        load_causal_lm as load_causal_lm,
        load_tokenizer as load_tokenizer,
        openmp_environment as openmp_environment,
        resolve_model as resolve_model,
    )
    from tunekit.inference.local import LocalChatClient as LocalChatClient
    from tunekit.inference.merge import merge_adapter as merge_adapter
    from tunekit.inference.openai_client import OpenAIChatClient as OpenAIChatClient
    from tunekit.inference.openai_errors import map_openai_error as map_openai_error
    from tunekit.paths import tunekit_home as tunekit_home
    from tunekit.provider import (
        Checkpoint as Checkpoint,
        FineTunedModel as FineTunedModel,
        JobRef as JobRef,
        NoOptions as NoOptions,
        PreparedData as PreparedData,
        Provider as Provider,
        RunContext as RunContext,
    )
    from tunekit.remote import (
        ClientConnection as ClientConnection,
        RemoteConnection as RemoteConnection,
        RemoteFile as RemoteFile,
        RemoteOptions as RemoteOptions,
        content_hash as content_hash,
        content_name as content_name,
        create_with_find as create_with_find,
        download_files as download_files,
        poll_until as poll_until,
        recorded_upload as recorded_upload,
        resolve_secret as resolve_secret,
        resolve_url as resolve_url,
        slug_id as slug_id,
        unpack_archive as unpack_archive,
        upload_once as upload_once,
    )
    from tunekit.remote_deploy import Rental as Rental, rent as rent, return_rental as return_rental
    from tunekit.retirement import Retirement as Retirement, parse_table as parse_table
    from tunekit.retry import (
        DEFAULT_RETRY as DEFAULT_RETRY,
        RetryPolicy as RetryPolicy,
        remaining_time as remaining_time,
        retry_after_of as retry_after_of,
        status_code_of as status_code_of,
    )
    from tunekit.secrets import (
        MASK as MASK,
        get_logger as get_logger,
        redact as redact,
        register_secret as register_secret,
    )
    from tunekit.serve.hub_connection import HubConnection as HubConnection
    from tunekit.serve.inference_endpoints import (
        HubAccess as HubAccess,
        delete_endpoint as delete_endpoint,
        deploy_endpoint as deploy_endpoint,
        endpoint_base_client as endpoint_base_client,
        endpoint_client as endpoint_client,
        endpoint_config_problems as endpoint_config_problems,
        endpoint_serves_base as endpoint_serves_base,
        pause_endpoint as pause_endpoint,
        resume_endpoint as resume_endpoint,
    )
    from tunekit.states import (
        JobEvent as JobEvent,
        JobState as JobState,
        JobStatus as JobStatus,
        events_after as events_after,
        normalize_status as normalize_status,
        state_events as state_events,
    )
