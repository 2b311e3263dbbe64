"""The whole ladder in one table: 80 columns in a terminal, HTML on a page and in a notebook."""

from __future__ import annotations

from pathlib import Path

from tunekit.evaluate.breakeven import Economics
from tunekit.evaluate.candidates import EvalItem, Price
from tunekit.evaluate.report import CandidateSummary, EvalReport, ItemResult

METRICS = ["normalized_exact_match", "json_match", "token_f1", "json_valid", "my_scorers_semantic_similarity"]


LONG_ID = "ft:gpt-4o-mini-2024-07-18:my-org:recipes:9xYz12AbCdEf"
BIGGER = "openai:gpt-4.1-mini-2025-04-14"


def answers(scores: list[float], tokens: int) -> list[ItemResult]:
    return [ItemResult(f"a{i}", dict.fromkeys(METRICS, s), tokens, 12, 0.25 + i / 100) for i, s in enumerate(scores)]


def ladder() -> EvalReport:
    mini, tuned_price = Price(0.15, 0.60), Price(0.30, 1.20)
    good, fair = [1.0] * 18 + [0.0] * 2, [1.0] * 9 + [0.0] * 11
    candidates = [
        CandidateSummary("base zero-shot", "zero-shot", "gpt-4o-mini", answers(fair, 61), mini),
        CandidateSummary("base few-shot (k=3)", "few-shot", "gpt-4o-mini", answers(good, 402), mini),
        CandidateSummary("base retrieval (k=3)", "retrieval", "gpt-4o-mini", answers(good, 388), mini),
        CandidateSummary("base rag (k=4)", "rag", "gpt-4o-mini", answers(fair, 950), mini),
        CandidateSummary("tuned", "tuned", LONG_ID, answers(good, 61), tuned_price),
        CandidateSummary("tuned+rag (k=4)", "tuned+rag", "ft:gpt-4o-mini:x", answers(good, 950), tuned_price),
        CandidateSummary(BIGGER, "model", "gpt-4.1-mini-2025-04-14", answers(good, 61), Price(0.40, 1.60)),
    ]  # fmt: skip
    items = [EvalItem([{"role": "user", "content": f"q{i}"}], f"a{i}", f"eval.jsonl:{i + 1}") for i in range(20)]
    economics = Economics(training_cost=2.40, hosting_per_hour=0.0, hosting_note="no hourly fee", requests_per_day=800)
    return EvalReport(candidates, METRICS, items, title="Evaluation: recipe-assistant (openai)", economics=economics)


def test_the_terminal_text_fits_80_columns_with_a_row_per_candidate() -> None:
    report = ladder()
    text = report.to_text()
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80, max(lines, key=len)
    header = next(line for line in lines if line.startswith("candidate") and "quality" in line)
    for column in ("quality", "in tok", "out tok", "$/1k req", "p50", "p95"):
        assert column in header
    start = lines.index(header)
    rows = lines[start + 2 : start + 2 + len(report.candidates)]
    # Each candidate's row: its name (cut only past the room left), score ± interval, tokens, cost, latency.
    for row, candidate in zip(rows, report.candidates, strict=True):
        assert row.startswith(candidate.name[:20]), row
        assert f"{candidate.score('normalized_exact_match'):.1f} ±" in row
        assert f"${candidate.cost_per_1k:.4f}" in row and "ms" in row
    # tuned: 18 of 20 right: 1.96 × √((18 × 10² + 2 × 90²) / 19 / 20) = 1.96 × √47.37 = 13.5 points.
    assert rows[4].split()[1:4] == ["90.0", "±13.5", "61"]
    # The other metrics: every one named in full, in blocks that fit.
    for metric in METRICS[1:]:
        assert metric in text
    # Every model id in full, and the break-even and the verdict.
    flat = " ".join(text.split())
    assert "ft:gpt-4o-mini-2024-07-18:my-org:recipes:9xYz12AbCdEf" in flat
    # The cheapest baseline as good as the tuned model is the bigger model: (61 × 0.40 + 12 × 1.60) / 1e6 per
    # request against the tuned (61 × 0.30 + 12 × 1.20) / 1e6; $2.40 / (43.6e-6 − 32.7e-6) = 220,184 requests.
    assert "Break-even vs openai:gpt-4.1-mini-2025-04-14: 220,184 requests = 275.2 days at 800/day" in flat
    assert " ".join(report.verdict.split()) in flat


def test_a_wide_terminal_gets_whole_names_and_a_narrow_one_loses_latency_first() -> None:
    report = ladder()
    wide = report.to_text(width=120)
    assert "openai:gpt-4.1-mini-2025-04-14  " in wide and max(len(line) for line in wide.splitlines()) <= 120
    narrow = report.to_text(width=64).splitlines()
    assert max(len(line) for line in narrow) <= 64
    header = next(line for line in narrow if line.startswith("candidate") and "quality" in line)
    assert "$/1k req" in header and "p95" not in header


def test_html_and_notebook_show_the_ladder_the_break_even_and_the_chart(tmp_path: Path) -> None:
    report = ladder()
    paths = report.save(tmp_path)
    assert Path(paths["quality_cost_png"]).read_bytes()[:4] == b"\x89PNG"
    html = Path(paths["html"]).read_text(encoding="utf-8")
    fragment = report._repr_html_()
    for page in (html, fragment):
        for candidate in report.candidates:
            assert f"<td>{candidate.name}</td>" in page
        assert "<b>Break-even</b> vs openai:gpt-4.1-mini-2025-04-14" in page
        assert 'alt="quality against cost per request"' in page
    markdown = Path(paths["markdown"]).read_text(encoding="utf-8")
    assert "**Break-even:** vs openai:gpt-4.1-mini-2025-04-14" in markdown
