"""A sweep's summary: its children ranked by the primary evaluation metric, with intervals and noise marked.

Children evaluated on the same held-out items are compared item by item
(:func:`tunekit.evaluate.report.compare`): a child whose paired difference
from the best has a 95% interval that contains zero is *within noise* of it,
so the ranking does not pretend to know more than the evaluation measured.
Children without an evaluation are ranked by their last validation loss (else
training loss), lower first, without intervals.

The summary is written to ``$TUNEKIT_HOME/sweeps/<sweep id>/``: ``summary.md``,
``summary.json`` and ``sweep.png`` (the metric against each varied parameter).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunekit.evaluate.report import compare
from tunekit.secrets import get_logger, redact

if TYPE_CHECKING:
    from tunekit.evaluate.report import CandidateSummary
    from tunekit.ledger import Ledger, RunRecord
    from tunekit.sweep.runner import ChildOutcome

__all__ = ["SweepRow", "summarize", "sweep_runs", "write_summary"]

logger = get_logger("tunekit.sweep")

_LOSSES = ("valid_loss", "train_loss")


@dataclass
class SweepRow:
    """One child in the ranking."""

    rank: int
    index: int
    point: dict[str, Any]
    run_id: str | None
    status: str
    metric: str | None
    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    within_noise: bool = False
    """The paired difference from the best child's score is not distinguishable from zero (95%)."""
    difference: float | None = None
    error: str | None = None
    extra: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(
        cls, outcome: ChildOutcome, rank: int, metric: str | None = None, value: float | None = None, **more: Any
    ) -> SweepRow:
        """The row of one child: its point, run and status, with the rank and score it was given."""
        child = outcome.child
        return cls(rank, child.index, child.point, outcome.run_id, outcome.status, metric, value, **more)


def summarize(outcomes: list[ChildOutcome]) -> list[SweepRow]:
    """The children ranked best first (see the module's docstring for how)."""
    evaluated = [o for o in outcomes if o.report is not None and o.report.candidate("tuned") is not None]
    if evaluated:
        metric = evaluated[0].report.primary_metric  # type: ignore[union-attr]
        return _rank_by_evaluation(outcomes, evaluated, metric)
    return _rank_by_loss(outcomes)


def _tuned(outcome: ChildOutcome) -> CandidateSummary:
    assert outcome.report is not None
    tuned = outcome.report.candidate("tuned")
    assert tuned is not None
    return tuned


def _rank_by_evaluation(outcomes: list[ChildOutcome], evaluated: list[ChildOutcome], metric: str) -> list[SweepRow]:
    ordered = sorted(evaluated, key=lambda o: _tuned(o).score(metric), reverse=True)
    best = _tuned(ordered[0])
    rows: list[SweepRow] = []
    for rank, outcome in enumerate(ordered, start=1):
        tuned = _tuned(outcome)
        interval = tuned.interval(metric)
        low, high = interval if interval is not None else (None, None)
        row = SweepRow.of(outcome, rank, metric, tuned.score(metric), ci_low=low, ci_high=high)
        if rank > 1:
            if len(tuned.items) == len(best.items):
                paired = compare(tuned, best, metric)
                row.difference = paired.difference
                row.within_noise = not paired.significant
            elif interval is not None and rows[0].ci_low is not None:
                row.within_noise = interval[1] >= rows[0].ci_low  # different items: overlapping intervals
        rows.append(row)
    rows.extend(_unranked(outcomes, evaluated, len(rows)))
    return rows


def _rank_by_loss(outcomes: list[ChildOutcome]) -> list[SweepRow]:
    metric = next((name for name in _LOSSES if any(name in o.final_metrics for o in outcomes)), None)
    ranked = [o for o in outcomes if metric is not None and metric in o.final_metrics]
    ranked.sort(key=lambda o: o.final_metrics[str(metric)])
    rows = [SweepRow.of(o, rank, metric, o.final_metrics[str(metric)]) for rank, o in enumerate(ranked, start=1)]
    rows.extend(_unranked(outcomes, ranked, len(rows)))
    return rows


def _unranked(outcomes: list[ChildOutcome], ranked: list[ChildOutcome], after: int) -> list[SweepRow]:
    left = [o for o in outcomes if o not in ranked]
    return [SweepRow.of(o, after + i, error=o.error) for i, o in enumerate(left, start=1)]


