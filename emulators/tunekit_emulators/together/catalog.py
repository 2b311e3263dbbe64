"""What the emulated Together service tunes, and the limits it reports for each model (``/fine-tunes/models/limits``).

The rows follow Together's published list of fine-tunable models; the numbers
are the shape of the real answers, not a promise of the live values.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MODELS", "SERVERLESS_LORA", "model_limits"]

# model -> (SFT context, max LoRA rank, full training offered)
MODELS: dict[str, tuple[int, int, bool]] = {
    "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference": (131072, 64, True),
    "meta-llama/Llama-3.2-3B-Instruct": (131072, 64, True),
    "meta-llama/Llama-3.3-70B-Instruct-Reference": (24576, 64, False),
    "Qwen/Qwen3-8B": (32768, 64, True),
    "Qwen/Qwen2.5-7B-Instruct": (32768, 64, True),
}

# The base models whose LoRA adapters Together's chat serves serverless: "these are the only compatible
# models" (https://docs.together.ai/docs/lora-inference#supported-base-models and
# https://docs.together.ai/docs/adapter-upload, read 2026-12-03). A tuned model of any other base, or a
# full fine-tune, answers 400 model_not_available until a dedicated endpoint serves it.
SERVERLESS_LORA = frozenset(
    {
        "meta-llama/Llama-4-Maverick-17B-128E-Instruct",
        "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference",
        "meta-llama/Meta-Llama-3.1-70B-Instruct-Reference",
        "Qwen/Qwen2.5-14B-Instruct",
        "Qwen/Qwen2.5-72B-Instruct",
        "Qwen/Qwen3-235B-A22B-Instruct-2507-tput",
    }
)


def model_limits(model: str) -> dict[str, Any] | None:
    """The limits body for ``model``; None when the service does not tune it."""
    row = MODELS.get(model)
    if row is None:
        return None
    context, rank, full = row
    batches = {"max_batch_size": 32, "max_batch_size_dpo": 16, "min_batch_size": 8}
    return {
        "model_name": model,
        "default_gradient_accumulation_steps": 1,
        "lora_training": {"default_rank": 16, "max_rank": rank, "target_modules": ["q_proj", "v_proj"], **batches},
        "full_training": batches if full else None,
        "max_learning_rate": 1.0,
        "min_learning_rate": 0.0,
        "max_num_checkpoints": 20,
        "max_num_epochs": 20,
        "max_num_evals": 100,
        "max_seq_length_sft": context,
        "max_seq_length_dpo": context // 2,
        "min_max_seq_length": 512,
        "merge_output_lora": True,
        "supports_full_training": full,
        "supports_reasoning": False,
        "supports_tools": True,
        "supports_vision": False,
    }
