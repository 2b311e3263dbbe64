"""RAG passages sized in a local model's own tokens: the Hugging Face tokenizer of the base model, not tiktoken.

The config is what a user writes for the local provider (``eval.rag.chunk_tokens``
on a model folder); the passages and prompts checked are the ones the
evaluation builds and sends to the tiny model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tunekit.config import EvalConfig
from tunekit.data.tokens import HFTokenCounter, TiktokenCounter
from tunekit.errors import ConfigError
from tunekit.evaluate import evaluate_config
from tunekit.evaluate.candidates import build_candidates, eval_items
from tunekit.evaluate.rag import DocumentIndex
from tunekit.evaluate.runs import close_candidates
from tunekit.tuner import Tuner
from tunekit_emulators.conformance.data import write_jsonl
from tunekit_local.testing import sample_conversations

pytest.importorskip("bm25s")
pytestmark = pytest.mark.slow

CHUNK, OVERLAP, K, CONTEXT = 16, 4, 2, 80
DOCS = {
    "travel.md": "# Travel\n\nTravel expenses are reimbursed within 14 days when the receipt is uploaded to "
    "the expense portal. Economy class is the rule for flights shorter than six hours.",
    "security.md": "# Security\n\nLaptops lock after five minutes. Report a lost badge to the security desk "
    "at once; a replacement badge costs nothing the first time. Café ✓ done.",
}
QUESTIONS = ["How soon are travel expenses reimbursed?", "What should I do about a lost badge?"]
HELD_OUT = [{"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": "ok"}]} for q in QUESTIONS]


def rag_settings(docs: str, **sizes: Any) -> Any:
    return EvalConfig.model_validate({"rag": {"docs": docs, "k": K, **sizes}}).rag


@pytest.fixture
def tuner(tiny_model: Path, tmp_path: Path) -> Tuner:
    for name, text in DOCS.items():
        (tmp_path / "handbook" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "handbook" / name).write_text(text, encoding="utf-8")
    return Tuner(
        provider="local",
        model=str(tiny_model),
        data={"train": str(write_jsonl(tmp_path / "train.jsonl", [{"messages": c} for c in sample_conversations(8)]))},
        eval={
            "data": str(write_jsonl(tmp_path / "eval.jsonl", HELD_OUT)),
            "baselines": ["zero-shot"],
            "max_new_tokens": 2,
            "rag": {
                "docs": str(tmp_path / "handbook"),
                "k": K,
                "chunk_tokens": CHUNK,
                "overlap_tokens": OVERLAP,
                "context_tokens": CONTEXT,
            },
        },
        provider_options={"device": "cpu"},
    )


def test_passages_are_sized_in_the_local_models_own_tokens(tuner: Tuner, tiny_model: Path) -> None:
    from transformers import AutoTokenizer

    tiny = HFTokenCounter(AutoTokenizer.from_pretrained(tiny_model))  # what the model reads, as the test counts it
    candidates = build_candidates(tuner.config, tuner.provider)
    try:
        [rag] = [c for c in candidates if c.kind == "rag"]
        assert rag.rag is not None
        passages = rag.rag.passages
        # Every passage within chunk_tokens of the tiny model's tokenizer, some of them filled close to it.
        counts = [tiny.count_text(p.text) for p in passages]
        assert max(counts) <= CHUNK and max(counts) >= CHUNK - 4, counts
        # Each passage of a document starts inside the one before (the overlap), repeating at most overlap_tokens.
        overlapping = 0
        for source, body in DOCS.items():
            at, end = 0, 0
            for passage in (p.text for p in passages if p.source == source):
                start = body.index(passage, at)
                if start < end:
                    overlapping += 1
                    assert tiny.count_text(body[start:end]) <= OVERLAP, (body[start:end], passage)
                at, end = start, start + len(passage)
            assert end == len(body.rstrip())  # nothing at the end left out
        assert overlapping > 0
        # Sized in o200k tokens (what the OpenAI path counts), the same documents make fewer, longer passages:
        # these were cut by the base model's tokenizer.
        o200k = DocumentIndex(
            rag_settings(rag.rag.settings.docs, chunk_tokens=CHUNK, overlap_tokens=OVERLAP),
            counter=TiktokenCounter("o200k_base"),
        )
        assert len(o200k.passages) < len(passages)
        assert max(tiny.count_text(p.text) for p in o200k.passages) > CHUNK

        # The context the model is sent holds K passages with their headers, within context_tokens.
        for prompt in rag.render_all(eval_items(HELD_OUT)):
            context = prompt[-1]["content"].split("Passages:\n", 1)[1].rsplit("\n\nQuestion: ", 1)[0]
            assert context.count("\n\n[2] ") == 1 and tiny.count_text(context) <= CONTEXT, context
    finally:
        close_candidates(candidates)


def test_the_evaluation_runs_on_the_local_model_and_refuses_a_budget_its_tokens_exceed(tuner: Tuner) -> None:
    report = evaluate_config(tuner.config, tuner.provider)
    zero, rag = report.candidate("base zero-shot"), report.candidate(f"base rag (k={K})")
    assert zero is not None and rag is not None and rag.errors == 0 and zero.errors == 0
    assert rag.notes["passages"] > len(DOCS)
    # The model's own count of each prompt it read: the passages are in the rag prompts.
    for plain, augmented in zip(zero.items, rag.items, strict=True):
        assert plain.prompt_tokens + K * 4 < augmented.prompt_tokens

    # K passages of CHUNK tokens fit K * CHUNK, but not with their "[n] file" headers in this tokenizer: refused
    # before the model is loaded or asked.
    assert tuner.config.eval is not None
    assert tuner.config.eval.rag is not None
    tuner.config.eval.rag = rag_settings(tuner.config.eval.rag.docs, chunk_tokens=CHUNK, context_tokens=K * CHUNK)
    with pytest.raises(ConfigError, match=r"eval\.rag\.context_tokens: the 2 longest passages take \d+ tokens"):
        evaluate_config(tuner.config, tuner.provider)
