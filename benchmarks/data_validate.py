"""Validate and count tokens of a generated chat JSONL: tunekit against the cookbook's loop.

The baseline is what OpenAI's chat fine-tuning data-prep notebook does: load
every line into a list, run its format checks, then count tokens per message
with ``encoding.encode`` (role and content, assistant content again for the
assistant total). tunekit streams the file through ``validate_data``. Each side
runs in its own process so that peak RSS is its own.

    python benchmarks/data_validate.py                # 100,000 examples (and 10,000 for the RSS check)
    python benchmarks/data_validate.py --n 5000       # quick
    python benchmarks/data_validate.py --model gpt-3.5-turbo   # a cl100k_base model (default: o200k_base)
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODEL = "gpt-4o-mini"

WORDS = (  # noqa: SIM905 - a word list is easier to read as one string
    "the of and to in is you that it he was for on are as with his they at be this have from or one had by word but "
    "not what all were we when your can said there use an each which she do how their if will up other about out many "
    "then them these so some her would make like him into time has look two more write go see number no way could "
    "people my than first water been call who oil its now find long down day did get come made may part model data "
    "token train answer question python json file error refund order invoice shipping account password reset café "
    "naïve résumé 東京 数据 模型 😀"
).split()
SYSTEMS = [
    "You are a helpful customer support assistant for Acme Corp. Answer briefly and politely.",
    "Marv is a factual chatbot that is also sarcastic.",
    "You extract structured JSON from invoices. Reply with JSON only.",
    "You are a senior Python reviewer. Point out bugs first, style second.",
]


def generate(path: Path, n: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        for _ in range(n):
            messages = [{"role": "system", "content": rng.choice(SYSTEMS)}]
            for _turn in range(1 if rng.random() < 0.8 else 2):
                messages.append({"role": "user", "content": " ".join(rng.choices(WORDS, k=rng.randint(8, 60)))})
                messages.append({"role": "assistant", "content": " ".join(rng.choices(WORDS, k=rng.randint(20, 160)))})
            out.write(json.dumps({"messages": messages}, ensure_ascii=False) + "\n")


def usage(start_wall: float, start_cpu: float) -> dict[str, float]:
    """Wall and CPU seconds since the start (workers included); peak RSS of this process and of its workers."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "seconds": time.perf_counter() - start_wall,
        "cpu_seconds": me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime - start_cpu,
        "peak_rss_mb": me.ru_maxrss / 1024,
        "worker_peak_rss_mb": children.ru_maxrss / 1024,
    }


def cpu_now() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def run_cookbook(path: Path, model: str) -> dict[str, float]:
    """The notebook's steps, as it writes them."""
    from collections import defaultdict

    from tunekit.data.tiktoken_cache import get_encoding  # the same vocabulary, loaded offline
    from tunekit.data.tokens import encoding_for_model

    encoding = get_encoding(encoding_for_model(model))
    start, start_cpu = time.perf_counter(), cpu_now()
    with open(path, encoding="utf-8") as f:
        dataset = [json.loads(line) for line in f]

    format_errors: dict[str, int] = defaultdict(int)
    for ex in dataset:
        if not isinstance(ex, dict):
            format_errors["data_type"] += 1
            continue
        messages = ex.get("messages", None)
        if not messages:
            format_errors["missing_messages_list"] += 1
            continue
        for message in messages:
            if "role" not in message or "content" not in message:
                format_errors["message_missing_key"] += 1
            if any(k not in ("role", "content", "name", "function_call", "weight") for k in message):
                format_errors["message_unrecognized_key"] += 1
            if message.get("role", None) not in ("system", "user", "assistant", "function"):
                format_errors["unrecognized_role"] += 1
            content = message.get("content", None)
            function_call = message.get("function_call", None)
            if (not content and not function_call) or not isinstance(content, str):
                format_errors["missing_content"] += 1
        if not any(message.get("role", None) == "assistant" for message in messages):
            format_errors["example_missing_assistant_message"] += 1

    def num_tokens_from_messages(
        messages: list[dict[str, str]], tokens_per_message: int = 3, tokens_per_name: int = 1
    ) -> int:
        num_tokens = 0
        for message in messages:
            num_tokens += tokens_per_message
            for key, value in message.items():
                num_tokens += len(encoding.encode(value))
                if key == "name":
                    num_tokens += tokens_per_name
        num_tokens += 3
        return num_tokens

    def num_assistant_tokens_from_messages(messages: list[dict[str, str]]) -> int:
        num_tokens = 0
        for message in messages:
            if message["role"] == "assistant":
                num_tokens += len(encoding.encode(message["content"]))
        return num_tokens

    n_missing_system = 0
    n_missing_user = 0
    n_messages = []
    convo_lens = []
    assistant_message_lens = []
    for ex in dataset:
        messages = ex["messages"]
        if not any(message["role"] == "system" for message in messages):
            n_missing_system += 1
        if not any(message["role"] == "user" for message in messages):
            n_missing_user += 1
        n_messages.append(len(messages))
        convo_lens.append(num_tokens_from_messages(messages))
        assistant_message_lens.append(num_assistant_tokens_from_messages(messages))
    n_too_long = sum(length > 65536 for length in convo_lens)
    return {
        "examples": len(dataset),
        "tokens": sum(convo_lens),
        "assistant_tokens": sum(assistant_message_lens),
        "errors": sum(format_errors.values()),
        "too_long": n_too_long,
        "workers": 1,
        **usage(start, start_cpu),
    }


