"""The local provider's ``provider_options``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from tunekit.plugin import check_endpoint

__all__ = ["FLASH_ATTENTION", "LocalOptions"]

FLASH_ATTENTION = ("flash_attention_2", "flash_attention_3")
"""Attention implementations that handle flattened (padding-free, packed) batches."""


class LocalOptions(BaseModel):
    """Where and how the local provider trains; ``auto`` values are resolved for the hardware found."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    device: Literal["auto", "cpu", "cuda", "mps"] = Field("auto", description="Device to train on.")
    precision: Literal["auto", "fp32", "bf16", "fp16"] = Field(
        "auto",
        description="auto: bf16 on a GPU that supports it; on the CPU, bf16 autocast where it is native "
        "(AVX512-BF16, AMX), else fp32.",
    )
    quantization: Literal["none", "4bit"] = Field(
        "none", description="4bit: QLoRA with nf4 weights through bitsandbytes (CUDA only)."
    )
    gradient_checkpointing: bool | Literal["auto"] = Field(
        "auto", description="auto: on for GPUs, off on the CPU (where it only costs time)."
    )
    attn_implementation: str = Field(
        "auto", description="auto, eager, sdpa, flash_attention_2, flash_attention_3, or a kernels repo."
    )
    liger_kernel: bool | Literal["auto"] = Field(
        "auto", description="auto: on for CUDA when liger-kernel is installed."
    )
    loss: Literal["auto", "assistant_only", "completion_only", "all"] = Field(
        "auto",
        description="Tokens that carry the loss. auto: assistant turns for chats, the completion for "
        "prompt-completion data, everything for plain text.",
    )
    packing: bool = Field(False, description="Pack examples into full rows (bfd); needs a FlashAttention kernel.")
    padding_free: bool = Field(False, description="Flatten each batch without padding; needs a FlashAttention kernel.")
    max_steps: int | None = Field(None, gt=0, description="Stop after this many optimizer steps (overrides epochs).")
    checkpoint_every: int | None = Field(
        None, gt=0, description="Save a resumable checkpoint every N steps (auto: about ten per run)."
    )
    keep_checkpoints: int = Field(2, gt=0, description="Checkpoints kept on disk (older ones are deleted).")
    logging_steps: int = Field(1, gt=0, description="Report metrics every N steps.")
    eval_every: int | None = Field(None, gt=0, description="Evaluate on the validation data every N steps.")
    merge: bool = Field(False, description="Also write the adapter merged into the base weights (merged/).")
    merge_check_prompts: int = Field(3, ge=0, description="Training prompts on which merged and adapter must agree.")
    push_to_hub: str | None = Field(None, description="Hub repo id to push the adapter (and merged model) to.")
    hub_private: bool = Field(True, description="Create the Hub repo as private.")
    hub_token: SecretStr | None = Field(None, description="Hub token; defaults to HF_TOKEN or the saved login.")
    endpoints_api: str | None = Field(
        None,
        description="The Inference Endpoints management API (deploy: of a pushed run), when not Hugging Face's own: "
        "a private deployment, or `tunekit emulate hub`'s endpoints_api. Plain http only on loopback.",
    )
    endpoint_wait: float = Field(1800.0, gt=0, description="Seconds to wait for a new Inference Endpoint to answer.")
    endpoint_poll_interval: float = Field(10.0, gt=0, description="Seconds between polls of a starting endpoint.")
    launcher: Literal["none", "accelerate", "torchrun"] = Field(
        "none", description="none: one process; accelerate or torchrun: several processes, GPUs or machines."
    )
    num_processes: int = Field(1, gt=0, description="Processes per machine (usually one per GPU).")
    num_machines: int = Field(1, gt=0, description="Machines taking part (multi-node).")
    machine_rank: int = Field(0, ge=0, description="This machine's rank among num_machines.")
    main_process_ip: str | None = Field(None, description="Address of the rank-0 machine (multi-node).")
    main_process_port: int | None = Field(None, gt=0, lt=65536, description="Port of the rank-0 machine.")
    distributed: Literal["ddp", "fsdp2", "deepspeed-zero3"] = Field(
        "ddp", description="Strategy across processes (fsdp2 and deepspeed-zero3 launch through accelerate)."
    )
    accelerate_config: str | None = Field(None, description="An accelerate config file to launch with.")
    torch_threads: int | None = Field(None, gt=0, description="CPU threads per process (default: torch's choice).")
    trust_remote_code: bool = Field(False, description="Run model code shipped with a Hub model.")
    cancel_timeout: float = Field(30.0, gt=0, description="Seconds a cancelled run gets to stop before it is killed.")
    training_args: dict[str, Any] = Field(
        default_factory=dict, description="Extra SFTConfig / DPOConfig / GRPOConfig arguments, applied last."
    )
    generation_engine: Literal["auto", "transformers", "vllm"] = Field(
        "auto", description="RFT: what samples completions. auto: vLLM (colocated) on a CUDA GPU when installed."
    )
    reward_check_prompts: int = Field(
        4,
        ge=0,
        description="RFT: training prompts the base model is sampled on before training, to refuse a reward that "
        "never varies or raises (0 skips the check).",
    )

    @field_validator("endpoints_api")
    @classmethod
    def _safe_endpoints_api(cls, value: str | None) -> str | None:
        if value is None:
            return None
        problem = check_endpoint(value, field="endpoints_api", secret="hub_token")
        if problem:
            raise ValueError(problem)
        return value.rstrip("/")

    @model_validator(mode="after")
    def _consistent(self) -> LocalOptions:
        if self.machine_rank >= self.num_machines:
            raise ValueError("machine_rank must be smaller than num_machines")
        if self.num_machines > 1 and not self.main_process_ip:
            raise ValueError("several machines need main_process_ip (the rank-0 machine's address)")
        if (self.num_processes > 1 or self.num_machines > 1) and self.launcher == "none":
            raise ValueError("several processes need a launcher: set launcher to accelerate or torchrun")
        if self.distributed != "ddp" and self.launcher == "torchrun":
            raise ValueError(f"distributed {self.distributed} launches through accelerate: set launcher: accelerate")
        return self
