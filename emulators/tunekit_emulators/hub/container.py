"""The training container an emulated HF Job or Space runs.

No model is trained. The container reads what a real AutoTrain or TRL
container reads (``PARAMS`` and the other AutoTrain variables, or ``trl sft``
arguments), checks the dataset repo and the token as the real one would fail
on them, prints AutoTrain/TRL-style log lines with steps and a loss curve,
and finally pushes adapter (or merged model) files to the model repo, or does
not, as the chosen outcome says. AutoTrain catches every exception in its
trainer, so its failures end with a *completed* container and an empty repo.
"""

from __future__ import annotations

import json
import math
import random
import shlex
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

__all__ = ["OUTCOMES", "ContainerPlan", "Outcome", "TrainingScript", "model_files", "plan_container"]

Outcome = Literal["success", "no_files", "error"]
OUTCOMES: tuple[Outcome, ...] = ("success", "no_files", "error")

Runner = Literal["autotrain", "trl", "generic"]


@dataclass
class ContainerPlan:
    """What the container was asked to do, as read from its environment and command."""

    runner: Runner
    trainer: str = "sft"
    model: str = ""
    dataset: str | None = None
    train_split: str = "train"
    target_repo: str | None = None
    push: bool = False
    token: str | None = None
    peft: bool = True
    merged: bool = False
    epochs: int = 1
    batch_size: int = 2
    gradient_accumulation: int = 1
    lr: float = 3e-5
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: str | list[str] = "all-linear"
    mixed_precision: str | None = None
    project_name: str = "project-name"
    params: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None
    """Why the container cannot even parse its inputs (bad PARAMS JSON)."""


def _loads_params(raw: str) -> dict[str, Any]:
    # AutoTrain's own backends send PARAMS either as JSON or as JSON-encoded JSON.
    value: Any = json.loads(raw)
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, dict):
        raise ValueError("PARAMS is not a JSON object")
    return value


def plan_container(
    *, image: str, command: Sequence[str], env: Mapping[str, str], secrets: Mapping[str, str]
) -> ContainerPlan:
    """Read a container's intent the way the AutoTrain or TRL entry point would."""
    token = secrets.get("HF_TOKEN") or env.get("HF_TOKEN")
    if "PARAMS" in env or "PARAMS" in secrets:
        return _plan_autotrain(env, secrets, token)
    words = [w for part in command for w in (shlex.split(part) if " " in part else [part])]
    if "trl" in words or "trl" in image:
        return _plan_trl(words, token)
    return ContainerPlan(runner="generic", token=token)


def _plan_autotrain(env: Mapping[str, str], secrets: Mapping[str, str], token: str | None) -> ContainerPlan:
    raw = secrets.get("PARAMS") or env.get("PARAMS") or "{}"
    try:
        params = _loads_params(raw)
    except ValueError as exc:
        return ContainerPlan(runner="autotrain", token=token, problem=f"invalid PARAMS: {exc}")
    token = params.get("token") or token
    username = params.get("username") or env.get("AUTOTRAIN_USERNAME") or secrets.get("AUTOTRAIN_USERNAME")
    project = str(params.get("project_name") or env.get("PROJECT_NAME") or "project-name")
    repo_id = params.get("repo_id") or (f"{username}/{project}" if username else None)
    return ContainerPlan(
        runner="autotrain",
        trainer=str(params.get("trainer", "default")),
        model=str(params.get("model") or env.get("MODEL") or "gpt2"),
        dataset=params.get("data_path") or env.get("DATA_PATH"),
        train_split=str(params.get("train_split") or "train"),
        target_repo=repo_id,
        push=bool(params.get("push_to_hub", False)),
        token=token,
        peft=bool(params.get("peft", False)),
        merged=bool(params.get("merge_adapter", False)) or not bool(params.get("peft", False)),
        epochs=max(1, int(params.get("epochs", 1))),
        batch_size=max(1, int(params.get("batch_size", 2))),
        gradient_accumulation=max(1, int(params.get("gradient_accumulation", 4))),
        lr=float(params.get("lr", 3e-5)),
        lora_r=int(params.get("lora_r", 16)),
        lora_alpha=int(params.get("lora_alpha", 32)),
        lora_dropout=float(params.get("lora_dropout", 0.05)),
        target_modules=params.get("target_modules") or "all-linear",
        mixed_precision=params.get("mixed_precision"),
        project_name=project,
        params={k: v for k, v in params.items() if k != "token"},
    )


