"""The OpenAI provider's own config section (``provider_options``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from tunekit.plugin import RemoteOptions, check_endpoint, resolve_secret, resolve_url

__all__ = ["OpenAIOptions", "ReinforcementOptions", "WandbOptions", "check_base_url"]

MiB = 1024 * 1024

GRADER_TYPES = frozenset({"string_check", "text_similarity", "python", "score_model", "multi"})


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WandbOptions(_Section):
    """Send the job's metrics to Weights & Biases (the key is set up in the OpenAI organization)."""

    project: str = Field(description="W&B project that receives the run.")
    entity: str | None = Field(None, description="W&B team or user; the key's default entity when omitted.")
    name: str | None = Field(None, description="Display name of the W&B run; the job id when omitted.")
    tags: list[str] = Field(default_factory=list, description="Tags added to the W&B run.")


class ReinforcementOptions(_Section):
    """Hyperparameters only reinforcement fine-tuning has; ``auto`` lets OpenAI choose."""

    compute_multiplier: float | Literal["auto"] = "auto"
    eval_interval: int | Literal["auto"] = "auto"
    eval_samples: int | Literal["auto"] = "auto"
    reasoning_effort: Literal["default", "low", "medium", "high"] = "default"


class OpenAIOptions(RemoteOptions):
    """How tunekit reaches OpenAI and shapes the fine-tuning job."""

    api_key: SecretStr | None = Field(None, description="API key; read from OPENAI_API_KEY when omitted.")
    organization: str | None = Field(None, description="Organization id; read from OPENAI_ORG_ID when omitted.")
    project: str | None = Field(None, description="Project id; read from OPENAI_PROJECT_ID when omitted.")
    base_url: str | None = Field(
        None,
        description="API base URL (OPENAI_BASE_URL when omitted). Plain http is refused except on loopback.",
    )
    timeout: float = Field(120.0, gt=0, description="Seconds one HTTP request may take.")
    file_poll_interval: float = Field(1.0, gt=0, description="First wait while a file is processed (it doubles).")
    file_processing_timeout: float = Field(
        1800.0, gt=0, description="Seconds to wait for an uploaded file to be processed."
    )
    multipart_threshold: int = Field(
        512 * MiB, gt=0, description="Files larger than this go through the Uploads API in parts."
    )
    part_size: int = Field(64 * MiB, gt=0, le=64 * MiB, description="Bytes per part with the Uploads API.")
    wandb: WandbOptions | None = Field(None, description="Weights & Biases integration.")
    grader: dict[str, Any] | None = Field(
        None, description="A grader object: makes the job reinforcement fine-tuning (RFT)."
    )
    reinforcement: ReinforcementOptions = Field(default_factory=ReinforcementOptions)

    @field_validator("base_url")
    @classmethod
    def _safe_base_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        problem = check_base_url(value)
        if problem:
            raise ValueError(problem)
        return value.rstrip("/")

    @field_validator("grader")
    @classmethod
    def _known_grader(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        kind = value.get("type")
        if kind not in GRADER_TYPES:
            raise ValueError(f"grader.type must be one of {', '.join(sorted(GRADER_TYPES))} (got {kind!r})")
        if not value.get("name"):
            raise ValueError("grader.name is required")
        return value

    def resolved_api_key(self) -> str:
        """The key to send: the option, else ``OPENAI_API_KEY``."""
        return resolve_secret(self.api_key, "OPENAI_API_KEY", service="OpenAI")

    def resolved_base_url(self) -> str | None:
        """The base URL: the option, else ``OPENAI_BASE_URL`` (checked the same way), else the SDK's default."""
        return resolve_url(self.base_url, "OPENAI_BASE_URL")


def check_base_url(url: str) -> str | None:
    """Why ``url`` may not carry an API key, or None when it may (plain http only on loopback)."""
    return check_endpoint(url, field="base_url", secret="API key")
