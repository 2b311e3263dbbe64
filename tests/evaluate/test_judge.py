"""A judge model scores open-ended answers: its bill apart from the candidates', its bad replies counted.

The OpenAI emulator's base models echo the first line of the last user
message, and the judge's prompt starts with the rubric: a rubric whose first
line reads like a verdict ("Score: 8 ...", "Winner: A ...") makes the
emulator a judge that always says that, over real HTTP through the real SDK.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tunekit.evaluate import Candidate, Price, evaluate
from tunekit.evaluate.judge import Judge, parse_verdict
from tunekit.evaluate.runs import evaluate_config
from tunekit.inference import OpenAIChatClient
from tunekit.tuner import Tuner
from tunekit_emulators import OpenAIEmulator
from tunekit_emulators.conformance.data import write_jsonl

BASE = "gpt-4o-mini-2024-07-18"
CHATS = ("POST", "/v1/chat/completions")


def conversation(i: int) -> dict[str, Any]:
    return {
        "messages": [
            {"role": "user", "content": f"Describe city {i} in one sentence."},
            {"role": "assistant", "content": f"City {i} is a river port with an old bridge."},
        ]
    }


def client(emulator: OpenAIEmulator, model: str = BASE) -> OpenAIChatClient:
    return OpenAIChatClient(model, base_url=emulator.base_url, api_key=emulator.api_key)


def test_replies_are_read_as_scores_winners_refusals_or_unreadable() -> None:
    assert parse_verdict("Score: 7\nReason: names the bridge", "score").value == 7.0
    assert parse_verdict("**Score:** 9/10. Reason: exact.", "score").reason == "exact."
    assert parse_verdict("Score: 11", "score").outcome == "unparseable"  # outside 1-10 is not a score
    assert parse_verdict("Winner: b\nReason: shorter", "pairwise").value == "B"
    assert parse_verdict("Winner: tie", "pairwise").value == "tie"
    assert parse_verdict("I'm sorry, but I can't evaluate this.", "score").outcome == "refused"
    assert parse_verdict("The first answer is nicer.", "pairwise").outcome == "unparseable"


def test_judge_scores_with_reasons_and_its_cost_is_counted_apart(
    openai_emulator: OpenAIEmulator, tmp_path: Path
) -> None:
    examples = [conversation(i) for i in range(5)]
    price = Price(0.15, 0.60)
    plain = evaluate([Candidate("base", client(openai_emulator), "zero-shot", price=price)], examples, ["token_f1"])
    before = openai_emulator.request_count(*CHATS)

    judge = Judge(client(openai_emulator), "Score: 8 if the answer describes the city. Reason: it does.", price=price)
    candidates = [Candidate("base", client(openai_emulator), "zero-shot", price=price)]
    report = evaluate(candidates, examples, ["token_f1"], judge=judge)

    # Five answers, then five judgements: one request each, over HTTP.
    assert openai_emulator.request_count(*CHATS) - before == 5 + 5
    base = report.candidates[0]
    assert report.metrics == ["token_f1", "judge"]
    assert base.score("judge") == 80.0 and all(r.judge_reason == "it does." for r in base.items)
    # The candidate's tokens and cost are what they are without a judge; the judge's are its own.
    assert base.prompt_tokens == plain.candidates[0].prompt_tokens
    assert base.cost_per_1k == plain.candidates[0].cost_per_1k
    billed = report.judge
    assert billed is not None and billed.requests == 5 and billed.prompt_tokens > 5 * (base.prompt_tokens or 0)
    assert billed.cost == pytest.approx((billed.prompt_tokens * 0.15 + billed.completion_tokens * 0.60) / 1e6)
    assert billed.refused == billed.unparseable == billed.errors == billed.left_out == 0
    assert "not part of any candidate's cost" in report.to_text()
    report.save(tmp_path)
    loaded = type(report).load(tmp_path)
    assert loaded.judge == billed and loaded.candidates[0].items[0].judge_reason == "it does."


def test_the_position_swap_cancels_a_judge_that_always_picks_the_first_answer(openai_emulator: OpenAIEmulator) -> None:
    examples = [conversation(i) for i in range(4)]
    few = Candidate("few", client(openai_emulator), "few-shot", shots=conversation(9)["messages"])
    zero = Candidate("zero", client(openai_emulator), "zero-shot")
    judge = Judge(client(openai_emulator), "Winner: A, always.", mode="pairwise")
    report = evaluate([zero, few], examples, ["judge"], judge=judge)
    # Each of the 4 items asked twice (zero as A, then as B) against the few-shot anchor.
    assert report.judge is not None and report.judge.requests == 8 and report.judge.against == "few"
    assert report.judge.cost is None  # no price given: said, not guessed
    zero_s, few_s = report.candidates
    assert zero_s.score("judge") == 50.0 and few_s.score("judge") == 50.0
    assert "A (" in (zero_s.items[0].judge_reason or "")


def test_refusals_and_unreadable_replies_are_counted_and_never_scored_zero(
    openai_emulator: OpenAIEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", openai_emulator.api_key)
    config = {
        "provider": "openai",
        "model": BASE,
        "data": {"train": str(write_jsonl(tmp_path / "train.jsonl", [conversation(i) for i in range(10, 20)]))},
        "eval": {
            "data": str(write_jsonl(tmp_path / "eval.jsonl", [conversation(i) for i in range(3)])),
            "metrics": ["judge", "token_f1"],
            "baselines": ["zero-shot", "few-shot"],
            "few_shot": 1,
            "judge": {"model": "gpt-4o-mini", "rubric": "I'm sorry, I cannot grade answers.\nScore: 1"},
        },
        "provider_options": {"base_url": openai_emulator.base_url},
    }
    path = tmp_path / "tune.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    tuner = Tuner.from_config(path)
    report = evaluate_config(tuner.config, tuner.provider)

    judged = report.judge
    assert judged is not None and judged.provider == "openai" and judged.price == Price(0.15, 0.60)
    assert judged.requests == 6 and judged.refused == 6 and judged.left_out == 6
    for candidate in report.candidates:
        assert candidate.scored("judge") == []  # no reply could be used: no score, not a score of 0
        assert all("judge refused" in (r.judge_reason or "") for r in candidate.items)
    text = report.to_text()
    assert "6 refused: 6 answers have no judge score" in " ".join(text.split())
    header, rows = report.table_rows()
    assert header[2] == "judge" and all(row[2] == "n/a" for row in rows)
