"""``provider_options`` of the Fireworks provider: credentials, account, LoRA and deployment settings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from tunekit.plugin import RemoteOptions

__all__ = ["FireworksOptions"]


class FireworksOptions(RemoteOptions):
    """Fireworks AI settings; the key, account and endpoint fall back to the SDK's environment variables."""

    api_key: SecretStr | None = Field(None, description="Fireworks API key; default FIREWORKS_API_KEY.")
    account_id: str | None = Field(
        None, description="The Fireworks account that owns datasets, jobs and models; default FIREWORKS_ACCOUNT_ID."
    )
    base_url: str | None = Field(
        None, description="API endpoint (an emulator); default FIREWORKS_BASE_URL, else https://api.fireworks.ai."
    )
    timeout: float = Field(60.0, gt=0, description="Seconds per request.")
    early_stop: bool = Field(False, description="Stop when the validation loss stops improving.")
    learning_rate_warmup_steps: int | None = Field(None, ge=0, description="Steps of learning-rate warmup.")
    region: str | None = Field(None, description="Training region, e.g. US_VIRGINIA_1 (default: the service picks).")
    accelerator_type: Literal["NVIDIA_A100_80GB", "NVIDIA_H100_80GB", "NVIDIA_H200_141GB", "NVIDIA_B200_180GB"] = Field(
        "NVIDIA_A100_80GB", description="GPU of an on-demand deployment (`deploy.instance_type` overrides it)."
    )
    deploy_timeout: float = Field(1800.0, gt=0, description="Seconds to wait for a deployment to become READY.")
