"""Assembling a TRL trainer from a job: data, statistics, model, adapter, arguments.

The pieces are plain functions so that the benchmark's "plain TRL" script and
the tests can see exactly what tunekit hands to TRL.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from tunekit.plugin import DataError, load_causal_lm, resolve_model
from tunekit_local.defaults import DataFormat, DataStats, Plan

__all__ = [
    "build_trainer",
    "data_format",
    "data_stats",
    "has_weighted_turns",
    "load_model",
    "lora_config",
    "read_rows",
    "split_turns",
    "template_masks_assistant",
    "without_weights",
]

STATS_SAMPLE = 4000


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    """TRL rows from a JSONL file (what ``prepare`` wrote)."""
    rows = []
    with Path(path).open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise DataError(f"not valid JSON: {exc.msg}", file=path, line=number) from None
    if not rows:
        raise DataError("the training file holds no examples", file=path)
    return rows


def data_format(row: dict[str, Any]) -> DataFormat:
    if "chosen" in row and "rejected" in row:
        return "preference"
    if "messages" in row:
        return "conversational"
    if "prompt" in row and "reference" in row:
        return "prompt-only"
    if "prompt" in row and "completion" in row:
        return "prompt-completion"
    if "text" in row:
        return "text"
    raise DataError(f"unrecognised TRL row with keys {sorted(row)}")


def split_turns(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One prompt-completion row per trained assistant turn, with the conversation before it as the prompt.

    With a chat template that cannot mark assistant turns, this puts the loss on
    every assistant turn (and its end-of-turn token) and nothing else; a turn
    with weight 0 is not a completion of its own, only context for later ones.
    """
    out = []
    for row in rows:
        messages = row["messages"]
        clean = [_unweighted(m) for m in messages]
        for index, message in enumerate(messages):
            if message.get("role") != "assistant" or index == 0 or message.get("weight") == 0:
                continue
            split: dict[str, Any] = {"prompt": clean[:index], "completion": [clean[index]]}
            if row.get("tools") is not None:
                split["tools"] = row["tools"]
            out.append(split)
    if rows and not out:
        raise DataError("every assistant turn has weight 0: there is nothing to train on")
    return out


