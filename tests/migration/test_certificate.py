"""The non-inferiority certificate's numbers, checked against a hand computation."""

from __future__ import annotations

import json
import math

import pytest

from tunekit.evaluate.report import CandidateSummary, ItemResult
from tunekit.migration import certify, items_needed


def side(name: str, scores: list[float], *, errors: int = 0) -> CandidateSummary:
    items = [
        ItemResult(prediction="x", scores={"exact_match": s}, prompt_tokens=10, completion_tokens=2, latency_s=0.5)
        for s in scores
    ]
    for i in range(errors):
        items[i] = ItemResult(prediction="", scores={"exact_match": 0.0}, error="timeout")
    return CandidateSummary(name, "tuned", f"{name}-model", items)


def test_numbers_equal_a_hand_computation() -> None:
    # Paired differences in points: seven 0s, one -100, two +100.
    source = side("source", [1, 1, 1, 0, 1, 0, 1, 1, 1, 1])
    target = side("target", [1, 1, 0, 1, 1, 1, 1, 1, 1, 1])
    cert = certify(source, target, "exact_match", margin=2.0)
    # By hand: mean = 100/10 = 10; sample variance = (7*10^2 + 110^2 + 2*90^2) / 9 = 29000/9;
    # sd = 56.7646; half-width = 1.64485 * 56.7646 / sqrt(10) = 29.5265.
    assert cert.n == 10
    assert cert.difference == pytest.approx(10.0)
    assert cert.lower == pytest.approx(10.0 - 29.5265, abs=1e-3)
    assert cert.upper == pytest.approx(10.0 + 29.5265, abs=1e-3)
    assert cert.source.score == pytest.approx(80.0) and cert.target.score == pytest.approx(90.0)
    # -19.53 < -2 < 39.53: undecided. Items needed: (1.64485 * 56.7646 / (10 + 2))^2 = 60.54 -> 61.
    assert cert.verdict == "not yet" and cert.items_needed == 61
    assert "61 items would decide it" in cert.sentence


def test_identical_answers_may_migrate() -> None:
    cert = certify(side("s", [1, 0, 1, 1]), side("t", [1, 0, 1, 1]), "exact_match")
    assert cert.verdict == "migrate" and cert.difference == 0 and cert.lower == 0
    assert cert.sentence.startswith("migrate:")


def test_a_clearly_worse_target_is_worse() -> None:
    cert = certify(side("s", [1.0] * 30), side("t", [1.0] * 10 + [0.0] * 20), "exact_match", margin=2.0)
    assert cert.verdict == "worse" and cert.upper < -2.0
    assert items_needed(cert.difference, 50.0, 2.0) is None  # no number of items rescues a gap past the margin


def test_margin_is_configurable() -> None:
    source, target = side("s", [1.0] * 40), side("t", [1.0] * 39 + [0.0])
    assert certify(source, target, "exact_match", margin=2.0).verdict == "not yet"
    assert certify(source, target, "exact_match", margin=10.0).verdict == "migrate"


def test_failed_requests_count_as_zero_and_show() -> None:
    cert = certify(side("s", [1.0] * 5), side("t", [1.0] * 5, errors=2), "exact_match")
    assert cert.target.errors == 2 and cert.target.score == pytest.approx(60.0)


def test_renders_as_markdown_html_and_json() -> None:
    cert = certify(side("s", [1, 1, 0]), side("t", [1, 1, 1]), "exact_match", source_run="a", target_run="b")
    assert "| exact_match (points) | 66.7 | 100.0 |" in cert.to_markdown()
    assert cert._repr_markdown_() == cert.to_markdown()
    assert "<table>" in cert._repr_html_() and "&" not in cert.to_html().replace("&amp;", "")
    data = json.loads(cert.to_json())
    assert data["verdict"] == cert.verdict and data["target_run"] == "b" and math.isfinite(data["lower"])


def test_unpaired_sides_are_refused() -> None:
    with pytest.raises(ValueError, match="same items"):
        certify(side("s", [1, 1]), side("t", [1]), "exact_match")
