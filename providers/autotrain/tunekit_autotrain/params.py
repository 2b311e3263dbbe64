"""AutoTrain's LLM training parameters: what a config sets, AutoTrain's defaults for the rest.

The defaults are those of AutoTrain Advanced's ``LLMTrainingParams``
(``src/autotrain/trainers/clm/params.py``, the project's last release).
A value comes, in order of precedence, from the tunekit config (its
hyperparameters, LoRA section, method and seed), from
``provider_options.params``, or from those defaults. Setting the same value
in both places is an error rather than a silent choice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from tunekit.plugin import TuneConfig

__all__ = [
    "AUTOTRAIN_DEFAULTS",
    "PREFERENCE_TRAINERS",
    "LLMParams",
    "check_params",
    "resolve_params",
    "trl_arguments",
]

AUTOTRAIN_DEFAULTS: dict[str, Any] = {
    "model": "gpt2",
    "project_name": "project-name",
    "data_path": "data",
    "train_split": "train",
    "valid_split": None,
    "add_eos_token": True,
    "block_size": -1,
    "model_max_length": 2048,
    "padding": "right",
    "trainer": "default",
    "use_flash_attention_2": False,
    "log": "none",
    "disable_gradient_checkpointing": False,
    "logging_steps": -1,
    "eval_strategy": "epoch",
    "save_total_limit": 1,
    "auto_find_batch_size": False,
    "mixed_precision": None,
    "lr": 3e-5,
    "epochs": 1,
    "batch_size": 2,
    "warmup_ratio": 0.1,
    "gradient_accumulation": 4,
    "optimizer": "adamw_torch",
    "scheduler": "linear",
    "weight_decay": 0.0,
    "max_grad_norm": 1.0,
    "seed": 42,
    "chat_template": None,
    "quantization": "int4",
    "target_modules": "all-linear",
    "merge_adapter": False,
    "peft": False,
    "lora_r": 16,
    "lora_alpha": 32,
    "lora_dropout": 0.05,
    "model_ref": None,
    "dpo_beta": 0.1,
    "max_prompt_length": 128,
    "max_completion_length": None,
    "prompt_text_column": None,
    "text_column": "text",
    "rejected_text_column": None,
    "push_to_hub": False,
    "username": None,
    "token": None,
    "unsloth": False,
    "distributed_backend": None,
}
"""``LLMTrainingParams``' defaults, field by field."""

PREFERENCE_TRAINERS = frozenset({"dpo", "orpo", "reward"})

Trainer = Literal["default", "generic", "sft", "dpo", "orpo", "reward"]