# -- files ---------------------------------------------------------------------------------------------


def write_summary(
    folder: Path, sweep_id: str, rows: list[SweepRow], *, lower_is_better: bool = False
) -> dict[str, str]:
    """Write ``summary.md``, ``summary.json`` and (with matplotlib) ``sweep.png`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[str, str] = {}
    try:
        paths["chart"] = str(plot_sweep(rows, folder / "sweep.png"))
    except ImportError as exc:
        logger.warning("no sweep chart (%s); install tunekit[plots] for it", exc)
    data = {"sweep_id": sweep_id, "rows": [asdict(r) for r in rows]}
    (folder / "summary.json").write_text(redact(json.dumps(data, indent=2, default=str)), encoding="utf-8")
    paths["json"] = str(folder / "summary.json")
    (folder / "summary.md").write_text(_markdown(sweep_id, rows, "chart" in paths), encoding="utf-8")
    paths["markdown"] = str(folder / "summary.md")
    return paths


def _markdown(sweep_id: str, rows: list[SweepRow], chart: bool) -> str:
    params = list(rows[0].point) if rows else []
    metric = next((r.metric for r in rows if r.metric), None)
    lines = [f"# Sweep {sweep_id}", ""]
    if metric is not None:
        lines.append(f"Ranked by {metric}; *within noise* means the paired 95% interval of the difference from the")
        lines.append("best child contains zero: the evaluation cannot tell the two apart.")
        lines.append("")
    header = ["rank", *params, "run", "status", metric or "metric", "95% interval", "vs best"]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    for row in rows:
        interval = f"{row.ci_low:.1f}-{row.ci_high:.1f}" if row.ci_low is not None and row.ci_high is not None else ""
        versus = "best" if row.rank == 1 and row.value is not None else ""
        if row.rank > 1 and row.value is not None:
            diff = f"{row.difference:+.1f}" if row.difference is not None else ""
            versus = f"{diff} within noise" if row.within_noise else f"{diff} worse".strip()
        value = "" if row.value is None else f"{row.value:.4g}"
        cells = [str(row.rank), *(str(row.point.get(p)) for p in params), row.run_id or "-", row.status, value]
        lines.append("| " + " | ".join([*cells, interval, versus or (row.error or "")[:80]]) + " |")
    if chart:
        lines += ["", "![the metric against each varied parameter](sweep.png)"]
    return "\n".join(lines) + "\n"


def plot_sweep(rows: list[SweepRow], path: Path) -> Path:
    """One panel per varied parameter: each child's metric (with its interval) against the parameter's value."""
    from tunekit.evaluate.plots import chart

    scored = [r for r in rows if r.value is not None]
    params = list(rows[0].point) if rows else []
    panels = max(1, len(params))
    with chart(path, (4.2 * panels, 3.6), panels=panels) as axes:
        for ax, param in zip(axes, params, strict=False):
            values = [r.point.get(param) for r in scored]
            numeric = all(isinstance(v, (int, float)) for v in values)
            labels = sorted({str(v) for v in values}, key=lambda t: (float(t) if numeric else 0, t))
            xs = [float(str(v)) if numeric else labels.index(str(v)) for v in values]
            ys = [r.value for r in scored]
            low = [(r.value or 0) - r.ci_low if r.ci_low is not None else 0 for r in scored]
            high = [r.ci_high - (r.value or 0) if r.ci_high is not None else 0 for r in scored]
            ax.errorbar(xs, ys, yerr=[low, high], fmt="o", capsize=3)
            if not numeric:
                ax.set_xticks(range(len(labels)), labels)
            ax.set_xlabel(param)
            ax.set_ylabel(scored[0].metric if scored else "metric")
    return path


# -- reading a sweep back from the ledger ------------------------------------------------------------------


def sweep_runs(ledger: Ledger, sweep_id: str) -> list[RunRecord]:
    """The runs of a sweep, in the order of their points (from the ``sweep`` events the sweep wrote)."""
    found = ledger.runs_with_event("sweep", f"sweep:{sweep_id}")
    ordered = sorted(found, key=lambda item: int(item[1].get("index", 0)))
    return [ledger.get(run_id) for run_id, _ in ordered]
