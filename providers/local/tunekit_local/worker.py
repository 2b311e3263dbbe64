"""The training process: ``python -m tunekit_local.worker RUN_DIR [--resume]``.

Started by the provider (directly, or once per rank through accelerate or
torchrun). It reads job.json, resolves the plan for this machine, checks what
will be supervised, trains with TRL, and writes status, events, checkpoints and
the result to the run folder. Rank 0 alone writes; every rank trains.
SIGTERM stops it cleanly after the current step.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from tunekit.plugin import ADAPTER_METADATA, TunekitError, load_tokenizer
from tunekit_local.runfolder import EventWriter, RunFolder, now_iso, write_json
from tunekit_local.spec import JobSpec

logger = logging.getLogger("tunekit.local.worker")


def _rank() -> tuple[int, int, int]:
    env = os.environ
    return int(env.get("RANK", "0")), int(env.get("LOCAL_RANK", "0")), int(env.get("WORLD_SIZE", "1"))


class Worker:
    def __init__(self, folder: RunFolder, *, resume: bool, openmp_reason: str | None = None) -> None:
        self.folder = folder
        self.openmp_reason = openmp_reason
        self.resume = resume
        self.rank, self.local_rank, self.world_size = _rank()
        self.main = self.rank == 0
        self.writer = EventWriter(folder) if self.main else None
        spec = JobSpec.read(folder)
        if spec is None:
            raise TunekitError(f"{folder.job} is missing: the run was never submitted")
        self.spec = spec
        self.options = spec.local_options()
        self.callback: Any = None

    # -- reporting ---------------------------------------------------------------

    def emit(self, type: str, message: str, **fields: Any) -> None:
        if self.writer is not None:
            self.writer.emit(type, message, **fields)

    def status(self, status: str, message: str = "", **fields: Any) -> None:
        if self.writer is not None:
            self.writer.status(status, message, **fields)

    def on_sigterm(self, signum: int, frame: Any) -> None:
        logger.warning("stop requested (signal %d): stopping after the current step", signum)
        if self.callback is not None:
            self.callback.request_stop()
        else:
            # Still loading: nothing to save. End here instead of raising into whatever runs now: an import
            # cut in half by an exception surfaces later as an unrelated error, and the run would read failed.
            self.status("cancelled", "cancelled before training started")
            logging.shutdown()
            os._exit(0)

    # -- the run -----------------------------------------------------------------

    def run(self) -> int:
        from tunekit_local.defaults import detect_hardware, library_versions, resolve_plan
        from tunekit_local.training import data_stats, model_max_length, read_rows

        self.status("running", "loading data and model", attempt_resume=self.resume)
        if self.options.torch_threads:
            import torch

            torch.set_num_threads(self.options.torch_threads)
        hardware = detect_hardware(self.options.device)
        tokenizer = load_tokenizer(self.spec.model, trust_remote_code=self.options.trust_remote_code)
        train_rows = read_rows(self.spec.train_file)
        eval_rows = read_rows(self.spec.validation_file) if self.spec.validation_file else None
        stats = data_stats(train_rows, eval_rows, tokenizer, model_max_length(tokenizer))
        plan = resolve_plan(
            method=self.spec.method,
            hyperparameters=self.spec.hyperparameters,
            lora=self.spec.lora,
            seed=self.spec.seed,
            options=self.options,
            hardware=hardware,
            stats=stats,
        )
        if self.openmp_reason:
            plan.reasons["openmp"] = self.openmp_reason
        if self.main:
            write_json(
                self.folder.plan,
                {
                    "plan": plan.to_json(),
                    "trainer_args": plan.trainer_kwargs(str(self.folder.checkpoints)),
                    "data": stats.__dict__,
                    "hardware": hardware.__dict__,
                    "versions": library_versions(),
                    "world_size": self.world_size,
                    "written_at": now_iso(),
                },
            )
            reasons = "; ".join(f"{k}: {v}" for k, v in plan.reasons.items())
            shape = (
                f"{plan.num_generations} completions per prompt of at most {plan.max_completion_length} tokens, "
                f"beta {plan.beta:g}{', vLLM' if plan.use_vllm else ''}"
                if plan.method == "rft"
                else f"max_length {plan.max_length}"
            )
            self.emit(
                "message",
                f"{plan.method} on {hardware.name}: {plan.precision}, {plan.total_steps} steps, batch "
                f"{plan.batch_size}, {shape} ({reasons})",
                data={"plan": plan.to_json()},
            )
        return self._train(plan, tokenizer, train_rows, eval_rows)

    def _train(self, plan: Any, tokenizer: Any, train_rows: Any, eval_rows: Any) -> int:
        from tunekit_local.callbacks import ProgressCallback
        from tunekit_local.preflight import check_supervision, inspect_dpo_row, inspect_sft_row, stop_token_ids
        from tunekit_local.training import build_trainer, load_model

        model = load_model(
            self.spec.model, plan, trust_remote_code=self.options.trust_remote_code, local_rank=self.local_rank
        )
        self.callback = ProgressCallback(self.writer, checkpoints_dir=str(self.folder.checkpoints))
        callbacks: list[Any] = [self.callback]
        if self.spec.init_adapter:  # init_from: train a copy of an earlier run's adapter
            from tunekit_local.callbacks import InitialWeightsCallback
            from tunekit_local.init_adapter import load_trainable_adapter

            model = load_trainable_adapter(model, self.spec.init_adapter)
            callbacks.append(InitialWeightsCallback(self.writer, self.spec.init_adapter))
        # RFT's check samples the model training starts from (an earlier run's adapter when init_from names one).
        rewards = self._check_rewards(plan, model, tokenizer, train_rows) if plan.method == "rft" else None
        trainer = build_trainer(
            plan,
            model,
            tokenizer,
            train_rows,
            eval_rows,
            output_dir=str(self.folder.checkpoints),
            callbacks=callbacks,
            rewards=rewards,
        )

        if plan.method != "rft":  # RFT supervises the completions it samples, not tokens of the data
            stops = stop_token_ids(tokenizer, model)
            row = trainer.train_dataset[0]
            report = (
                inspect_dpo_row(row, tokenizer, stops)
                if plan.method == "dpo"
                else inspect_sft_row(row, tokenizer, stops)
            )
            self.emit(
                "message",
                f"first example, supervised tokens in [[ ]]: {report.render(1200)}",
                data={"preflight": report.to_json()},
            )
            for warning in report.warnings:
                self.emit("message", warning, level="warning")
            check_supervision(report, tokenizer, file=self.spec.train_file)

        resume_from = None
        if self.resume:
            last = self.folder.last_checkpoint()
            if last is not None:
                resume_from = str(last)
                self.emit("message", f"resuming from {last.name}", step=int(last.name.split("-")[1]))
            else:
                self.emit("message", "no checkpoint was saved before the interruption: training from the start")
        started, cpu_started = time.perf_counter(), time.process_time()
        trainer.train(resume_from_checkpoint=resume_from)
        timing = {
            "train_wall_seconds": time.perf_counter() - started,
            "train_cpu_seconds": time.process_time() - cpu_started,  # robust to other processes on a shared CPU
        }
        step = trainer.state.global_step
        if self.callback.stop_requested:
            self.status("cancelled", f"cancelled at step {step}", step=step, total_steps=trainer.state.max_steps)
            return 0
        self._finish(plan, trainer, tokenizer, train_rows, timing)
        return 0

    def _check_rewards(self, plan: Any, model: Any, tokenizer: Any, rows: list[dict[str, Any]]) -> list[Any]:
        """Load the rewards; on a fresh run, refuse one that raises or never varies on the starting model's samples."""
        from tunekit.plugin import RewardFunction, resolve_rewards
        from tunekit_local.reward_check import check_rewards_on_samples

        metrics = resolve_rewards(self.spec.reward)
        prompts = self.options.reward_check_prompts
        if prompts and not self.resume:
            self.status(
                "running", f"sampling the starting model on {min(prompts, len(rows))} prompts to check the rewards"
            )
            spreads = check_rewards_on_samples(
                model,
                tokenizer,
                rows,
                metrics,
                prompts=prompts,
                samples=plan.num_generations,
                max_new_tokens=plan.max_completion_length,
                seed=plan.seed,
            )
            summary = "; ".join(
                f"{s['name']} {s['min']:g}..{s['max']:g} (mean {s['mean']:g}, varies on {s['prompts_with_spread']} "
                f"of {s['prompts']} prompts)"
                for s in spreads
            )
            self.emit("message", f"rewards on the starting model's samples: {summary}", data={"reward_check": spreads})
        return [RewardFunction(metric) for metric in metrics]

    def _finish(
        self, plan: Any, trainer: Any, tokenizer: Any, train_rows: list[dict[str, Any]], timing: dict[str, float]
    ) -> None:
        state = trainer.state
        self.status("running", "saving the result", event=False, step=state.global_step, total_steps=state.max_steps)
        output = self.folder.adapter if plan.lora is not None else self.folder.model
        trainer.save_model(str(output))
        if not trainer.is_world_process_zero():
            return
        tokenizer.save_pretrained(str(output))  # tokenizer and chat template travel with the weights
        final = {k: v for k, v in (state.log_history[-1] if state.log_history else {}).items()}
        losses = [h["loss"] for h in state.log_history if "loss" in h]
        result: dict[str, Any] = {
            "base_model": self.spec.model,
            "kind": "adapter" if plan.lora is not None else "model_dir",
            "path": str(output),
            "method": plan.method,
            "steps": state.global_step,
            "final_train_loss": losses[-1] if losses else None,
            "first_train_loss": losses[0] if losses else None,
            "train_summary": final,
            **_reward_summary(state.log_history),
            **timing,
            "created_at": now_iso(),
        }
        write_json(output / ADAPTER_METADATA, {"base_model": self.spec.model, "run_id": self.spec.run_id})
        if self.options.merge:
            result["merge"] = self._merge(plan, tokenizer, train_rows)
        if self.options.push_to_hub:
            result["hub_repo"] = self._push(result)
        write_json(self.folder.result, result)
        self.status(
            "succeeded", f"finished at step {state.global_step}", step=state.global_step, total_steps=state.max_steps
        )

    def _merge(self, plan: Any, tokenizer: Any, train_rows: list[dict[str, Any]]) -> dict[str, Any]:
        from tunekit_local.merge import merge_adapter

        if plan.lora is None:
            return {"skipped": "all weights were trained; there is no adapter to merge"}
        prompts = _sample_prompts(train_rows, self.options.merge_check_prompts)
        precision = "fp32" if plan.device == "cpu" else ("bf16" if plan.precision == "bf16" else "fp16")
        self.status("running", "merging the adapter into the base weights", event=True)
        report = merge_adapter(
            self.spec.model,
            self.folder.adapter,
            self.folder.merged,
            tokenizer,
            prompts,
            precision=precision,
            trust_remote_code=self.options.trust_remote_code,
        )
        report["path"] = str(self.folder.merged)
        self.emit("message", f"merged model agrees with base + adapter on {report['prompts']} prompts", data=report)
        return report

    def _push(self, result: dict[str, Any]) -> str:
        from huggingface_hub import HfApi

        repo = self.options.push_to_hub
        assert repo is not None
        api = HfApi(token=os.environ.get("HF_TOKEN") or None)
        self.status("running", f"pushing to the Hub repo {repo}")
        api.create_repo(repo, private=self.options.hub_private, exist_ok=True)
        api.upload_folder(repo_id=repo, folder_path=str(self.folder.adapter), commit_message="tunekit: adapter")
        if "merge" in result and "path" in result["merge"]:
            api.upload_folder(
                repo_id=repo,
                folder_path=str(self.folder.merged),
                path_in_repo="merged",
                commit_message="tunekit: merged",
            )
        self.emit("message", f"pushed to https://huggingface.co/{repo}")
        return repo


