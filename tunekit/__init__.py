"""tunekit: fine-tune language models behind one interface, on any provider.

Everything public is importable from here; heavy modules load on first use,
so ``import tunekit`` stays fast and never imports torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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
    "JobState": "tunekit.jobs",
    "JobStatus": "tunekit.jobs",
    "JobEvent": "tunekit.jobs",
    "normalize_status": "tunekit.jobs",
    "Ledger": "tunekit.ledger",
    "RunRecord": "tunekit.ledger",
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
    "ProviderError": "tunekit.errors",
    "AuthenticationError": "tunekit.errors",
    "PermissionDeniedError": "tunekit.errors",
    "FineTuningUnavailableError": "tunekit.errors",
    "QuotaExceededError": "tunekit.errors",
    "NotFoundError": "tunekit.errors",
    "InvalidRequestError": "tunekit.errors",
    "ConflictError": "tunekit.errors",
    "RateLimitedError": "tunekit.errors",
    "ServiceUnavailableError": "tunekit.errors",
    "JobError": "tunekit.errors",
    "JobFailedError": "tunekit.errors",
    "JobCancelledError": "tunekit.errors",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tunekit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:
    from tunekit.config import (
        DataConfig,
        DeployConfig,
        EvalConfig,
        Hyperparameters,
        LoraConfig,
        TuneConfig,
        config_hash,
        load_config,
        parse_config,
    )
    from tunekit.data import (
        ChatExample,
        CostEstimate,
        Example,
        Finding,
        Message,
        PreferenceExample,
        PromptCompletionExample,
        TextExample,
        TokenCounter,
        TokenStats,
        ValidationReport,
        count_tokens,
        detect_format,
        estimate_cost,
        load_splits,
        read_examples,
        to_autotrain_rows,
        to_openai_rows,
        to_trl_rows,
        validate_data,
        write_examples,
    )
    from tunekit.data.splits import DatasetSplits
    from tunekit.endpoints import check_endpoint
    from tunekit.errors import (
        AuthenticationError,
        ConfigError,
        ConflictError,
        DataError,
        DependencyMissingError,
        FineTuningUnavailableError,
        InvalidRequestError,
        JobCancelledError,
        JobError,
        JobFailedError,
        LedgerError,
        NotFoundError,
        PermissionDeniedError,
        ProviderError,
        ProviderNotFoundError,
        QuotaExceededError,
        RateLimitedError,
        RunLockedError,
        RunNotFoundError,
        ServiceUnavailableError,
        TunekitError,
        UnsupportedOperationError,
    )
    from tunekit.evaluate.candidates import Candidate
    from tunekit.evaluate.report import EvalReport
    from tunekit.evaluate.runner import evaluate
    from tunekit.evaluate.runs import evaluate_run
    from tunekit.inference.base import ChatClient, ChatResult, Usage
    from tunekit.inference.hf_client import HuggingFaceChatClient
    from tunekit.inference.openai_client import OpenAIChatClient
    from tunekit.inference.openai_errors import map_openai_error
    from tunekit.inference.ratelimit import RateLimiter
    from tunekit.jobs import Job, JobEvent, JobState, JobStatus, normalize_status
    from tunekit.ledger import Ledger, RunRecord
    from tunekit.provider import (
        Checkpoint,
        FineTunedModel,
        JobRef,
        NoOptions,
        PreparedData,
        Provider,
        RunContext,
    )
    from tunekit.registry import create_provider, get_provider_class, installed_providers, register_provider
    from tunekit.retry import RetryPolicy
    from tunekit.secrets import get_logger, redact, register_secret
