"""Merging an adapter into its base weights, checked against the unmerged model.

The base is reloaded at full precision (never the 4-bit copy a QLoRA run
trained on), the adapter is applied, and greedy continuations and logits of a
few sample prompts are recorded; then the adapter is folded into the weights
and the same prompts must give the same tokens and logits within a tolerance.
Only then is the merged model written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tunekit.errors import ServingError
from tunekit.inference.loading import load_causal_lm, resolve_model

__all__ = ["merge_adapter"]

CHECK_TOKENS = 16


def _prompt_ids(tokenizer: Any, prompts: list[list[dict[str, Any]]]) -> list[Any]:
    import torch

    encoded = []
    for messages in prompts:
        ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=False)
        encoded.append(torch.tensor([ids]))
    return encoded


def _observe(model: Any, inputs: list[Any], pad_id: int | None) -> list[tuple[Any, list[int]]]:
    import torch

    seen = []
    with torch.no_grad():
        for ids in inputs:
            ids = ids.to(model.device)
            logits = model(input_ids=ids).logits[0, -1].float().cpu()
            out = model.generate(input_ids=ids, max_new_tokens=CHECK_TOKENS, do_sample=False, pad_token_id=pad_id)
            seen.append((logits, out[0, ids.shape[1] :].tolist()))
    return seen


def merge_adapter(
    base_model: str,
    adapter_dir: str | Path,
    output_dir: str | Path,
    tokenizer: Any,
    prompts: list[list[dict[str, Any]]],
    *,
    precision: str = "fp32",
    trust_remote_code: bool = False,
    tolerance: float | None = None,
) -> dict[str, Any]:
    """Write ``base + adapter`` as one model to ``output_dir``; return the agreement report.

    Raises :class:`ServingError` when merged and unmerged disagree; nothing is written then.
    Used by the local provider's ``merge`` option and by ``tunekit export`` / ``tunekit serve``.
    """
    import torch
    from peft import PeftModel

    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    if tolerance is None:
        tolerance = 1e-3 if dtype == torch.float32 else 5e-2
    base = load_causal_lm(resolve_model(base_model), dtype=dtype, trust_remote_code=trust_remote_code)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = PeftModel.from_pretrained(base.to(device), str(adapter_dir))
    model.eval()
    inputs = _prompt_ids(tokenizer, prompts)
    before = _observe(model, inputs, tokenizer.pad_token_id)
    merged = model.merge_and_unload()
    merged.eval()
    after = _observe(merged, inputs, tokenizer.pad_token_id)
    max_diff = 0.0
    same_tokens = True
    for (logits_a, tokens_a), (logits_b, tokens_b) in zip(before, after, strict=True):
        max_diff = max(max_diff, float((logits_a - logits_b).abs().max()))
        same_tokens = same_tokens and tokens_a == tokens_b
    report = {
        "prompts": len(prompts),
        "max_logit_difference": max_diff,
        "tolerance": tolerance,
        "same_greedy_tokens": same_tokens,
        "precision": precision,
    }
    if max_diff > tolerance or not same_tokens:
        raise ServingError(
            f"the merged model disagrees with base + adapter on sample prompts (largest logit difference "
            f"{max_diff:.3g}, tolerance {tolerance:g}, same greedy tokens: {same_tokens}); the adapter is kept, "
            "the merged copy is not written"
        )
    output = Path(output_dir)
    merged.save_pretrained(output)
    tokenizer.save_pretrained(output)
    return report
