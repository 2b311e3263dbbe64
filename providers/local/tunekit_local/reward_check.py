"""RFT's check before the first step: sample the base model and score the samples with every reward.

GRPO learns from the differences between the completions sampled for one
prompt. A reward that gives them all the same score (a constant, a strict
match the base model never reaches) makes every advantage zero: the run
spends its hours and changes nothing. A reward that raises would stop the run
at its first step. Both are refused here, on a few training prompts sampled
as the trainer will sample them, before any training.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from tunekit.plugin import EvalItem, Metric, check_reward_spread

__all__ = ["check_rewards_on_samples", "sample_completions"]


def sample_completions(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[Any],
    *,
    samples: int,
    max_new_tokens: int,
    seed: int,
    temperature: float = 1.0,
) -> list[list[str]]:
    """``samples`` completions per prompt, sampled as GRPO samples them (temperature 1, no top-k)."""
    import torch

    torch.manual_seed(seed)
    device = next(model.parameters()).device
    texts = [
        tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True) if isinstance(p, list) else str(p)
        for p in prompts
    ]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    was_training, side = model.training, tokenizer.padding_side
    model.eval()
    tokenizer.padding_side = "left"  # one batch for every prompt: each sequence ends where its sampling starts
    try:
        encoded = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
        with torch.no_grad():
            generated = model.generate(
                **encoded,
                do_sample=True,
                temperature=temperature,
                top_k=0,
                top_p=1.0,
                num_return_sequences=samples,
                max_new_tokens=max_new_tokens,
                pad_token_id=pad,
            )
    finally:
        model.train(was_training)
        tokenizer.padding_side = side
    start = encoded["input_ids"].shape[1]
    decoded = [tokenizer.decode(row[start:], skip_special_tokens=True) for row in generated]
    out = [decoded[i * samples : (i + 1) * samples] for i in range(len(texts))]  # the samples of a prompt are adjacent
    return out


def check_rewards_on_samples(
    model: Any,
    tokenizer: Any,
    rows: Sequence[dict[str, Any]],
    rewards: Sequence[Metric],
    *,
    prompts: int,
    samples: int,
    max_new_tokens: int,
    seed: int,
) -> list[dict[str, Any]]:
    """Sample the first ``prompts`` rows and refuse (ConfigError) a reward that raises or never varies."""
    chosen = list(rows[:prompts])
    completions = sample_completions(
        model, tokenizer, [row["prompt"] for row in chosen], samples=samples, max_new_tokens=max_new_tokens, seed=seed
    )
    groups = [
        (
            EvalItem(
                prompt=row["prompt"] if isinstance(row["prompt"], list) else [],
                reference=str(row["reference"]),
                where=str(row.get("source") or "?"),
                fields=json.loads(row.get("fields") or "{}"),
            ),
            texts,
        )
        for row, texts in zip(chosen, completions, strict=True)
    ]
    return [spread.to_json() for spread in check_reward_spread(rewards, groups)]
