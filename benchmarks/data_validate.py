"""Validate and count tokens of a generated chat JSONL: tunekit against the cookbook's loop.

The baseline is what OpenAI's chat fine-tuning data-prep notebook does: load
every line into a list, run its format checks, then count tokens per message
with ``encoding.encode`` (role and content, assistant content again for the
assistant total). tunekit streams the file through ``validate_data``. Each side
runs in its own process so that peak RSS is its own.

    python benchmarks/data_validate.py                # 100,000 examples (and 10,000 for the RSS check)
    python benchmarks/data_validate.py --n 5000       # quick
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

WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "you",
    "that",
    "it",
    "he",
    "was",
    "for",
    "on",
    "are",
    "as",
    "with",
    "his",
    "they",
    "at",
    "be",
    "this",
    "have",
    "from",
    "or",
    "one",
    "had",
    "by",
    "word",
    "but",
    "not",
    "what",
    "all",
    "were",
    "we",
    "when",
    "your",
    "can",
    "said",
    "there",
    "use",
    "an",
    "each",
    "which",
    "she",
    "do",
    "how",
    "their",
    "if",
    "will",
    "up",
    "other",
    "about",
    "out",
    "many",
    "then",
    "them",
    "these",
    "so",
    "some",
    "her",
    "would",
    "make",
    "like",
    "him",
    "into",
    "time",
    "has",
    "look",
    "two",
    "more",
    "write",
    "go",
    "see",
    "number",
    "no",
    "way",
    "could",
    "people",
    "my",
    "than",
    "first",
    "water",
    "been",
    "call",
    "who",
    "oil",
    "its",
    "now",
    "find",
    "long",
    "down",
    "day",
    "did",
    "get",
    "come",
    "made",
    "may",
    "part",
    "model",
    "data",
    "token",
    "train",
    "answer",
    "question",
    "python",
    "json",
    "file",
    "error",
    "refund",
    "order",
    "invoice",
    "shipping",
    "account",
    "password",
    "reset",
    "café",
    "naïve",
    "résumé",
    "東京",
    "数据",
    "模型",
    "😀",
]
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


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_cookbook(path: Path) -> dict[str, float]:
    """The notebook's steps, as it writes them."""
    from collections import defaultdict

    from tunekit.data.tiktoken_cache import get_encoding  # the same vocabulary, loaded offline
    from tunekit.data.tokens import encoding_for_model

    encoding = get_encoding(encoding_for_model(MODEL))
    start = time.perf_counter()
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
    seconds = time.perf_counter() - start
    return {
        "examples": len(dataset),
        "seconds": seconds,
        "tokens": sum(convo_lens),
        "assistant_tokens": sum(assistant_message_lens),
        "errors": sum(format_errors.values()),
        "too_long": n_too_long,
        "peak_rss_mb": peak_rss_mb(),
    }


def run_tunekit(path: Path) -> dict[str, float]:
    from tunekit.config import TuneConfig
    from tunekit.data import TiktokenCounter, encoding_for_model, validate_data

    config = TuneConfig.model_validate({"provider": "openai", "model": MODEL, "data": {"train": str(path)}})
    counter = TiktokenCounter(encoding_for_model(MODEL))  # load the vocabulary outside the timed part, as above
    start = time.perf_counter()
    report = validate_data(config, counter=counter)
    seconds = time.perf_counter() - start
    tokens = report.tokens
    assert tokens is not None
    return {
        "examples": tokens.examples,
        "seconds": seconds,
        "tokens": tokens.total,
        "assistant_tokens": tokens.trained_total,
        "errors": report.error_count,
        "too_long": tokens.over_limit,
        "peak_rss_mb": peak_rss_mb(),
    }


def measure(kind: str, path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--worker", kind, "--path", str(path)], capture_output=True, text=True, check=True
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="examples in the large file")
    parser.add_argument("--small", type=int, default=None, help="examples in the small file (default n / 10)")
    parser.add_argument("--worker", choices=["cookbook", "tunekit"], help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = run_cookbook(args.path) if args.worker == "cookbook" else run_tunekit(args.path)
        print(json.dumps(result))
        return

    small_n = args.small or max(1, args.n // 10)
    with tempfile.TemporaryDirectory() as tmp:
        big, small = Path(tmp) / "big.jsonl", Path(tmp) / "small.jsonl"
        generate(big, args.n)
        generate(small, small_n, seed=1)
        size_mb = big.stat().st_size / 1e6
        rows = {
            "cookbook": measure("cookbook", big),
            "tunekit": measure("tunekit", big),
            "tunekit-small": measure("tunekit", small),
            "cookbook-small": measure("cookbook", small),
        }
    print(f"chat JSONL: {args.n:,} examples ({size_mb:.1f} MB); small file {small_n:,} examples; model {MODEL}\n")
    header = f"{'run':<16}{'examples':>10}{'seconds':>10}{'examples/s':>12}{'peak RSS MB':>13}{'tokens':>14}{'assistant':>12}"
    print(header)
    print("-" * len(header))
    for name, r in rows.items():
        print(
            f"{name:<16}{int(r['examples']):>10,}{r['seconds']:>10.2f}{r['examples'] / r['seconds']:>12,.0f}"
            f"{r['peak_rss_mb']:>13.1f}{int(r['tokens']):>14,}{int(r['assistant_tokens']):>12,}"
        )
    base, tk = rows["cookbook"], rows["tunekit"]
    speedup = (tk["examples"] / tk["seconds"]) / (base["examples"] / base["seconds"])
    print()
    print(f"throughput ratio tunekit / cookbook: {speedup:.2f}x (target >= 5x)")
    print(
        f"token totals identical: {tk['tokens'] == base['tokens'] and tk['assistant_tokens'] == base['assistant_tokens']}"
    )
    print(
        f"peak RSS tunekit: {rows['tunekit-small']['peak_rss_mb']:.1f} MB at {small_n:,} -> {tk['peak_rss_mb']:.1f} MB "
        f"at {args.n:,} (target < 300 MB, flat); cookbook {base['peak_rss_mb']:.1f} MB"
    )


if __name__ == "__main__":
    main()