def run_tunekit(path: Path, workers: int | None, model: str) -> dict[str, float]:
    import os

    from tunekit.config import TuneConfig
    from tunekit.data import validate_data
    from tunekit.data.scan import default_workers
    from tunekit.registry import get_provider_class

    if workers is not None:
        os.environ["TUNEKIT_DATA_WORKERS"] = str(workers)
    config = TuneConfig.model_validate({"provider": "openai", "model": model, "data": {"train": str(path)}})
    openai = get_provider_class("openai")
    counter = openai.token_counter(model)  # load the vocabulary outside the timed part, as above
    start, start_cpu = time.perf_counter(), cpu_now()
    report = validate_data(config, profile=openai, counter=counter)
    result = usage(start, start_cpu)
    tokens = report.tokens
    assert tokens is not None
    return {
        "examples": tokens.examples,
        "tokens": tokens.total,
        "assistant_tokens": tokens.trained_total,
        "errors": report.error_count,
        "too_long": tokens.over_limit,
        "workers": default_workers(),
        **result,
    }


def measure(kind: str, path: Path, model: str, workers: int | None = None) -> dict[str, float]:
    command = [sys.executable, __file__, "--worker", kind, "--path", str(path), "--model", model]
    if workers is not None:
        command += ["--workers", str(workers)]
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="examples in the large file")
    parser.add_argument("--small", type=int, default=None, help="examples in the small file (default n / 10)")
    parser.add_argument("--worker", choices=["cookbook", "tunekit"], help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--model", default=MODEL, help=f"an OpenAI model (default {MODEL}, o200k_base)")
    args = parser.parse_args()
    model = args.model
    if args.worker:
        if args.worker == "cookbook":
            result = run_cookbook(args.path, model)
        else:
            result = run_tunekit(args.path, args.workers, model)
        print(json.dumps(result))
        return

    small_n = args.small or max(1, args.n // 10)
    with tempfile.TemporaryDirectory() as tmp:
        big, small = Path(tmp) / "big.jsonl", Path(tmp) / "small.jsonl"
        generate(big, args.n)
        generate(small, small_n, seed=1)
        size_mb = big.stat().st_size / 1e6
        rows = {
            "cookbook loop": measure("cookbook", big, model),
            "tunekit": measure("tunekit", big, model),
            "tunekit 1 proc": measure("tunekit", big, model, workers=1),
            "cookbook small": measure("cookbook", small, model),
            "tunekit small": measure("tunekit", small, model),
        }
    print(f"chat JSONL: {args.n:,} examples ({size_mb:.1f} MB); small file {small_n:,}; model {model}; ", end="")
    print(f"{rows['tunekit']['workers']:.0f} worker processes available\n")
    header = (
        f"{'run':<16}{'examples':>10}{'wall s':>9}{'ex/s':>9}{'CPU s':>8}{'ex/CPU-s':>10}"
        f"{'RSS MB':>8}{'worker RSS':>11}{'tokens':>12}{'assistant':>11}"
    )
    print(header)
    print("-" * len(header))
    for name, r in rows.items():
        print(
            f"{name:<16}{int(r['examples']):>10,}{r['seconds']:>9.2f}{r['examples'] / r['seconds']:>9,.0f}"
            f"{r['cpu_seconds']:>8.2f}{r['examples'] / r['cpu_seconds']:>10,.0f}{r['peak_rss_mb']:>8.0f}"
            f"{r['worker_peak_rss_mb']:>11.0f}{int(r['tokens']):>12,}{int(r['assistant_tokens']):>11,}"
        )
    base, tk, one = rows["cookbook loop"], rows["tunekit"], rows["tunekit 1 proc"]

    def ratio(a: dict[str, float], b: dict[str, float], key: str) -> float:
        return (a["examples"] / a[key]) / (b["examples"] / b[key])

    same = all(r["tokens"] == base["tokens"] and r["assistant_tokens"] == base["assistant_tokens"] for r in (tk, one))
    print()
    print(f"throughput tunekit / cookbook (wall): {ratio(tk, base, 'seconds'):.2f}x   (target >= 5x)")
    print(f"throughput tunekit 1 proc / cookbook (wall): {ratio(one, base, 'seconds'):.2f}x")
    print(f"work per example, cookbook CPU / tunekit CPU: {ratio(tk, base, 'cpu_seconds'):.2f}x")
    print(f"token totals identical: {same}")
    print(
        f"peak RSS tunekit (main process): {rows['tunekit small']['peak_rss_mb']:.0f} MB at {small_n:,} -> "
        f"{tk['peak_rss_mb']:.0f} MB at {args.n:,}; each worker {tk['worker_peak_rss_mb']:.0f} MB; "
        f"single process {one['peak_rss_mb']:.0f} MB; cookbook {base['peak_rss_mb']:.0f} MB (target < 300 MB, flat)"
    )


if __name__ == "__main__":
    main()
