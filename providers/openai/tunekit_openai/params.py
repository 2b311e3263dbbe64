"""From a TuneConfig to the body of ``POST /fine_tuning/jobs``, and what OpenAI cannot honour."""

from __future__ import annotations

from typing import Any

from tunekit.plugin import ConfigError, TuneConfig
from tunekit_openai.graders import reward_grader
from tunekit_openai.options import OpenAIOptions

__all__ = [
    "CONFIG_HASH_KEY",
    "RUN_ID_KEY",
    "build_create_params",
    "check_config",
    "ignored_settings",
    "job_metadata",
    "method_type",
]

RUN_ID_KEY = "tunekit_run_id"
"""The metadata key that lets a crashed client find its job again."""
CONFIG_HASH_KEY = "tunekit_config_hash"

MAX_METADATA = 16

# Fields of the neutral config that OpenAI's API (and Azure's) has no knob for; {service} names the provider.
_IGNORED = {
    "learning_rate": "{service} takes learning_rate_multiplier, not an absolute rate",
    "gradient_accumulation_steps": "{service} chooses it",
    "max_seq_length": "{service} truncates at the model's context length",
    "warmup_ratio": "{service} chooses it",
    "generations": "{service} chooses how many answers it samples per prompt",
    "max_completion_length": "{service} chooses it",
}


def method_type(config: TuneConfig, options: OpenAIOptions) -> str:
    """``supervised``, ``dpo`` or (method rft, or with a grader) ``reinforcement``."""
    if options.grader is not None or config.method == "rft":
        return "reinforcement"
    return "dpo" if config.method == "dpo" else "supervised"


def check_config(config: TuneConfig, options: OpenAIOptions) -> list[str]:
    """Problems OpenAI would reject (or silently ignore in a way that matters), as ``path: message``."""
    problems: list[str] = []
    hp = config.hyperparameters
    if options.grader is not None and config.method == "dpo":
        problems.append("provider_options.grader: a grader makes a reinforcement job; it cannot be combined with dpo")
    if options.grader is not None and config.method == "rft":
        problems.append("provider_options.grader: method rft makes the grader from reward; give one or the other")
    elif config.method == "rft":
        try:
            reward_grader(config)
        except ConfigError as exc:
            problems.extend(exc.problems or [str(exc)])
    if hp.beta != "auto" and config.method != "dpo":
        why = "the service's reinforcement fine-tuning has no KL weight" if config.method == "rft" else "it"
        problems.append(f"hyperparameters.beta: beta only applies to method dpo ({why} only applies to dpo)")
    if len(config.metadata) > MAX_METADATA - 2:
        problems.append(
            f"metadata: OpenAI keeps {MAX_METADATA} keys and tunekit uses 2; give at most {MAX_METADATA - 2}"
        )
    for key, value in config.metadata.items():
        if len(key) > 64:
            problems.append(f"metadata.{key}: keys are at most 64 characters")
        if len(value) > 512:
            problems.append(f"metadata.{key}: values are at most 512 characters")
        if key in (RUN_ID_KEY, CONFIG_HASH_KEY):
            problems.append(f"metadata.{key}: reserved by tunekit")
    return problems


def ignored_settings(config: TuneConfig, service: str) -> list[str]:
    """What the config asks for that ``service`` cannot honour, one message per setting (warned, not refused)."""
    hp = config.hyperparameters
    ignored = [
        f"hyperparameters.{name} is ignored on {service}: {why.format(service=service)}"
        for name, why in _IGNORED.items()
        if getattr(hp, name) != "auto"
    ]
    if "lora" in config.model_fields_set and config.lora is not None:
        ignored.append(f"lora is ignored on {service}: {service} chooses how the model is trained (no adapters)")
    return ignored


def job_metadata(config: TuneConfig, run_id: str, config_hash: str) -> dict[str, str]:
    """The job's metadata: the user's tags plus the run id that makes submit idempotent."""
    return {**config.metadata, RUN_ID_KEY: run_id, CONFIG_HASH_KEY: config_hash}


def build_create_params(
    config: TuneConfig,
    options: OpenAIOptions,
    *,
    training_file: str,
    validation_file: str | None,
    run_id: str,
    config_hash: str,
    wandb_tracking: bool = False,
) -> dict[str, Any]:
    """Keyword arguments for ``client.fine_tuning.jobs.create``.

    ``wandb_tracking``: the config's ``tracking`` (backend wandb) is served by
    OpenAI's W&B integration, unless ``provider_options.wandb`` sets it apart.
    """
    kind = method_type(config, options)
    hp = config.hyperparameters
    hyper: dict[str, Any] = {}
    if hp.epochs != "auto":
        hyper["n_epochs"] = hp.epochs
    if hp.batch_size != "auto":
        hyper["batch_size"] = hp.batch_size
    if hp.learning_rate_multiplier != "auto":
        hyper["learning_rate_multiplier"] = hp.learning_rate_multiplier
    method: dict[str, Any] = {"type": kind}
    if kind == "dpo":
        if hp.beta != "auto":
            hyper["beta"] = hp.beta
        method["dpo"] = {"hyperparameters": hyper}
    elif kind == "reinforcement":
        rft = options.reinforcement
        for name in ("compute_multiplier", "eval_interval", "eval_samples"):
            value = getattr(rft, name)
            if value != "auto":
                hyper[name] = value
        if rft.reasoning_effort != "default":
            hyper["reasoning_effort"] = rft.reasoning_effort
        grader = options.grader if options.grader is not None else reward_grader(config)
        method["reinforcement"] = {"grader": grader, "hyperparameters": hyper}
    else:
        method["supervised"] = {"hyperparameters": hyper}

    params: dict[str, Any] = {
        "model": config.model,
        "training_file": training_file,
        "method": method,
        "seed": config.seed,
        "metadata": job_metadata(config, run_id, config_hash),
    }
    if validation_file is not None:
        params["validation_file"] = validation_file
    if config.suffix:
        params["suffix"] = config.suffix
    if options.wandb is not None:
        wandb: dict[str, Any] = {"project": options.wandb.project}
        for name in ("entity", "name"):
            value = getattr(options.wandb, name)
            if value:
                wandb[name] = value
        if options.wandb.tags:
            wandb["tags"] = list(options.wandb.tags)
        params["integrations"] = [{"type": "wandb", "wandb": wandb}]
    elif wandb_tracking and config.tracking is not None:
        tracking = config.tracking
        integration: dict[str, Any] = {"project": tracking.project, "name": run_id}
        if tracking.entity:
            integration["entity"] = tracking.entity
        tags = [f"{key}:{value}" for key, value in tracking.tags.items()]
        integration["tags"] = [f"tunekit.run_id:{run_id}", *tags]
        params["integrations"] = [{"type": "wandb", "wandb": integration}]
    return params