def _reward_summary(history: list[dict[str, Any]]) -> dict[str, float]:
    """RFT: the mean reward at the first and the last logged step."""
    rewards = [float(h["reward"]) for h in history if "reward" in h]
    return {"first_reward": rewards[0], "final_reward": rewards[-1]} if rewards else {}


def _sample_prompts(rows: list[dict[str, Any]], n: int) -> list[list[dict[str, Any]]]:
    prompts: list[list[dict[str, Any]]] = []
    for row in rows:
        if len(prompts) >= n:
            break
        if "messages" in row:
            messages = row["messages"]
            last = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=len(messages))
            prompt = messages[:last]
        elif isinstance(row.get("prompt"), list):
            prompt = row["prompt"]
        elif isinstance(row.get("prompt"), str):
            prompt = [{"role": "user", "content": row["prompt"]}]
        else:
            prompt = [{"role": "user", "content": str(row.get("text", ""))[:200]}]
        if prompt:
            prompts.append(prompt)
    return prompts or [[{"role": "user", "content": "Hello"}]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tunekit_local.worker", description=__doc__)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    folder = RunFolder(args.run_dir.resolve())
    from tunekit_local.defaults import openmp_settings

    openmp, openmp_reason = openmp_settings()
    os.environ.update(openmp)  # before torch loads OpenMP
    worker: Worker | None = None
    try:
        worker = Worker(folder, resume=args.resume, openmp_reason=openmp_reason)
        signal.signal(signal.SIGTERM, worker.on_sigterm)
        return worker.run()
    except KeyboardInterrupt:
        if worker is not None:
            worker.status("cancelled", "cancelled before training started")
        return 0
    except BaseException as exc:  # every failure becomes the run's status before the process ends
        traceback.print_exc()
        message = str(exc) if isinstance(exc, TunekitError) else f"{type(exc).__name__}: {exc}"
        if worker is not None:
            worker.status("failed", message, error_type=type(exc).__name__)
        return 1


if __name__ == "__main__":
    sys.exit(main())
