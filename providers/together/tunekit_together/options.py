"""The Together provider's own config section (``provider_options``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from tunekit.plugin import ConfigError, RemoteOptions, resolve_secret, resolve_url

__all__ = ["TogetherOptions", "WandbOptions"]

# Keys of other services, recognised by their published prefixes: refused before anything is sent.
FOREIGN_KEYS = {"sk-": "an OpenAI key", "fw_": "a Fireworks key", "hf_": "a Hugging Face token"}


class WandbOptions(BaseModel):
    """Send the job's metrics to Weights & Biases; the key is read from ``WANDB_API_KEY``."""

    model_config = ConfigDict(extra="forbid")

    project: str
    name: str | None = None
    entity: str | None = None


class TogetherOptions(RemoteOptions):
    """How tunekit reaches Together AI and shapes the fine-tuning job."""

    api_key: SecretStr | None = Field(None, description="API key; read from TOGETHER_API_KEY when omitted.")
    base_url: str | None = Field(
        None, description="API host (TOGETHER_BASE_URL when omitted). Plain http is refused except on loopback."
    )
    timeout: float = Field(120.0, gt=0, description="Seconds one HTTP request may take.")
    from_checkpoint: str | None = Field(
        None,
        description="Continue a job tunekit did not start: JOB_ID or OUTPUT_MODEL_NAME[:STEP] (for a run: init_from).",
    )
    n_checkpoints: int = Field(1, ge=1, description="Checkpoints saved during training.")
    n_evals: int = Field(0, ge=0, description="Evaluations on the validation file during training.")
    train_on_inputs: bool | Literal["auto"] = Field("auto", description="Train on prompts too (masked by default).")
    download: Literal["adapter", "merged"] = Field(
        "adapter", description="What `tunekit serve/export` fetches of a LoRA job: the adapter or merged weights."
    )
    deploy_timeout: float = Field(1800.0, gt=0, description="Seconds to wait for a dedicated endpoint to start.")
    wandb: WandbOptions | None = Field(None, description="Weights & Biases integration.")

    @field_validator("base_url")
    @classmethod
    def _safe_base_url(cls, value: str | None) -> str | None:
        return value and resolve_url(value, "TOGETHER_BASE_URL")  # plain http only to loopback

    def resolved_api_key(self) -> str:
        """The key to send: the option, else ``TOGETHER_API_KEY``; a key of another service is refused."""
        key = resolve_secret(self.api_key, "TOGETHER_API_KEY", service="Together")
        for prefix, what in FOREIGN_KEYS.items():
            if key.startswith(prefix):
                raise ConfigError(f"the API key looks like {what} ({prefix}...); use a key from api.together.ai")
        return key

    def resolved_base_url(self) -> str | None:
        """The option, else ``TOGETHER_BASE_URL``; checked before any request (plain http only on loopback)."""
        return resolve_url(self.base_url, "TOGETHER_BASE_URL")