def _plan_trl(words: list[str], token: str | None) -> ContainerPlan:
    args: dict[str, str] = {}
    flags: set[str] = set()
    trainer = "sft"
    for index, word in enumerate(words):
        if word in ("sft", "dpo", "grpo", "kto", "reward") and index > 0 and words[index - 1] == "trl":
            trainer = word
        if word.startswith("--"):
            key, eq, value = word[2:].partition("=")
            if eq:
                args[key] = value
            elif index + 1 < len(words) and not words[index + 1].startswith("--"):
                args[key] = words[index + 1]
            else:
                flags.add(key)
    use_peft = "use_peft" in flags or args.get("use_peft", "").lower() == "true"
    push = "push_to_hub" in flags or args.get("push_to_hub", "").lower() == "true"
    modules = args.get("lora_target_modules", "all-linear")
    return ContainerPlan(
        runner="trl",
        trainer=trainer,
        model=args.get("model_name_or_path", ""),
        dataset=args.get("dataset_name"),
        train_split=args.get("dataset_train_split", "train"),
        target_repo=args.get("hub_model_id"),
        push=push,
        token=token,
        peft=use_peft,
        merged=not use_peft,
        epochs=max(1, math.ceil(float(args.get("num_train_epochs", "3")))),
        batch_size=max(1, int(args.get("per_device_train_batch_size", "8"))),
        gradient_accumulation=max(1, int(args.get("gradient_accumulation_steps", "1"))),
        lr=float(args.get("learning_rate", "2e-5")),
        lora_r=int(args.get("lora_r", "16")),
        lora_alpha=int(args.get("lora_alpha", "32")),
        lora_dropout=float(args.get("lora_dropout", "0.05")),
        target_modules=modules if modules == "all-linear" else modules.split(","),
        project_name=args.get("output_dir", "trl-output"),
    )


_CLM = "autotrain.trainers.clm"


