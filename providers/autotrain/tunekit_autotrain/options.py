"""The AutoTrain provider's own config section (``provider_options``).

Where and how the job runs (token, endpoint, namespace, backend, runner,
hardware) sit at the top level; AutoTrain's LLM training parameters sit
under ``params``, exactly as in an AutoTrain YAML config::

    provider_options:
      namespace: my-org
      flavor: a10g-large
      params:
        quantization: int4
        mixed_precision: bf16
"""

from __future__ import annotations

import os
import re
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from tunekit.plugin import ConfigError, RemoteOptions, check_endpoint as _check_endpoint
from tunekit_autotrain.params import LLMParams

__all__ = [
    "AUTOTRAIN_IMAGE",
    "DEFAULT_ENDPOINT",
    "JOB_FLAVORS",
    "SPACE_FLAVORS",
    "TRL_IMAGE",
    "AutoTrainOptions",
    "check_endpoint",
]

DEFAULT_ENDPOINT = "https://huggingface.co"
AUTOTRAIN_IMAGE = "huggingface/autotrain-advanced:latest"
TRL_IMAGE = "huggingface/trl:latest"

JOB_FLAVORS = (
    "cpu-basic",
    "cpu-upgrade",
    "cpu-performance",
    "cpu-xl",
    "t4-small",
    "t4-medium",
    "l4x1",
    "l4x4",
    "l40sx1",
    "l40sx4",
    "l40sx8",
    "a10g-small",
    "a10g-large",
    "a10g-largex2",
    "a10g-largex4",
    "a100-large",
    "a100x4",
    "a100x8",
    "h200",
    "h200x2",
    "h200x4",
    "h200x8",
    "rtx-pro-6000",
    "rtx-pro-6000x2",
    "rtx-pro-6000x4",
    "rtx-pro-6000x8",
)
"""HF Jobs hardware (``huggingface_hub.JobHardware``)."""

SPACE_FLAVORS = (
    "cpu-basic",
    "cpu-upgrade",
    "zero-a10g",
    "t4-small",
    "t4-medium",
    "l4x1",
    "l4x4",
    "l40sx1",
    "l40sx4",
    "l40sx8",
    "a10g-small",
    "a10g-large",
    "a10g-largex2",
    "a10g-largex4",
    "a100-large",
    "a100x4",
    "a100x8",
    "rtx-pro-6000",
    "rtx-pro-6000x2",
    "rtx-pro-6000x4",
    "rtx-pro-6000x8",
)
"""Spaces hardware (``huggingface_hub.SpaceHardware``)."""

_TIMEOUT = re.compile(r"^\d+(\.\d+)?[smhd]?$")
_PROJECT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,49}$")


