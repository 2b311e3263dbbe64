"""Whether to fine-tune: the cheapest candidate as good as the best, and when the training pays back.

Every expected number is worked out by hand below, with the prices and token
counts written out, so a change to the formula shows up as a wrong number.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tunekit.evaluate.breakeven import Economics, decide
from tunekit.evaluate.candidates import EvalItem, Price
from tunekit.evaluate.report import CandidateSummary, EvalReport, ItemResult


def answers(scores: list[float], prompt_tokens: int, completion_tokens: int = 10) -> list[ItemResult]:
    return [
        ItemResult(f"a{i}", {"exact_match": s}, prompt_tokens, completion_tokens, 0.1) for i, s in enumerate(scores)
    ]


GOOD = [1.0] * 38 + [0.0] * 2  # 95.0 points
WORSE = [1.0] * 20 + [0.0] * 20  # 50.0 points: far outside the noise of 40 examples


def few(scores: list[float] = GOOD, price: Price | None = Price(0.15, 0.60)) -> CandidateSummary:
    # gpt-4o-mini at $0.15 / $0.60 per 1M tokens, 500 prompt tokens (three shots) and 10 completion tokens.
    return CandidateSummary("base few-shot (k=3)", "few-shot", "gpt-4o-mini", answers(scores, 500), price)


def zero(scores: list[float], price: Price | None = Price(0.15, 0.60)) -> CandidateSummary:
    return CandidateSummary("base zero-shot", "zero-shot", "gpt-4o-mini", answers(scores, 60), price)


def tuned(scores: list[float] = GOOD, price: Price | None = Price(0.30, 1.20)) -> CandidateSummary:
    # The tuned rate is twice the base rate; its prompt has no shots: 100 prompt tokens.
    return CandidateSummary("tuned", "tuned", "ft:gpt-4o-mini:org::abc", answers(scores, 100), price)


def report_of(*candidates: CandidateSummary, economics: Economics | None = None) -> EvalReport:
    items = [EvalItem([{"role": "user", "content": f"q{i}"}], f"a{i}", f"eval.jsonl:{i + 1}") for i in range(40)]
    return EvalReport(list(candidates), ["exact_match"], items, title="Recipes", economics=economics)


def test_break_even_equals_the_hand_computation() -> None:
    economics = Economics(training_cost=3.00, requests_per_day=1000)
    decision = decide([few(), tuned()], "exact_match", economics)
    assert decision is not None
    # few-shot per request: (500 × 0.15 + 10 × 0.60) / 1e6 = 81e-6; tuned: (100 × 0.30 + 10 × 1.20) / 1e6 = 42e-6.
    few_per_request = (500 * 0.15 + 10 * 0.60) / 1_000_000
    tuned_per_request = (100 * 0.30 + 10 * 1.20) / 1_000_000
    assert few_per_request == pytest.approx(81e-6) and tuned_per_request == pytest.approx(42e-6)
    be = decision.break_even
    assert be is not None and be.baseline == "base few-shot (k=3)" and be.baseline_matches_quality
    # $3.00 / (81e-6 − 42e-6) per request = 76,923.08 requests; at 1,000 a day, 76.92 days.
    assert be.requests == pytest.approx(3.00 / 39e-6) == pytest.approx(76_923.0769)
    assert be.days == pytest.approx(76.9230769)
    assert decision.fine_tune and decision.chosen.kind == "tuned"
    sentence = decision.sentence
    assert sentence.startswith("Fine-tune: the tuned model scores best on exact_match (95.0)")
    assert "$0.042 per 1,000 requests vs $0.081 per 1,000 requests for base few-shot (k=3)" in sentence
    assert "$3.00 training (estimate) is paid back after 76,924 requests (76.9 days at 1,000 requests/day)" in sentence


def test_an_hourly_fee_is_spread_over_the_traffic() -> None:
    # Azure Standard at $1.70 an hour, 2,000,000 requests a day: 24 × 1.70 / 2e6 = 20.4e-6 per request of hosting.
    economics = Economics(training_cost=3.00, hosting_per_hour=1.70, requests_per_day=2_000_000)
    decision = decide([few(), tuned()], "exact_match", economics)
    assert decision is not None and decision.break_even is not None
    be = decision.break_even
    assert be.tuned_per_request == pytest.approx(42e-6 + 24 * 1.70 / 2_000_000)
    # $3.00 / (81e-6 − 42e-6 − 20.4e-6) = 3 / 18.6e-6 = 161,290.3 requests = 0.0806 days.
    assert be.requests == pytest.approx(3.00 / 18.6e-6) == pytest.approx(161_290.32)
    assert be.days == pytest.approx(161_290.32 / 2_000_000)
    assert "$3.00 training (estimate) and $1.70/h hosting is paid back after 161,291 requests" in decision.sentence


def test_an_hourly_fee_at_low_traffic_never_pays_back() -> None:
    # 10,000 requests a day: hosting alone is 24 × 1.70 / 10,000 = $0.00408 per request, above the 39e-6 saved.
    economics = Economics(training_cost=3.00, hosting_per_hour=1.70, requests_per_day=10_000)
    decision = decide([few(), tuned()], "exact_match", economics)
    assert decision is not None and decision.break_even is not None and decision.break_even.never
    # The hosting makes the tuned model dearer per request than few-shot: the advice is not to fine-tune.
    assert not decision.fine_tune and decision.chosen.name == "base few-shot (k=3)"
    assert decision.sentence.startswith("Do not fine-tune: base few-shot (k=3) scores best on exact_match (95.0)")
    # 42e-6 + 0.00408 = $4.12 per 1,000 requests for the tuned model, hosting included.
    assert "$0.081 per 1,000 requests vs $4.12 per 1,000 requests with hosting for the tuned model" in decision.sentence
    assert "never" in decision.sentence and "10,000 requests/day" in decision.sentence


def test_without_traffic_an_hourly_fee_gives_the_traffic_it_needs() -> None:
    economics = Economics(training_cost=3.00, hosting_per_hour=1.70)
    decision = decide([few(), tuned()], "exact_match", economics)
    assert decision is not None and decision.break_even is not None
    be = decision.break_even
    # 24 × 1.70 / 39e-6 = 1,046,153.8 requests a day before the hosting is paid for by cheaper requests.
    assert be.requests is None and be.min_requests_per_day == pytest.approx(24 * 1.70 / 39e-6)
    assert "eval.traffic.requests_per_day" in decision.sentence
    assert "only above 1,046,154 requests/day" in decision.sentence


def test_never_when_a_baseline_is_as_good_and_cheaper() -> None:
    # Zero-shot as good as the tuned model: (60 × 0.15 + 10 × 0.60) / 1e6 = 15e-6 per request, below the tuned 42e-6.
    report = report_of(zero(GOOD), few(), tuned(), economics=Economics(training_cost=3.00))
    decision = report.decision()
    assert decision is not None and not decision.fine_tune
    assert decision.chosen.name == "base zero-shot"
    assert decision.break_even is not None and decision.break_even.never
    assert decision.break_even.baseline == "base zero-shot"
    assert "Do not fine-tune: base zero-shot" in report.verdict
    assert "Break-even against base zero-shot: never" in report.verdict
    as_json = report.to_dict()["decision"]["break_even"]
    assert as_json["never"] is True and as_json["requests"] is None and as_json["days"] is None  # no Infinity


def test_a_tuned_model_better_than_every_baseline_buys_quality() -> None:
    decision = decide([zero(WORSE), tuned(GOOD)], "exact_match", Economics(training_cost=3.00))
    assert decision is not None and decision.fine_tune and decision.contenders == [decision.chosen]
    be = decision.break_even
    assert be is not None and not be.baseline_matches_quality
    # zero-shot costs 15e-6 per request, the tuned model 42e-6: it never gets cheaper, it is better.
    assert be.never
    assert (
        "Against base zero-shot, the best baseline (which it beats on quality), the break-even: never"
        in decision.sentence
    )


def test_without_prices_candidates_are_ranked_by_tokens_and_the_break_even_is_unknown() -> None:
    decision = decide([few(price=None), tuned(price=None)], "exact_match", Economics(training_cost=None))
    assert decision is not None and decision.basis == "tokens"
    assert decision.fine_tune  # 110 tokens per request against 510
    assert "110 tokens per request vs 510 tokens per request" in decision.sentence
    assert decision.break_even is not None and decision.break_even.requests is None
    assert "unknown (no price for tuned, base few-shot (k=3))" in decision.sentence


def test_a_cost_tie_goes_to_the_baseline() -> None:
    same = Price(0.15, 0.60)
    a = CandidateSummary("base zero-shot", "zero-shot", "m", answers(GOOD, 100), same)
    b = CandidateSummary("tuned", "tuned", "ft:m", answers(GOOD, 100), same)
    decision = decide([b, a], "exact_match", Economics(training_cost=1.0))
    assert decision is not None and decision.chosen is a and decision.break_even is not None
    assert decision.break_even.never


def test_the_economics_survive_saving_and_loading(tmp_path: Path) -> None:
    report = report_of(few(), tuned(), economics=Economics(training_cost=3.00, requests_per_day=1000))
    report.save(tmp_path)
    data = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert data["decision"]["chosen"] == "tuned"
    assert data["decision"]["break_even"]["requests"] == pytest.approx(3.00 / 39e-6)
    loaded = EvalReport.load(tmp_path)
    assert loaded.verdict == report.verdict and "76,924 requests" in loaded.verdict
    assert math.isclose(loaded.economics.training_cost or 0, 3.00) if loaded.economics else False