def without_weights(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows without per-message ``weight`` keys, which chat templates do not expect."""
    return [
        {**row, "messages": [_unweighted(m) for m in row["messages"]]} if "messages" in row else row for row in rows
    ]


def _unweighted(message: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if k != "weight"} if "weight" in message else message


def has_weighted_turns(rows: list[dict[str, Any]]) -> bool:
    """Whether any assistant turn has weight 0."""
    return any(m.get("weight") == 0 and m.get("role") == "assistant" for row in rows for m in row.get("messages") or ())


def template_masks_assistant(tokenizer: Any) -> bool:
    """Whether TRL can mask assistant turns with this template (its own markers or TRL's training copy)."""
    from trl.chat_template_utils import get_training_chat_template, has_generation_markers

    template = getattr(tokenizer, "chat_template", None)
    if not template:
        return False
    if has_generation_markers(template):
        return True
    try:
        return get_training_chat_template(tokenizer) is not None
    except ValueError:
        return False


def _length(row: dict[str, Any], fmt: DataFormat, tokenizer: Any) -> int:
    def chat(messages: list[dict[str, Any]], tools: Any = None) -> int:
        ids = tokenizer.apply_chat_template(messages, tools=tools, tokenize=True, return_dict=False)
        return len(ids)

    tools = row.get("tools")
    if fmt == "prompt-only":
        return chat(row["prompt"]) if isinstance(row["prompt"], list) else len(tokenizer(row["prompt"])["input_ids"])
    if fmt == "conversational":
        return chat(row["messages"], tools)
    if fmt == "preference":
        prompt, chosen, rejected = row["prompt"], row["chosen"], row["rejected"]
        if isinstance(prompt, list):
            return max(chat(prompt + chosen, tools), chat(prompt + rejected, tools))
        return len(tokenizer(prompt + max(chosen, rejected, key=len))["input_ids"]) + 1
    if fmt == "prompt-completion":
        if isinstance(row["prompt"], list):
            return chat(row["prompt"] + row["completion"], tools)
        return len(tokenizer(row["prompt"] + row["completion"])["input_ids"]) + 1
    return len(tokenizer(row["text"])["input_ids"]) + 1


def data_stats(
    rows: list[dict[str, Any]], validation: list[dict[str, Any]] | None, tokenizer: Any, model_max: int | None
) -> DataStats:
    """Token lengths through the chat template (a sample for large data), and what the template can mask."""
    fmt = data_format(rows[0])
    step = max(1, math.ceil(len(rows) / STATS_SAMPLE))
    lengths = sorted(_length(row, fmt, tokenizer) for row in rows[::step])
    p95 = lengths[min(len(lengths) - 1, int(len(lengths) * 0.95))]
    return DataStats(
        format=fmt,
        train_examples=len(rows),
        validation_examples=len(validation or []),
        max_tokens=lengths[-1],
        p95_tokens=p95,
        template_masks_assistant=fmt == "conversational" and template_masks_assistant(tokenizer),
        weighted_turns=fmt == "conversational" and has_weighted_turns(rows),
        model_max_length=model_max,
        max_reference_tokens=max(
            (len(tokenizer(str(row["reference"]))["input_ids"]) + 1 for row in rows[::step]), default=0
        )
        if fmt == "prompt-only"
        else 0,
    )


def model_max_length(tokenizer: Any, model_config: Any = None) -> int | None:
    for value in (getattr(model_config, "max_position_embeddings", None), getattr(tokenizer, "model_max_length", None)):
        if isinstance(value, int) and 0 < value < 1_000_000:
            return value
    return None


def lora_config(lora: dict[str, Any]) -> Any:
    from peft import LoraConfig

    return LoraConfig(
        r=int(lora.get("r", 16)),
        lora_alpha=int(lora.get("alpha", 32)),
        lora_dropout=float(lora.get("dropout", 0.05)),
        target_modules=lora.get("target_modules", "all-linear"),
        task_type="CAUSAL_LM",
    )


def load_model(model_ref: str, plan: Plan, *, trust_remote_code: bool = False, local_rank: int = 0) -> Any:
    """The base model, at the plan's precision (4-bit nf4 for QLoRA), ready for the trainer."""
    import torch

    # The CPU's bf16 is autocast over fp32 weights: exact master weights, and measured faster than bf16 weights there.
    weights = "fp32" if plan.device == "cpu" else plan.precision
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[weights]
    quantization = None
    device = None
    if plan.quantization == "4bit":
        from transformers import BitsAndBytesConfig

        quantization = BitsAndBytesConfig(  # type: ignore[no-untyped-call]
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=dtype,
            bnb_4bit_quant_storage=dtype,
        )
        device = f"cuda:{local_rank}"
    model = load_causal_lm(
        resolve_model(model_ref),
        dtype=dtype,
        device=device,
        attn_implementation=plan.attn_implementation,
        quantization_config=quantization,
        trust_remote_code=trust_remote_code,
    )
    if quantization is not None:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(  # type: ignore[no-untyped-call]
            model, use_gradient_checkpointing=plan.gradient_checkpointing
        )
    return model


def build_trainer(
    plan: Plan,
    model: Any,
    tokenizer: Any,
    train_rows: list[dict[str, Any]],
    eval_rows: list[dict[str, Any]] | None,
    *,
    output_dir: str,
    callbacks: list[Any] | None = None,
    rewards: list[Any] | None = None,
) -> Any:
    """The TRL trainer (SFT, DPO or GRPO) for a plan; ``rewards`` are RFT's reward functions."""
    from datasets import Dataset

    if plan.method == "rft":
        return _grpo_trainer(plan, model, tokenizer, train_rows, output_dir, callbacks, rewards or [])

    if plan.split_turns:
        train_rows = split_turns(train_rows)
        eval_rows = split_turns(eval_rows) if eval_rows else eval_rows
    else:
        train_rows = without_weights(train_rows)
        eval_rows = without_weights(eval_rows) if eval_rows else eval_rows
    train = Dataset.from_list(train_rows)
    evaluation = Dataset.from_list(eval_rows) if eval_rows else None
    # A model that already carries its adapter (init_from) trains that one; TRL must not add another.
    peft_config = lora_config(plan.lora) if plan.lora is not None and not hasattr(model, "peft_config") else None
    kwargs = plan.trainer_kwargs(output_dir)
    if evaluation is None:
        kwargs.pop("eval_strategy", None)
        kwargs.pop("eval_steps", None)
    if plan.method == "dpo":
        from trl.trainer.dpo_config import DPOConfig
        from trl.trainer.dpo_trainer import DPOTrainer

        return DPOTrainer(
            model=model,
            args=DPOConfig(**kwargs),
            train_dataset=train,
            eval_dataset=evaluation,
            processing_class=tokenizer,
            peft_config=peft_config,
            callbacks=callbacks,
        )
    from trl.trainer.sft_config import SFTConfig
    from trl.trainer.sft_trainer import SFTTrainer

    return SFTTrainer(
        model=model,
        args=SFTConfig(**kwargs),
        train_dataset=train,
        eval_dataset=evaluation,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=callbacks,
    )


def _grpo_trainer(
    plan: Plan,
    model: Any,
    tokenizer: Any,
    rows: list[dict[str, Any]],
    output_dir: str,
    callbacks: list[Any] | None,
    rewards: list[Any],
) -> Any:
    from datasets import Dataset
    from trl.trainer.grpo_config import GRPOConfig
    from trl.trainer.grpo_trainer import GRPOTrainer

    kwargs = plan.trainer_kwargs(output_dir)
    kwargs.pop("eval_strategy", None)
    kwargs.pop("eval_steps", None)
    return GRPOTrainer(
        model=model,
        reward_funcs=rewards,
        args=GRPOConfig(**kwargs),
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        # A model that already carries its adapter (init_from: SFT, then GRPO on top) trains that one.
        peft_config=lora_config(plan.lora) if plan.lora is not None and not hasattr(model, "peft_config") else None,
        callbacks=callbacks,
    )