class AutoTrainOptions(RemoteOptions):
    """How tunekit reaches the Hugging Face Hub and runs AutoTrain (or TRL) there."""

    token: SecretStr | None = Field(
        None, description="Hugging Face token with write access; read from HF_TOKEN when omitted."
    )
    endpoint: str | None = Field(
        None,
        description=f"The Hub's URL (a private Hub or an emulator): HF_ENDPOINT, else {DEFAULT_ENDPOINT}. "
        "Plain http only on loopback.",
    )
    namespace: str | None = Field(
        None, description="User or organization owning the dataset, model repo and job; the token's user by default."
    )
    project_name: str | None = Field(
        None,
        description="AutoTrain project: the model repo is {namespace}/{project_name}; derived from the run id "
        "when omitted, so each run pushes to its own repo.",
    )
    backend: Literal["jobs", "spaces"] = Field(
        "jobs", description="HF Jobs, or AutoTrain's own protocol on a private Docker Space (accounts without Jobs)."
    )
    runner: Literal["autotrain", "trl"] = Field(
        "autotrain", description="The container: AutoTrain Advanced, or the TRL CLI (`trl sft` / `trl dpo`)."
    )
    flavor: str = Field("a10g-small", description="Hardware: an HF Jobs (or Spaces) flavor, t4-small to h200x8.")
    timeout: str | int = Field(
        "2h", description="Longest the job may run: seconds, or a number with s, m, h or d (HF Jobs only)."
    )
    image: str | None = Field(
        None,
        description=f"Docker image; {AUTOTRAIN_IMAGE} for the autotrain runner, {TRL_IMAGE} for trl.",
    )
    private: bool = Field(True, description="Create the dataset and model repositories private.")
    params: LLMParams = Field(default_factory=LLMParams, description="AutoTrain's LLM training parameters.")
    inference: Literal["hub", "local"] = Field(
        "hub",
        description="Chat with the tuned model through Hugging Face inference (hub), or download the repo "
        "and run it on this machine with transformers and PEFT (local).",
    )
    inference_provider: str | None = Field(
        None, description="Inference provider for the chat client (auto, hf-inference, together, ...)."
    )
    inference_url: str | None = Field(
        None,
        description="Base URL of an Inference Endpoint or TGI server serving the tuned model; "
        "'{model}' is replaced by the repo id.",
    )
    endpoints_api: str | None = Field(
        None,
        description="The Inference Endpoints management API (deploy:), when not Hugging Face's own: a private "
        "deployment, or `tunekit emulate hub`'s endpoints_api. Plain http only on loopback.",
    )
    endpoint_wait: float = Field(1800.0, gt=0, description="Seconds to wait for a new Inference Endpoint to answer.")
    endpoint_poll_interval: float = Field(10.0, gt=0, description="Seconds between polls of a starting endpoint.")
    # Jobs and Spaces move slowly and their creation is costlier to repeat: other defaults than RemoteOptions'.
    poll_interval: float = Field(15.0, gt=0, description="Seconds between status polls while watching a job.")
    create_attempts: int = Field(
        5,
        ge=1,
        le=20,
        description="Attempts of a request that creates a job or Space; before each retry tunekit looks for "
        "what the previous attempt may have created.",
    )

    @field_validator("endpoint", "endpoints_api")
    @classmethod
    def _safe_endpoint(cls, value: str | None) -> str | None:
        if value is None:
            return None
        problem = check_endpoint(value)
        if problem:
            raise ValueError(problem)
        return value.rstrip("/")

    @field_validator("inference_url")
    @classmethod
    def _safe_inference_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        problem = check_endpoint(value.replace("{model}", "model"))
        if problem:
            raise ValueError(problem)
        return value.rstrip("/")

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, value: str | int) -> str | int:
        if isinstance(value, int):
            if value <= 0:
                raise ValueError("timeout must be positive")
            return value
        if not _TIMEOUT.match(value.strip()):
            raise ValueError(f"timeout {value!r}: use seconds or a number with s, m, h or d (e.g. 90m, 2h)")
        return value.strip()

    @field_validator("project_name")
    @classmethod
    def _project(cls, value: str | None) -> str | None:
        if value is not None and not _PROJECT.match(value):
            raise ValueError("project_name: up to 50 letters, digits and '-', starting with a letter or digit")
        return value

    @model_validator(mode="after")
    def _flavor_fits_backend(self) -> AutoTrainOptions:
        flavors = JOB_FLAVORS if self.backend == "jobs" else SPACE_FLAVORS
        if self.flavor not in flavors:
            raise ValueError(f"flavor {self.flavor!r} is not {self.backend} hardware; use one of {', '.join(flavors)}")
        return self

    def resolved_token(self) -> str:
        """The token to send: the option, else ``HF_TOKEN``."""
        if self.token is not None and self.token.get_secret_value():
            return self.token.get_secret_value()
        token = os.environ.get("HF_TOKEN")
        if not token:
            raise ConfigError("no Hugging Face token: set HF_TOKEN or provider_options.token (e.g. token: ${HF_TOKEN})")
        return token

    def resolved_endpoint(self) -> str:
        """The Hub to talk to: the option, else ``HF_ENDPOINT`` (checked the same way), else huggingface.co."""
        if self.endpoint is not None:
            return self.endpoint
        env = os.environ.get("HF_ENDPOINT")
        if env:
            problem = check_endpoint(env)
            if problem:
                raise ConfigError(f"HF_ENDPOINT: {problem}")
            return env.rstrip("/")
        return DEFAULT_ENDPOINT

    def resolved_image(self) -> str:
        return self.image or (TRL_IMAGE if self.runner == "trl" else AUTOTRAIN_IMAGE)


def check_endpoint(url: str) -> str | None:
    """Why ``url`` may not carry a token, or None when it may (plain http only on loopback)."""
    return _check_endpoint(url, field="endpoint", secret="token")
