"""The config mapped onto a Fireworks job's fields, and the credentials and account the SDK needs."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from tunekit.plugin import ConfigError, resolve_rewards, resolve_secret, resolve_url, reward_script

if TYPE_CHECKING:
    from tunekit.plugin import TuneConfig
    from tunekit_fireworks.options import FireworksOptions

__all__ = ["evaluator_code", "job_params", "resolved"]

_RANKS = (4, 8, 16, 32, 64)

# The evaluator's entry point (reward-kit's convention for code-snippet evaluators): the row's messages end with
# the sampled answer; its `ground_truth` and other columns come by name.
_ENTRY = """

def evaluate(messages, ground_truth=None, original_messages=None, tools=None, **fields):
    last = messages[-1] if messages else {}
    answer = last.get("content") if isinstance(last, dict) else getattr(last, "content", "")
    return {"score": tunekit_reward(answer, ground_truth, fields), "reason": "mean of the tunekit rewards"}
"""


def resolved(options: FireworksOptions) -> tuple[str, str, str | None]:
    """(API key, account id, base URL or None for the SDK's default); ConfigError naming what is missing."""
    try:
        key = resolve_secret(options.api_key, "FIREWORKS_API_KEY", service="Fireworks")
    except ConfigError as exc:
        raise ConfigError(f"provider_options.api_key: {exc}") from None
    account = options.account_id or os.environ.get("FIREWORKS_ACCOUNT_ID", "")
    if not account:
        raise ConfigError(
            "provider_options.account_id: no Fireworks account id: set FIREWORKS_ACCOUNT_ID or "
            "provider_options.account_id (the id in your dashboard's URL, or `firectl whoami`); "
            "datasets, jobs and models live in an account"
        )
    return key, account, resolve_url(options.base_url, "FIREWORKS_BASE_URL")


def evaluator_code(config: TuneConfig) -> str:
    """The evaluator's ``main.py``: the rewards' own source and ``evaluate``; a ConfigError names what cannot run."""
    return reward_script(resolve_rewards(config.reward)) + _ENTRY


def job_params(
    config: TuneConfig, options: FireworksOptions, job_id: str, dataset: str = "", **more: str | None
) -> tuple[dict[str, Any], list[str]]:
    """Keyword arguments of the SFT, DPO or RFT jobs' ``create``; what Fireworks ignores."""
    hp = config.hyperparameters
    ignored: list[str] = []
    # init_from: Fireworks continues a LoRA model it tuned (warm start) instead of the base model.
    start_from, evaluation = more.get("start_from"), more.get("evaluation")
    start = {"warm_start_from": start_from} if start_from else {"base_model": config.model}
    training: dict[str, Any] = {**start, "output_model": job_id}
    for field, value in (
        ("epochs", hp.epochs),
        ("learning_rate", hp.learning_rate),
        ("batch_size_samples", hp.batch_size),
        ("gradient_accumulation_steps", hp.gradient_accumulation_steps),
        ("max_context_length", hp.max_seq_length),
        ("learning_rate_warmup_steps", options.learning_rate_warmup_steps),
        ("region", options.region),
    ):
        if value is not None and value != "auto":
            training[field] = value
    for name, value in (("learning_rate_multiplier", hp.learning_rate_multiplier), ("warmup_ratio", hp.warmup_ratio)):
        if value != "auto":
            hint = " (set provider_options.learning_rate_warmup_steps)" if name == "warmup_ratio" else ""
            ignored.append(f"hyperparameters.{name}: Fireworks takes no {name}; ignored{hint}")
    if config.lora is None:
        raise ConfigError("lora: Fireworks trains LoRA adapters only; remove `lora: null`")
    if config.lora.r not in _RANKS:
        raise ConfigError(f"lora.r: Fireworks trains LoRA ranks {', '.join(map(str, _RANKS))}; got {config.lora.r}")
    training["lora_rank"] = config.lora.r
    ignored.extend(
        f"lora.{name}: Fireworks chooses the adapter's {name}; ignored"
        for name in ("alpha", "dropout", "target_modules")
        if name in config.lora.model_fields_set
    )
    common: dict[str, Any] = {"dataset": dataset, "display_name": config.name or job_id}
    if config.method == "sft":
        if hp.beta != "auto":
            ignored.append("hyperparameters.beta: only DPO and RFT use beta; ignored")
        extra: dict[str, Any] = {"supervised_fine_tuning_job_id": job_id, "early_stop": options.early_stop}
        return {**common, **training, **extra, **({"evaluation_dataset": evaluation} if evaluation else {})}, ignored
    beta = {"kl_beta": hp.beta} if hp.beta != "auto" else {}
    if config.method == "dpo":
        if evaluation:
            ignored.append("data.validation: Fireworks DPO jobs take no evaluation dataset; it was uploaded, not used")
        return {
            **common,
            "dpo_job_id": job_id,
            "training_config": training,
            "loss_config": {"method": "DPO", **beta},
        }, ignored
    # rft: the evaluator scores `generations` sampled answers per prompt, each up to max_completion_length tokens
    sampling = {"response_candidates_count": hp.generations, "max_output_tokens": hp.max_completion_length}
    rft = {"reinforcement_fine_tuning_job_id": job_id, "evaluator": more.get("evaluator") or "", "loss_config": beta}
    rft["inference_parameters"] = {k: v for k, v in sampling.items() if v != "auto"}
    if evaluation:
        rft["evaluation_dataset"] = evaluation
    return {**common, **rft, "training_config": training}, ignored
