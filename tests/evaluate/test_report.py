"""The report's numbers, verdict sentence, and files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunekit.evaluate.candidates import EvalItem, Price
from tunekit.evaluate.report import CandidateSummary, EvalReport, ItemResult, percentile


def answers(scores: list[float], prompt_tokens: int, latency: float = 0.1, errors: int = 0) -> list[ItemResult]:
    out = [
        ItemResult(
            prediction=f"answer {i}",
            scores={"exact_match": s},
            prompt_tokens=prompt_tokens,
            completion_tokens=10,
            latency_s=latency * (i + 1),
        )
        for i, s in enumerate(scores)
    ]
    for i in range(errors):
        out[i] = ItemResult(prediction="", scores={"exact_match": 0.0}, error="HTTP 500", attempts=3)
    return out


def report_of(*candidates: CandidateSummary) -> EvalReport:
    n = candidates[0].n
    items = [
        EvalItem(prompt=[{"role": "user", "content": f"q{i}"}], reference=f"a{i}", where=f"eval.jsonl:{i + 1}")
        for i in range(n)
    ]
    return EvalReport(candidates=list(candidates), metrics=["exact_match"], items=items, title="Recipes")


def few(scores: list[float], tokens: int = 500) -> CandidateSummary:
    return CandidateSummary(
        "base few-shot (k=3)", "few-shot", "gpt-4o-mini", answers(scores, tokens), Price(0.15, 0.60)
    )


def tuned(scores: list[float], tokens: int = 100) -> CandidateSummary:
    return CandidateSummary("tuned", "tuned", "ft:gpt-4o-mini:org::abc", answers(scores, tokens), Price(0.30, 1.20))


def test_numbers_per_candidate() -> None:
    c = tuned([1, 1, 0, 1], tokens=120)
    assert c.score("exact_match") == 75.0
    assert c.prompt_tokens == 120
    assert c.completion_tokens == 10
    assert c.cost_per_1k == pytest.approx(1000 * (120 * 0.30 + 10 * 1.20) / 1e6)
    assert c.latency_p50 == pytest.approx(0.25)
    assert c.latency_p95 == pytest.approx(0.385)
    assert percentile([], 50) is None


def test_verdict_when_the_tuned_model_wins_clearly() -> None:
    report = report_of(few([1] * 20 + [0] * 20), tuned([1] * 38 + [0] * 2))
    assert report.verdict.startswith(
        "The tuned model beat base few-shot (k=3) by 45.0 points (95.0 vs 50.0 exact_match) at 20% of its prompt tokens"
    )
    assert "52% of its cost per 1,000 requests" in report.verdict  # (100×0.30 + 10×1.20) / (500×0.15 + 10×0.60)
    assert "noise" not in report.verdict
    comparison = report.comparison()
    assert comparison is not None and comparison.significant


def test_verdict_is_honest_when_the_tuned_model_loses() -> None:
    report = report_of(few([1] * 30 + [0] * 10), tuned([1] * 10 + [0] * 30))
    assert report.verdict.startswith("The tuned model did not beat base few-shot (k=3): 50.0 points lower")
    assert "beat base few-shot (k=3) by" not in report.verdict


def test_verdict_flags_a_difference_within_noise_and_ties() -> None:
    noisy = report_of(few([1, 0, 1, 0, 1, 0]), tuned([1, 1, 0, 1, 0, 0]))
    assert "tied with" in noisy.verdict
    small = report_of(few([1, 0, 1, 0, 1, 0]), tuned([1, 1, 1, 0, 1, 0]))
    assert "beat base few-shot (k=3) by 16.7 points" in small.verdict
    assert "within noise" in small.verdict and "95% CI" in small.verdict


def test_failed_requests_count_as_wrong_and_are_said() -> None:
    bad = CandidateSummary("tuned", "tuned", "m", answers([1] * 10, 100, errors=4))
    report = report_of(few([1] * 5 + [0] * 5), bad)
    assert bad.score("exact_match") == 60.0
    assert bad.errors == 4 and bad.retries == 8
    assert "4 of 10 tuned requests failed and count as wrong" in report.verdict


def test_without_a_tuned_model_the_best_is_compared_with_the_runner_up() -> None:
    zero = CandidateSummary("base zero-shot", "zero-shot", "m", answers([0] * 8 + [1] * 2, 40))
    report = report_of(zero, few([1] * 8 + [0] * 2))
    assert report.verdict.startswith("Base few-shot (k=3) beat base zero-shot by 60.0 points")


def test_markdown_html_json_and_plots(tmp_path: Path) -> None:
    report = report_of(few([1, 0, 0, 1]), tuned([1, 1, 1, 1]))
    report.loss = [{"step": 1.0, "train_loss": 2.0}, {"step": 2.0, "train_loss": 1.2, "valid_loss": 1.4}]
    paths = report.save(tmp_path / "eval")
    for key in ("markdown", "html", "json", "predictions", "metrics_png", "quality_cost_png", "loss_png"):
        assert Path(paths[key]).is_file(), key
    for key in ("metrics_png", "quality_cost_png", "loss_png"):
        assert Path(paths[key]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    markdown = Path(paths["markdown"]).read_text(encoding="utf-8")
    # The score, its 95% interval (all four right: no spread), then the tokens.
    assert "| tuned | ft:gpt-4o-mini:org::abc | 100.0 | 100.0–100.0 | 100.0 | 10.0 |" in markdown
    assert "![quality against cost](quality_cost.png)" in markdown
    assert report.verdict in markdown
    assert "![metrics](metrics.png)" in markdown and "![training loss](loss.png)" in markdown
    html = Path(paths["html"]).read_text(encoding="utf-8")
    assert "data:image/png;base64," in html and "<table>" in html
    data = json.loads(Path(paths["json"]).read_text(encoding="utf-8"))
    assert data["comparison"]["difference_points"] == pytest.approx(50.0)
    assert data["candidates"][1]["prompt_tokens_per_request"] == 100
    rows = Path(paths["predictions"]).read_text(encoding="utf-8").splitlines()
    assert len(rows) == 4 and json.loads(rows[0])["answers"]["tuned"]["prediction"] == "answer 0"


def test_samples_show_disagreements_first() -> None:
    report = report_of(few([1] * 8 + [0, 1]), tuned([1] * 10))
    assert [s["where"] for s in report.samples(limit=2)] == ["eval.jsonl:1", "eval.jsonl:9"]


def test_html_escapes_model_output(tmp_path: Path) -> None:
    evil = CandidateSummary("tuned", "tuned", "m", [ItemResult("<script>alert(1)</script>", {"exact_match": 0.0})])
    report = report_of(evil)
    assert "<script>" not in report.to_html()
    assert "nothing to compare" in report.verdict


def test_a_saved_report_reads_back_whole(tmp_path: Path) -> None:
    report = report_of(few([1, 0, 0, 1]), tuned([1, 1, 1, 1]))
    report.save(tmp_path / "eval")
    loaded = EvalReport.load(tmp_path / "eval")
    assert loaded.verdict == report.verdict
    assert loaded.table_rows() == report.table_rows()
    assert loaded.items == report.items and loaded.created_at == report.created_at
    assert loaded.to_dict() == report.to_dict()


def test_every_evaluation_keeps_its_own_folder_and_latest_points_at_the_newest(tmp_path: Path) -> None:
    from tunekit.evaluate.store import latest_report_folder, report_into_new_folder

    root = tmp_path / "eval"
    assert latest_report_folder(root) is None
    first = report_into_new_folder(root, lambda folder: _saved(report_of(few([1, 0]), tuned([1, 1])), folder))
    second = report_into_new_folder(root, lambda folder: _saved(report_of(few([1]), tuned([0])), folder))
    assert Path(first.paths["json"]).is_file() and Path(second.paths["json"]).is_file()
    assert Path(first.paths["json"]).parent != Path(second.paths["json"]).parent
    latest = latest_report_folder(root)
    assert latest is not None and EvalReport.load(latest).verdict == second.verdict

    # A failed evaluation leaves no empty folder and keeps latest where it was.
    def broken(folder: Path) -> EvalReport:
        raise RuntimeError("the service went away")

    with pytest.raises(RuntimeError):
        report_into_new_folder(root, broken)
    assert len([p for p in root.iterdir() if not p.is_symlink()]) == 2
    assert EvalReport.load(root / "latest").verdict == second.verdict


def _saved(report: EvalReport, folder: Path) -> EvalReport:
    report.save(folder)
    return report


def test_html_table_scrolls_instead_of_hiding_columns_and_says_what_is_averaged(tmp_path: Path) -> None:
    long_id = "ft:gpt-4.1-mini-2025-04-14:a-rather-long-organization-name:recipe-assistant:BkE3xyz9"
    wide = CandidateSummary("tuned", "tuned", long_id, answers([1, 1, 0, 1], 100), Price(0.30, 1.20))
    report = report_of(few([1, 0, 0, 1]), wide)
    html = report.to_html()
    # The table sits in a box that scrolls sideways: a wide table is never cut off at the page's edge ...
    box = html.index('<div class="table-box">')
    assert box < html.index("<table>") and ".table-box { overflow-x: auto" in html
    # ... the long model id wraps instead of widening every row, and the last column is there.
    assert f'<td class="id">{long_id}</td>' in html and "overflow-wrap: anywhere" in html
    assert "<th>errors</th>" in html and '<td class="num">0/4</td>' in html
    # Averages say they are averages; latencies say they are percentiles.
    header, _ = report.table_rows()
    assert "mean prompt tok/req" in header and "mean completion tok/req" in header
    assert "the mean score × 100" in html and "the mean per request" in html and "percentiles" in html
    assert "the mean per request" in report.to_markdown()


def test_the_report_shows_the_runs_own_loss_plot_instead_of_drawing_a_second(tmp_path: Path) -> None:
    from tunekit.evaluate.plots import plot_loss

    drawn = plot_loss([{"step": 1.0, "train_loss": 2.0}, {"step": 2.0, "train_loss": 1.0}], tmp_path / "run.png")
    report = report_of(few([1, 0]), tuned([1, 1]))
    report.loss = [{"step": 1.0, "train_loss": 9.0}, {"step": 2.0, "train_loss": 8.0}]
    report.loss_image = str(drawn)
    paths = report.save(tmp_path / "eval")
    assert Path(paths["loss_png"]).read_bytes() == drawn.read_bytes()
    assert report.to_html().count("training loss") == 1


def test_reports_render_in_notebooks() -> None:
    report = report_of(few([1, 0, 0, 1]), tuned([1, 1, 1, 1]))
    html = report._repr_html_()
    assert "<html" not in html and "<table>" in html and report.verdict in html
    assert html.startswith("<h3>Recipes</h3>")
    assert report._repr_markdown_() == report.to_markdown()