class LLMParams(BaseModel):
    """AutoTrain's LLM parameters (``params:`` of an AutoTrain config); unset ones take AutoTrain's defaults.

    Hyperparameters that the tunekit config also has (``epochs``, ``lr``,
    ``batch_size``, ``gradient_accumulation``, ``warmup_ratio``,
    ``block_size``, ``dpo_beta``, ``seed``, the LoRA values) may be set here
    when the config leaves them ``auto``.
    """

    model_config = ConfigDict(extra="forbid")

    trainer: Trainer | None = Field(None, description="default (causal LM on text), sft, dpo, orpo or reward.")
    peft: bool | None = Field(None, description="Train a LoRA adapter (from the config's lora section by default).")
    quantization: Literal["int4", "int8", "none"] | None = Field(None, description="Load the base model quantized.")
    lora_r: int | None = Field(None, gt=0)
    lora_alpha: int | None = Field(None, gt=0)
    lora_dropout: float | None = Field(None, ge=0, lt=1)
    target_modules: str | None = Field(None, description="Comma-separated module names, or all-linear.")
    merge_adapter: bool | None = Field(None, description="Merge the adapter into the model before pushing.")
    lr: float | None = Field(None, gt=0)
    epochs: int | None = Field(None, gt=0)
    batch_size: int | None = Field(None, gt=0)
    gradient_accumulation: int | None = Field(None, gt=0)
    warmup_ratio: float | None = Field(None, ge=0, lt=1)
    block_size: int | list[int] | None = Field(None, description="Tokens per training block (-1: model default).")
    model_max_length: int | None = Field(None, gt=0)
    max_prompt_length: int | None = Field(None, gt=0)
    max_completion_length: int | None = Field(None, gt=0)
    chat_template: Literal["tokenizer", "chatml", "zephyr", "none"] | None = Field(
        None, description="How conversations become text; tokenizer for chat data when unset."
    )
    mixed_precision: Literal["fp16", "bf16", "none"] | None = None
    padding: Literal["left", "right"] | None = None
    optimizer: str | None = None
    scheduler: str | None = None
    weight_decay: float | None = Field(None, ge=0)
    max_grad_norm: float | None = Field(None, gt=0)
    seed: int | None = None
    add_eos_token: bool | None = None
    logging_steps: int | None = None
    eval_strategy: Literal["epoch", "steps", "no"] | None = None
    save_total_limit: int | None = Field(None, gt=0)
    auto_find_batch_size: bool | None = None
    disable_gradient_checkpointing: bool | None = None
    use_flash_attention_2: bool | None = None
    unsloth: bool | None = None
    distributed_backend: Literal["ddp", "deepspeed"] | None = None
    model_ref: str | None = Field(None, description="Reference model for DPO (the base model when unset).")
    dpo_beta: float | None = Field(None, gt=0)
    log: Literal["none", "tensorboard", "wandb"] | None = None

    def explicit(self) -> dict[str, Any]:
        """The parameters this section sets, ``none`` written as AutoTrain's null."""
        values = self.model_dump(exclude_none=True)
        for key in ("quantization", "mixed_precision", "chat_template"):
            if values.get(key) == "none":
                values[key] = None
        if values.get("trainer") == "generic":
            values["trainer"] = "default"
        return values


# tunekit config value -> AutoTrain parameter, for the hyperparameters both know.
_HYPER: dict[str, str] = {
    "epochs": "epochs",
    "learning_rate": "lr",
    "batch_size": "batch_size",
    "gradient_accumulation_steps": "gradient_accumulation",
    "warmup_ratio": "warmup_ratio",
    "max_seq_length": "block_size",
    "beta": "dpo_beta",
}


def _from_config(config: TuneConfig) -> dict[str, Any]:
    values: dict[str, Any] = {}
    hp = config.hyperparameters
    for name, param in _HYPER.items():
        value = getattr(hp, name)
        if value != "auto":
            values[param] = value
    if config.lora is not None:
        values["peft"] = True
        values["lora_r"] = config.lora.r
        values["lora_alpha"] = config.lora.alpha
        values["lora_dropout"] = config.lora.dropout
        modules = config.lora.target_modules
        values["target_modules"] = modules if isinstance(modules, str) else ",".join(modules)
    else:
        values["peft"] = False
    values["seed"] = config.seed
    return values


def _config_fields(config: TuneConfig) -> set[str]:
    """AutoTrain parameters the tunekit config sets on purpose (not left ``auto``)."""
    fields = {param for name, param in _HYPER.items() if getattr(config.hyperparameters, name) != "auto"}
    if "lora" in config.model_fields_set:
        fields |= {"peft", "lora_r", "lora_alpha", "lora_dropout", "target_modules"}
    if "seed" in config.model_fields_set:
        fields.add("seed")
    return fields


def check_params(config: TuneConfig, params: LLMParams, *, runner: str) -> list[str]:
    """Problems with the parameters, as ``"path: message"`` lines."""
    problems: list[str] = []
    explicit = params.explicit()
    for field in sorted(_config_fields(config) & set(explicit)):
        problems.append(f"provider_options.params.{field}: also set by the tunekit config; set it in one place only")
    trainer = explicit.get("trainer")
    if trainer is not None:
        preference = trainer in PREFERENCE_TRAINERS
        if preference and config.method != "dpo":
            problems.append(f"provider_options.params.trainer: {trainer} trains on preference pairs; set method: dpo")
        if not preference and config.method == "dpo":
            problems.append(f"provider_options.params.trainer: {trainer} is not a preference trainer (method: dpo)")
    if runner == "trl" and trainer in ("orpo", "reward"):
        problems.append(f"provider_options.params.trainer: the trl runner runs sft and dpo, not {trainer}")
    if explicit.get("merge_adapter") and not (explicit.get("peft", config.lora is not None)):
        problems.append("provider_options.params.merge_adapter: there is no adapter to merge (peft is off)")
    return problems


