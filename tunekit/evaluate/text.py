"""The evaluation report as plain text that fits a terminal (80 columns by default).

The ladder is one table: a row per candidate with its primary score and 95%
interval, tokens per request, cost per 1,000 requests and latency. Metric
names can be long (``normalized_exact_match``), so the table says "quality"
and the line above it names the metric; further metrics follow in a second
table, split into blocks when they do not fit. Long candidate names are cut
with an ellipsis (the models line below names every model in full), and
sentences wrap at the width: no line is wider than asked.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tunekit.evaluate.summary import CandidateSummary, LadderReport

__all__ = ["render_text"]

_GAP = "  "
_MIN_NAME = 12


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], width: int) -> list[str]:
    """Left-aligned first column, right-aligned others; the first column takes what room is left."""
    others = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header) if i > 0]
    room = width - sum(others) - len(_GAP) * len(others)
    first = max(_MIN_NAME, min(room, max(len(header[0]), *(len(r[0]) for r in rows))))
    widths = [first, *others]

    def line(cells: Sequence[str]) -> str:
        parts = [_cut(cells[0], first).ljust(first)]
        parts += [cell.rjust(w) for cell, w in zip(cells[1:], widths[1:], strict=True)]
        return _GAP.join(parts).rstrip()

    out = [line(header), "-" * min(width, len(line(["-" * first, *("-" * w for w in others)])))]
    out += [line(row) for row in rows]
    return out


def _money(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"${value:,.2f}" if value >= 100 else f"${value:.4f}"


def _tokens(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def _seconds(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value * 1000:.0f}ms" if value < 10 else f"{value:.1f}s"


def _quality(c: CandidateSummary, metric: str) -> str:
    if not c.scored(metric):
        return "n/a"
    interval = c.interval(metric, clip=False)
    if interval is None:
        return f"{c.score(metric):.1f}"
    half = (interval[1] - interval[0]) / 2
    return f"{c.score(metric):.1f} ±{half:.1f}"


def _ladder(report: LadderReport, width: int) -> list[str]:
    """The ladder table; on a narrow terminal the latency columns go first (p95, then p50)."""
    metric = report.primary_metric
    header = ["candidate", "quality", "in tok", "out tok", "$/1k req", "p50", "p95"]
    rows = [
        [
            c.name,
            _quality(c, metric),
            _tokens(c.prompt_tokens),
            _tokens(c.completion_tokens),
            _money(c.cost_per_1k),
            _seconds(c.latency_p50),
            _seconds(c.latency_p95),
        ]
        for c in report.candidates
    ]
    while True:
        table = _table(header, rows, width)
        if len(header) <= 5 or max(len(line) for line in table) <= width:
            return table
        header, rows = header[:-1], [row[:-1] for row in rows]


def _other_metrics(report: LadderReport, width: int) -> list[str]:
    rest = report.metrics[1:]
    if not rest:
        return []
    names = [c.name for c in report.candidates]
    name_width = min(max(len("candidate"), *(len(n) for n in names)), max(_MIN_NAME, width // 3))
    out: list[str] = []
    block: list[str] = []
    used = name_width
    for metric in rest:
        column = max(len(metric), 5) + len(_GAP)
        if block and used + column > width:
            out += [*_metric_block(report, block, width), ""]
            block, used = [], name_width
        block.append(metric)
        used += column
    return out + _metric_block(report, block, width)


def _metric_block(report: LadderReport, metrics: list[str], width: int) -> list[str]:
    header = ["candidate", *(_cut(m, width - _MIN_NAME - len(_GAP)) for m in metrics)]
    rows = [[c.name, *(f"{c.score(m):.1f}" if c.scored(m) else "n/a" for m in metrics)] for c in report.candidates]
    return _table(header, rows, width)


def _wrap(text: str, width: int, indent: str = "") -> list[str]:
    return textwrap.wrap(text, width=width, subsequent_indent=indent, break_long_words=True) or [""]


def render_text(report: LadderReport, *, width: int = 80) -> str:
    """The title, the ladder, further metrics, the break-even, the verdict and notes, each line ≤ ``width`` (≥ 60)."""
    width = max(width, 60)
    metric = report.primary_metric
    lines = _wrap(report.title, width)
    lines += _wrap(
        f"{len(report.items)} held-out examples; quality = {metric} in points ± the 95% interval; tokens and "
        "$ per request are means, p50/p95 the latency percentiles.",
        width,
    )
    lines.append("")
    lines += _ladder(report, width)
    others = _other_metrics(report, width)
    if others:
        lines += ["", *_wrap("Other metrics (points):", width), *others]
    failed = [c for c in report.candidates if c.errors]
    for c in failed:
        lines += _wrap(f"{c.name}: {c.errors} of {c.n} requests failed and count as wrong.", width)
    models = "; ".join(f"{c.name} = {c.model}" for c in report.candidates)
    lines += ["", *_wrap(f"Models: {models}", width, "  ")]
    line = report.break_even_line()
    if line:
        lines += ["", *_wrap(f"Break-even {line}", width, "  ")]
    judged = report.judge_line()
    if judged:
        lines += ["", *_wrap(judged, width, "  ")]
    lines += ["", *_wrap(report.verdict, width)]
    for note in report.notes():
        lines += ["", *_wrap(note, width)]
    paths = [report.paths[key] for key in ("markdown", "html") if key in report.paths]
    if paths:
        lines.append("")
    for path in paths:
        lines += _wrap(f"report: {path}", width, "  ")
    return "\n".join(lines) + "\n"
