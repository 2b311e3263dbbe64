"""The trainer callback that reports progress to the run folder and stops on request."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

import torch
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from tunekit_local.runfolder import EventWriter

__all__ = ["METRIC_NAMES", "InitialWeightsCallback", "ProgressCallback", "rename_metrics"]

METRIC_NAMES = {
    "loss": "train_loss",
    "mean_token_accuracy": "train_mean_token_accuracy",
    "entropy": "train_entropy",
    "eval_loss": "valid_loss",
    "eval_mean_token_accuracy": "valid_mean_token_accuracy",
    "eval_entropy": "valid_entropy",
}
"""Trainer log keys renamed to tunekit's provider-neutral metric names; other keys keep theirs."""


def rename_metrics(logs: dict[str, Any]) -> dict[str, float]:
    """Numeric log values under tunekit's names (the end-of-training summary keeps ``train_*`` names apart)."""
    summary = "train_runtime" in logs
    metrics: dict[str, float] = {}
    for key, value in logs.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        name = f"{key}_mean" if summary and key == "train_loss" else METRIC_NAMES.get(key, key)
        metrics[name] = float(value)
    return metrics


class ProgressCallback(TrainerCallback):
    """Writes metrics, checkpoints and progress as events; stops at the next step once ``stop`` is set."""

    def __init__(self, writer: EventWriter | None, *, checkpoints_dir: str) -> None:
        self.writer = writer
        self.checkpoints_dir = checkpoints_dir
        self.stop_requested = False
        self.last_step_time: float | None = None
        self._step_started = time.monotonic()
        self._began = (self._step_started, 0)

    def request_stop(self) -> None:
        self.stop_requested = True

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if self.writer is not None and state.is_world_process_zero:
            message = f"training from step {state.global_step}" if state.global_step else "training started"
            self.writer.status("running", message, step=state.global_step, total_steps=state.max_steps)
        self._step_started = time.monotonic()
        self._began = (self._step_started, state.global_step)

    def on_step_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> None:
        now = time.monotonic()
        self.last_step_time = now - self._step_started
        self._step_started = now
        if self.stop_requested:
            control.should_training_stop = True
            control.should_save = False

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if self.writer is None or not state.is_world_process_zero or not logs:
            return
        metrics = rename_metrics(logs)
        if self.last_step_time is not None and "train_loss" in metrics:
            metrics["step_time_s"] = round(self.last_step_time, 4)
            if torch.cuda.is_available():
                metrics["peak_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 3)
        if not metrics:
            return
        if "train_runtime" in logs:
            text = f"trained {state.global_step} steps in {metrics['train_runtime']:.1f} s"
            self.writer.emit("message", text, step=state.global_step, total_steps=state.max_steps, metrics=metrics)
            return
        summary = "  ".join(
            f"{k}={v:.4g}" for k, v in metrics.items() if k in ("train_loss", "valid_loss", "reward", "reward_std")
        )
        self.writer.emit(
            "metrics", summary or "metrics", step=state.global_step, total_steps=state.max_steps, metrics=metrics
        )
        self.writer.status(
            "running",
            f"step {state.global_step}/{state.max_steps}",
            event=False,
            step=state.global_step,
            total_steps=state.max_steps,
            trained_tokens=int(metrics["num_tokens"]) if "num_tokens" in metrics else None,
            estimated_finish=self._estimated_finish(state),
        )

    def _estimated_finish(self, state: TrainerState) -> str | None:
        started, first_step = self._began
        done = state.global_step - first_step
        if done <= 0 or not state.max_steps:
            return None
        remaining = (time.monotonic() - started) / done * max(0, state.max_steps - state.global_step)
        return (datetime.now(timezone.utc) + timedelta(seconds=remaining)).isoformat()

    def on_save(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> None:
        if self.writer is None or not state.is_world_process_zero:
            return
        path = f"{self.checkpoints_dir}/checkpoint-{state.global_step}"
        self.writer.emit(
            "checkpoint",
            f"checkpoint at step {state.global_step}",
            step=state.global_step,
            total_steps=state.max_steps,
            data={"path": path},
        )


class InitialWeightsCallback(TrainerCallback):
    """Reports the digest of the trainable adapter weights as training begins from step 0 (``init_from``).

    The weights are read from the model the trainer holds, after the trainer
    has prepared it: what step 1 starts from, not what was loaded.
    """

    def __init__(self, writer: EventWriter | None, source: str) -> None:
        self.writer = writer
        self.source = source

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        model = kwargs.get("model")
        if self.writer is None or not state.is_world_process_zero or state.global_step or model is None:
            return
        from peft import get_peft_model_state_dict

        from tunekit_local.init_adapter import weights_digest

        digest = weights_digest(get_peft_model_state_dict(model))
        self.writer.emit(
            "message",
            f"training starts from the adapter {self.source} (weights sha256 {digest[:12]})",
            data={"init_adapter": self.source, "init_weights_sha256": digest},
        )
