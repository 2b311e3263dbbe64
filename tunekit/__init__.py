"""tunekit: fine-tune language models behind one interface, on any provider.

Everything public is importable from here; heavy modules load on first use,
so ``import tunekit`` stays fast and never imports torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tunekit.lazy import lazy_exports

__version__ = "0.1.0"

# name -> module that defines it; imported on first attribute access.
_EXPORTS: dict[str, str] = {
    "Tuner": "tunekit.tuner",
    "TuneConfig": "tunekit.config",
    "DataConfig": "tunekit.config",
    "Hyperparameters": "tunekit.config",
    "LoraConfig": "tunekit.config",
    "EvalConfig": "tunekit.config",
    "DeployConfig": "tunekit.config",
    "load_config": "tunekit.config",
    "parse_config": "tunekit.config",
    "config_hash": "tunekit.config",
    "Provider": "tunekit.provider",
    "RunContext": "tunekit.provider",
    "PreparedData": "tunekit.provider",
    "JobRef": "tunekit.provider",
    "Checkpoint": "tunekit.provider",
    "FineTunedModel": "tunekit.provider",
    "NoOptions": "tunekit.provider",
    "Job": "tunekit.jobs",
    "JobState": "tunekit.states",
    "JobStatus": "tunekit.states",
    "JobEvent": "tunekit.states",
    "normalize_status": "tunekit.states",
    "Ledger": "tunekit.ledger",
    "RunRecord": "tunekit.ledger",
    "DeploymentRecord": "tunekit.ledger",
    "Lineage": "tunekit.ledger",
    "installed_providers": "tunekit.registry",
    "get_provider_class": "tunekit.registry",
    "create_provider": "tunekit.registry",
    "register_provider": "tunekit.registry",
    "ChatClient": "tunekit.inference.base",
    "ChatResult": "tunekit.inference.base",
    "Usage": "tunekit.inference.base",
    "OpenAIChatClient": "tunekit.inference.openai_client",
    "HuggingFaceChatClient": "tunekit.inference.hf_client",
    "RateLimiter": "tunekit.inference.ratelimit",
    "map_openai_error": "tunekit.inference.openai_errors",
    "RetryPolicy": "tunekit.retry",
    "migrate": "tunekit.migration.flow",
    "Certificate": "tunekit.migration.certificate",
    "evaluate": "tunekit.evaluate.runner",
    "evaluate_run": "tunekit.evaluate.runs",
    "EvalReport": "tunekit.evaluate.report",
    "Candidate": "tunekit.evaluate.candidates",
    "DatasetSplits": "tunekit.data.splits",
    "Message": "tunekit.data",
    "ChatExample": "tunekit.data",
    "PreferenceExample": "tunekit.data",
    "PromptCompletionExample": "tunekit.data",
    "TextExample": "tunekit.data",
    "Example": "tunekit.data",
    "ValidationReport": "tunekit.data",
    "Finding": "tunekit.data",
    "TokenStats": "tunekit.data",
    "CostEstimate": "tunekit.data",
    "TokenCounter": "tunekit.data",
    "read_examples": "tunekit.data",
    "detect_format": "tunekit.data",
    "write_examples": "tunekit.data",
    "validate_data": "tunekit.data",
    "load_splits": "tunekit.data",
    "count_tokens": "tunekit.data",
    "estimate_cost": "tunekit.data",
    "to_openai_rows": "tunekit.data",
    "to_trl_rows": "tunekit.data",
    "to_autotrain_rows": "tunekit.data",
    "check_endpoint": "tunekit.endpoints",
    "get_logger": "tunekit.secrets",
    "redact": "tunekit.secrets",
    "register_secret": "tunekit.secrets",
    # the exception tree
    "TunekitError": "tunekit.errors",
    "ConfigError": "tunekit.errors",
    "ProviderNotFoundError": "tunekit.errors",
    "DataError": "tunekit.errors",
    "DependencyMissingError": "tunekit.errors",
    "LedgerError": "tunekit.errors",
    "RunNotFoundError": "tunekit.errors",
    "RunLockedError": "tunekit.errors",
    "UnsupportedOperationError": "tunekit.errors",
    "ServingError": "tunekit.errors",
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
    "JobLostError": "tunekit.errors",
}

__all__ = ["__version__", *sorted(_EXPORTS)]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)


# Explicit "X as X" re-exports: type checkers cannot read the computed __all__ above.
if TYPE_CHECKING:
    from tunekit.config import (
        DataConfig as DataConfig,
        DeployConfig as DeployConfig,
        EvalConfig as EvalConfig,
        Hyperparameters as Hyperparameters,
        LoraConfig as LoraConfig,
        TuneConfig as TuneConfig,
        config_hash as config_hash,
        load_config as load_config,
        parse_config as parse_config,
    )
    from tunekit.data import (
        ChatExample as ChatExample,
        CostEstimate as CostEstimate,
        Example as Example,
        Finding as Finding,
        Message as Message,
        PreferenceExample as PreferenceExample,
        PromptCompletionExample as PromptCompletionExample,
        TextExample as TextExample,
        TokenCounter as TokenCounter,
        TokenStats as TokenStats,
        ValidationReport as ValidationReport,
        count_tokens as count_tokens,
        detect_format as detect_format,
        estimate_cost as estimate_cost,
        load_splits as load_splits,
        read_examples as read_examples,
        to_autotrain_rows as to_autotrain_rows,
        to_openai_rows as to_openai_rows,
        to_trl_rows as to_trl_rows,
        validate_data as validate_data,
        write_examples as write_examples,
    )
    from tunekit.data.splits import DatasetSplits as DatasetSplits
    from tunekit.endpoints import check_endpoint as check_endpoint
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
        JobLostError as JobLostError,
        JobNotFinishedError as JobNotFinishedError,
        LedgerError as LedgerError,
        NotFoundError as NotFoundError,
        PermissionDeniedError as PermissionDeniedError,
        ProviderError as ProviderError,
        ProviderNotFoundError as ProviderNotFoundError,
        QuotaExceededError as QuotaExceededError,
        RateLimitedError as RateLimitedError,
        RunLockedError as RunLockedError,
        RunNotFoundError as RunNotFoundError,
        ServiceUnavailableError as ServiceUnavailableError,
        ServingError as ServingError,
        TunekitError as TunekitError,
        UnsupportedOperationError as UnsupportedOperationError,
    )
    from tunekit.evaluate.candidates import Candidate as Candidate
    from tunekit.evaluate.report import EvalReport as EvalReport
    from tunekit.evaluate.runner import evaluate as evaluate
    from tunekit.evaluate.runs import evaluate_run as evaluate_run
    from tunekit.inference.base import ChatClient as ChatClient, ChatResult as ChatResult, Usage as Usage
    from tunekit.inference.hf_client import HuggingFaceChatClient as HuggingFaceChatClient
    from tunekit.inference.openai_client import OpenAIChatClient as OpenAIChatClient
    from tunekit.inference.openai_errors import map_openai_error as map_openai_error
    from tunekit.inference.ratelimit import RateLimiter as RateLimiter
    from tunekit.jobs import Job as Job
    from tunekit.ledger import (
        DeploymentRecord as DeploymentRecord,
        Ledger as Ledger,
        Lineage as Lineage,
        RunRecord as RunRecord,
    )
    from tunekit.migration.certificate import Certificate as Certificate
    from tunekit.migration.flow import migrate as migrate
    from tunekit.provider import (
        Checkpoint as Checkpoint,
        FineTunedModel as FineTunedModel,
        JobRef as JobRef,
        NoOptions as NoOptions,
        PreparedData as PreparedData,
        Provider as Provider,
        RunContext as RunContext,
    )
    from tunekit.registry import (
        create_provider as create_provider,
        get_provider_class as get_provider_class,
        installed_providers as installed_providers,
        register_provider as register_provider,
    )
    from tunekit.retry import RetryPolicy as RetryPolicy
    from tunekit.secrets import get_logger as get_logger, redact as redact, register_secret as register_secret
    from tunekit.states import (
        JobEvent as JobEvent,
        JobState as JobState,
        JobStatus as JobStatus,
        normalize_status as normalize_status,
    )
    from tunekit.tuner import Tuner as Tuner