def resolve_params(config: TuneConfig, params: LLMParams) -> dict[str, Any]:
    """Every AutoTrain parameter for this config: config values, then ``params``, then AutoTrain's defaults.

    The data, repository and account fields (``data_path``, ``project_name``,
    ``username``, columns, splits) are left for the caller to fill in.
    """
    resolved = dict(AUTOTRAIN_DEFAULTS)
    resolved["model"] = config.model
    resolved["trainer"] = "dpo" if config.method == "dpo" else "sft"
    resolved.update(params.explicit())
    resolved.update(_from_config(config))
    explicit = params.explicit()
    for key in ("peft", "lora_r", "lora_alpha", "lora_dropout", "target_modules", "seed"):
        if key in explicit and key not in _config_fields(config):
            resolved[key] = explicit[key]
    block = resolved["block_size"]
    if isinstance(block, int) and block > resolved["model_max_length"]:
        resolved["model_max_length"] = block
    if not resolved["peft"]:
        resolved["quantization"] = None
        resolved["merge_adapter"] = False
    return resolved


def trl_arguments(
    resolved: dict[str, Any], *, dataset: str, validation: bool, model_repo: str, private: bool
) -> list[str]:
    """``trl sft`` / ``trl dpo`` arguments carrying the same resolved parameters."""
    args = [
        "--model_name_or_path",
        str(resolved["model"]),
        "--dataset_name",
        dataset,
        "--dataset_train_split",
        "train",
        "--output_dir",
        str(resolved["project_name"]),
        "--num_train_epochs",
        str(resolved["epochs"]),
        "--learning_rate",
        str(resolved["lr"]),
        "--per_device_train_batch_size",
        str(resolved["batch_size"]),
        "--gradient_accumulation_steps",
        str(resolved["gradient_accumulation"]),
        "--warmup_ratio",
        str(resolved["warmup_ratio"]),
        "--lr_scheduler_type",
        str(resolved["scheduler"]),
        "--optim",
        str(resolved["optimizer"]),
        "--weight_decay",
        str(resolved["weight_decay"]),
        "--max_grad_norm",
        str(resolved["max_grad_norm"]),
        "--seed",
        str(resolved["seed"]),
        "--logging_steps",
        str(resolved["logging_steps"] if resolved["logging_steps"] > 0 else 10),
        "--report_to",
        str(resolved["log"]),
        "--push_to_hub",
        "--hub_model_id",
        model_repo,
    ]
    if private:
        args += ["--hub_private_repo"]
    block = resolved["block_size"]
    if isinstance(block, int) and block > 0:
        args += ["--max_length", str(block)]
    if validation:
        args += ["--dataset_test_split", "validation", "--eval_strategy", str(resolved["eval_strategy"])]
    if resolved["mixed_precision"] in ("fp16", "bf16"):
        args += [f"--{resolved['mixed_precision']}"]
    if resolved["disable_gradient_checkpointing"] is False:
        args += ["--gradient_checkpointing"]
    if resolved["peft"]:
        args += [
            "--use_peft",
            "--lora_r",
            str(resolved["lora_r"]),
            "--lora_alpha",
            str(resolved["lora_alpha"]),
            "--lora_dropout",
            str(resolved["lora_dropout"]),
            "--lora_target_modules",
            *str(resolved["target_modules"]).split(","),
        ]
        if resolved["quantization"] == "int4":
            args += ["--load_in_4bit"]
        elif resolved["quantization"] == "int8":
            args += ["--load_in_8bit"]
    if resolved["trainer"] == "dpo":
        args += ["--beta", str(resolved["dpo_beta"])]
        if resolved["model_ref"]:
            args += ["--ref_model_name_or_path", str(resolved["model_ref"])]
    return args
