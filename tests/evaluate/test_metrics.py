"""Built-in metrics and Python scorers."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunekit.errors import ConfigError
from tunekit.evaluate.metrics import (
    exact_match,
    json_match,
    json_valid,
    normalize_answer,
    normalized_exact_match,
    regex_match,
    resolve_metrics,
    token_f1,
)


def test_exact_match_ignores_only_surrounding_whitespace() -> None:
    assert exact_match("  Paris\n", "Paris") == 1.0
    assert exact_match("paris", "Paris") == 0.0


def test_normalized_exact_match_follows_squad() -> None:
    assert normalize_answer("The  Eiffel-Tower!") == "eiffeltower"
    assert normalized_exact_match("the Eiffel Tower.", "Eiffel tower") == 1.0
    assert normalized_exact_match("Eiffel", "Eiffel tower") == 0.0


def test_token_f1() -> None:
    assert token_f1("Paris France", "Paris") == pytest.approx(2 * 0.5 * 1 / 1.5)
    assert token_f1("the cat sat", "cat sat") == 1.0
    assert token_f1("dog", "cat") == 0.0
    assert token_f1("", "") == 1.0
    assert token_f1("", "cat") == 0.0


def test_json_metrics() -> None:
    assert json_valid('{"a": [1, 2]}', "") == 1.0
    assert json_valid("```json\n{}\n```", "") == 0.0
    assert json_match('{"b": 1, "a": 2}', '{"a":2,"b":1}') == 1.0
    assert json_match('["flour"]', '["sugar"]') == 0.0
    assert json_match("not json", "[]") == 0.0


def test_regex_matches_the_whole_answer() -> None:
    score = regex_match(r"\d{4}-\d{2}-\d{2}")
    assert score("2027-01-06", "") == 1.0
    assert score("on 2027-01-06", "") == 0.0
    with pytest.raises(ConfigError, match="invalid pattern"):
        regex_match("(")


def test_resolve_builtins_regex_and_scorers(tmp_path: Path) -> None:
    scorer_file = tmp_path / "my_scorers.py"
    scorer_file.write_text(
        "def starts_same(prediction, reference):\n    return prediction[:1] == reference[:1]\n", encoding="utf-8"
    )
    metrics = resolve_metrics(
        ["exact_match", "regex", f"{scorer_file}:starts_same", "tunekit.evaluate.metrics:token_f1"], regex="P.*"
    )
    assert [m.name for m in metrics] == ["exact_match", "regex", "starts_same", "token_f1"]
    assert [m.score("Paris", "Pisa") for m in metrics] == [0.0, 1.0, 1.0, 0.0]


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["bleu"], "unknown metric"),
        (["regex"], "needs a pattern"),
        (["nope.module:fn"], "cannot import"),
        (["tunekit.evaluate.metrics:missing"], "no function"),
        ([], "at least one"),
        (["exact_match", "exact_match"], "repeat"),
    ],
)
def test_resolve_errors_are_clear(names: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_metrics(names)


def test_scores_outside_zero_to_one_are_refused(tmp_path: Path) -> None:
    (tmp_path / "bad_scorer.py").write_text("def big(p, r):\n    return 7\n", encoding="utf-8")
    (metric,) = resolve_metrics([f"{tmp_path / 'bad_scorer.py'}:big"])
    with pytest.raises(ValueError, match="between 0 and 1"):
        metric.score("a", "b")