class TrainingScript:
    """The log lines of one container run, produced phase by phase.

    ``clock`` gives each line its timestamp; loss values follow a seeded,
    decreasing curve unless ``losses`` seeds them.
    """

    def __init__(
        self,
        plan: ContainerPlan,
        *,
        rng: random.Random,
        clock: Callable[[], datetime],
        rows: int,
        losses: Sequence[float] | None = None,
        space: bool = False,
    ) -> None:
        self.plan = plan
        self.rng = rng
        self.clock = clock
        self.rows = rows
        self.space = space
        per_epoch = max(1, math.ceil(rows / (plan.batch_size * plan.gradient_accumulation)))
        self.total_steps = per_epoch * plan.epochs
        self.logging_steps = max(1, int(0.2 * rows / plan.batch_size)) if plan.runner == "autotrain" else 10
        self.logging_steps = min(self.logging_steps, max(1, self.total_steps // 2))
        self.steps = list(range(self.logging_steps, self.total_steps + 1, self.logging_steps))
        if self.steps[-1:] != [self.total_steps]:
            self.steps.append(self.total_steps)
        if plan.runner == "generic":
            self.steps = []
        self.losses = list(losses) if losses else self._curve(max(1, len(self.steps)))
        while len(self.losses) < len(self.steps):
            self.losses.append(self.losses[-1])

    def _curve(self, count: int) -> list[float]:
        start = 2.2 + self.rng.random() * 0.8
        floor = 0.35 + self.rng.random() * 0.3
        return [
            round(floor + (start - floor) * math.exp(-2.5 * (i + 1) / count) + self.rng.uniform(-0.04, 0.04), 4)
            for i in range(count)
        ]

    # -- AutoTrain's loguru format and TRL's plain output ----------------------------------------

    def _info(self, where: str, text: str, level: str = "INFO") -> str:
        if self.plan.runner != "autotrain":
            return text
        stamp = self.clock().strftime("%Y-%m-%d %H:%M:%S")
        return f"{level:<8} | {stamp} | {where} - {text}"

    def preamble(self) -> list[str]:
        plan = self.plan
        if plan.runner == "generic":
            return ["Running the container's command"]
        if plan.runner == "trl":
            return [
                f"Loading tokenizer and model {plan.model}",
                "Loading checkpoint shards: 100%|██████████| 2/2 [00:03<00:00,  1.61s/it]",
                f"Generating train split: {self.rows} examples [00:00, 4811.27 examples/s]",
                f"Tokenizing train dataset: 100%|██████████| {self.rows}/{self.rows} [00:00<00:00, 912.05 examples/s]",
            ]
        mod = _CLM
        return [
            self._info("autotrain.cli.run_llm:run:141", "Running LLM"),
            self._info(
                "autotrain.commands:launch_command:523",
                "['accelerate', 'launch', '--num_machines', '1', '--num_processes', '1', '--mixed_precision', "
                f"'{plan.mixed_precision or 'no'}', '-m', 'autotrain.trainers.clm', '--training_config', "
                f"'{plan.project_name}/training_params.json']",
            ),
            self._info(f"{mod}.train_clm_{plan.trainer}:train:14", f"Starting {plan.trainer.upper()} training..."),
            self._info(f"{mod}.utils:process_input_data:491", "loading dataset from hub"),
        ]

    def data_loaded(self) -> list[str]:
        if self.plan.runner != "autotrain":
            return []
        mod = _CLM
        return [
            self._info(
                f"{mod}.utils:process_input_data:550",
                f"Train data: Dataset({{ features: {self._columns()!r}, num_rows: {self.rows} }})",
            ),
            self._info(f"{mod}.utils:configure_logging_steps:684", f"Logging steps: {self.logging_steps}"),
            self._info(f"{mod}.utils:get_model:925", "loading model..."),
            self._info(f"{mod}.train_clm_{self.plan.trainer}:train:37", "creating trainer"),
            self._info("autotrain.trainers.common:on_train_begin:230", "Starting to train..."),
        ]

    def _columns(self) -> list[str]:
        params = self.plan.params
        names = [
            params.get("prompt_text_column"),
            params.get("text_column", "text"),
            params.get("rejected_text_column"),
        ]
        return [str(name) for name in names if name]

    def step_lines(self, index: int) -> list[str]:
        """The progress bar and metrics of the ``index``-th logging step."""
        step, total = self.steps[index], self.total_steps
        pct = int(100 * step / total)
        bar = "█" * (pct // 10) + " " * (10 - pct // 10)
        elapsed, remaining = step * 2, (total - step) * 2
        progress = (
            f"{pct:3d}%|{bar}| {step}/{total} [{elapsed // 60:02d}:{elapsed % 60:02d}"
            f"<{remaining // 60:02d}:{remaining % 60:02d},  2.00s/it]"
        )
        lr = self.plan.lr * max(0.0, 1 - step / total)
        metrics: dict[str, float] = {
            "loss": self.losses[index],
            "grad_norm": round(0.4 + self.rng.random(), 4),
            "learning_rate": float(f"{lr:.3g}"),
        }
        if self.plan.runner == "trl":
            metrics["mean_token_accuracy"] = round(min(0.99, 0.45 + 0.4 * step / total), 4)
        metrics["epoch"] = round(self.plan.epochs * step / total, 2)
        return [progress, self._info("autotrain.trainers.common:on_log:226", repr(metrics))]

    def training_done(self) -> list[str]:
        if not self.steps:
            return ["Done"]
        train_loss = round(sum(self.losses) / len(self.losses), 4)
        runtime = self.total_steps * 2.0
        summary = {
            "train_runtime": runtime,
            "train_samples_per_second": round(self.rows * self.plan.epochs / runtime, 3),
            "train_steps_per_second": 0.5,
            "train_loss": train_loss,
            "epoch": float(self.plan.epochs),
        }
        return [self._info("autotrain.trainers.common:on_log:226", repr(summary))]

    def pushing(self) -> list[str]:
        repo = self.plan.target_repo
        if self.plan.runner == "autotrain":
            mod = _CLM
            return [
                self._info(f"{mod}.utils:post_training_steps:176", "Finished training, saving model..."),
                self._info(f"{mod}.utils:post_training_steps:221", "Pushing model to hub..."),
            ]
        return [f"Saving model checkpoint to {self.plan.project_name}", f"Pushing to the Hub: {repo}"]

    def swallowed(self, exception: str, message: str) -> list[str]:
        """AutoTrain's ``monitor`` wrapper: log the traceback, exit 0."""
        lines = [
            self._info(
                "autotrain.trainers.common:wrapper:215",
                "train has failed due to an exception: Traceback (most recent call last):",
                "ERROR",
            ),
            '  File "/app/env/lib/python3.10/site-packages/autotrain/trainers/common.py", line 212, in wrapper',
            "    return func(*args, **kwargs)",
            f"{exception}: {message}",
            self._info("autotrain.trainers.common:wrapper:216", message, "ERROR"),
        ]
        if self.space:
            lines.append(self._info("autotrain.trainers.common:pause_space:56", "Pausing space..."))
        return lines

    def crashed(self, exception: str, message: str) -> list[str]:
        """An uncaught error: the traceback and a non-zero exit."""
        return [
            "Traceback (most recent call last):",
            '  File "/usr/local/bin/accelerate", line 8, in <module>',
            "    sys.exit(main())",
            f"{exception}: {message}",
        ]

    def finished(self) -> list[str]:
        if self.plan.runner == "autotrain" and self.space:
            return [self._info("autotrain.trainers.common:pause_space:56", "Pausing space...")]
        return []


def _safetensors_placeholder(metadata: dict[str, str]) -> bytes:
    # A well-formed safetensors file holding no tensors: a loader opens it and finds it empty.
    header = json.dumps({"__metadata__": metadata}, separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header


def model_files(plan: ContainerPlan) -> dict[str, bytes]:
    """The files a finished run pushes: an adapter, or a merged/full model."""
    tokenizer_config = {
        "model_max_length": 2048,
        "tokenizer_class": "PreTrainedTokenizerFast",
        "chat_template": "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
        "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}",
        "eos_token": "<|im_end|>",
        "pad_token": "<|im_end|>",
    }
    files: dict[str, bytes] = {
        "tokenizer_config.json": json.dumps(tokenizer_config, indent=2).encode(),
        "special_tokens_map.json": json.dumps({"eos_token": "<|im_end|>", "pad_token": "<|im_end|>"}).encode(),
        "tokenizer.json": json.dumps(
            {"version": "1.0", "model": {"type": "BPE", "vocab": {"<|im_end|>": 0}, "merges": []}}
        ).encode(),
    }
    meta = {"format": "pt", "emulated": "true", "base_model": plan.model}
    if plan.merged:
        files["config.json"] = json.dumps(
            {"_name_or_path": plan.model, "architectures": ["LlamaForCausalLM"], "model_type": "llama"}, indent=2
        ).encode()
        files["generation_config.json"] = json.dumps({"do_sample": True, "eos_token_id": 0}).encode()
        files["model.safetensors"] = _safetensors_placeholder(meta)
    else:
        adapter = {
            "base_model_name_or_path": plan.model,
            "peft_type": "LORA",
            "task_type": "CAUSAL_LM",
            "r": plan.lora_r,
            "lora_alpha": plan.lora_alpha,
            "lora_dropout": plan.lora_dropout,
            "target_modules": plan.target_modules,
            "bias": "none",
            "inference_mode": True,
        }
        files["adapter_config.json"] = json.dumps(adapter, indent=2).encode()
        files["adapter_model.safetensors"] = _safetensors_placeholder(meta)
    tags = ["autotrain", "text-generation-inference", "text-generation"] if plan.runner == "autotrain" else ["trl"]
    if not plan.merged:
        tags.append("peft")
    card = "---\n" + f"base_model: {plan.model}\nlibrary_name: {'transformers' if plan.merged else 'peft'}\n"
    card += "tags:\n" + "".join(f"- {t}\n" for t in tags) + "---\n\n"
    card += f"# Model trained with {'AutoTrain' if plan.runner == 'autotrain' else 'TRL'}\n"
    files["README.md"] = card.encode()
    if plan.runner == "autotrain":
        files["training_params.json"] = json.dumps(plan.params, indent=4, default=str).encode()
    return files
