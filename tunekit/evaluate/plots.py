"""PNG charts for the report: metrics by candidate, and the training loss curve.

matplotlib is imported only here, with the non-interactive Agg backend, so
reports render on servers and in CI without a display.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence, Sized
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from tunekit.states import JobEvent

__all__ = ["MetricsReport", "chart", "loss_points", "plot_loss", "plot_metrics", "plot_quality_cost"]


class _Scored(Protocol):
    @property
    def name(self) -> str: ...
    def score(self, metric: str) -> float: ...


class _Costed(_Scored, Protocol):
    @property
    def cost_per_1k(self) -> float | None: ...
    @property
    def prompt_tokens(self) -> float | None: ...
    @property
    def completion_tokens(self) -> float | None: ...
    def interval(self, metric: str) -> tuple[float, float] | None: ...


class CostReport(Protocol):
    """What the quality-against-cost chart shows of an :class:`~tunekit.evaluate.report.EvalReport`."""

    @property
    def primary_metric(self) -> str: ...
    @property
    def candidates(self) -> Sequence[_Costed]: ...
    @property
    def title(self) -> str: ...


class MetricsReport(Protocol):
    """What the metrics chart shows of an :class:`~tunekit.evaluate.report.EvalReport` (which draws itself with it)."""

    @property
    def metrics(self) -> Sequence[str]: ...
    @property
    def candidates(self) -> Sequence[_Scored]: ...
    @property
    def title(self) -> str: ...
    @property
    def items(self) -> Sized: ...


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


@contextmanager
def chart(path: Path, figsize: tuple[float, float], *, panels: int = 1, grid: bool = True) -> Iterator[list[Any]]:
    """The axes of a new figure of ``panels`` side by side; once drawn, saved to ``path`` as every chart is.

    Light grid lines (unless ``grid=False``), a tight layout, 110 dpi; the figure is closed even when
    drawing fails, so a long-lived process (a sweep, a notebook) does not pile figures up.
    """
    plt = _pyplot()
    fig, axes = plt.subplots(1, panels, figsize=figsize, squeeze=False)
    try:
        yield list(axes[0])
        if grid:
            for ax in axes[0]:
                ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)


def plot_metrics(report: MetricsReport, path: Path) -> Path:
    """Grouped bars: one group per metric, one bar per candidate, in points."""
    metrics = report.metrics
    names = [c.name for c in report.candidates]
    width = 0.8 / max(1, len(names))
    with chart(path, (max(6.0, 1.6 * len(metrics) * max(1, len(names)) / 2 + 3), 4.2), grid=False) as (ax,):
        for index, candidate in enumerate(report.candidates):
            positions = [m + (index - (len(names) - 1) / 2) * width for m in range(len(metrics))]
            values = [candidate.score(metric) for metric in metrics]
            bars = ax.bar(positions, values, width, label=candidate.name)
            ax.bar_label(bars, fmt="%.1f", fontsize=8, padding=2)
        ax.set_xticks(range(len(metrics)), metrics)
        ax.set_ylim(0, 110)
        ax.set_ylabel("points (mean score × 100)")
        ax.set_title(f"{report.title}: {len(report.items)} examples")
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return path


def plot_quality_cost(report: CostReport, path: Path) -> Path:
    """Each candidate as a point: the primary score (with its 95% interval) against its cost.

    The cost is USD per 1,000 requests when every candidate has a price, else tokens per request (what a
    model on your own hardware spends its time on), and the axis says which. Up and to the left is better.
    """
    metric = report.primary_metric
    priced = all(c.cost_per_1k is not None for c in report.candidates)
    with chart(path, (6.5, 4.2)) as (ax,):
        for c in report.candidates:
            x = (c.cost_per_1k or 0.0) if priced else (c.prompt_tokens or 0.0) + (c.completion_tokens or 0.0)
            y = c.score(metric)
            interval = c.interval(metric)
            errors = [[y - interval[0]], [interval[1] - y]] if interval is not None else None
            ax.errorbar([x], [y], yerr=errors, fmt="o", capsize=3, label=c.name)
            ax.annotate(c.name, (x, y), textcoords="offset points", xytext=(5, 5), fontsize=8)
        ax.set_xlabel("USD per 1,000 requests" if priced else "tokens per request (no prices known)")
        ax.set_ylabel(f"{metric} (points, 95% interval)")
        ax.set_ylim(-5, 105)
        ax.margins(x=0.3)  # room for the names beside the rightmost points
        ax.set_xlim(left=0)
        ax.set_title(f"{report.title}: quality against cost")
    return path


def loss_points(events: Iterable[JobEvent]) -> list[dict[str, float]]:
    """Metric events as ``{"step": ..., "train_loss": ..., ...}`` rows, one per step, in step order."""
    by_step: dict[int, dict[str, float]] = {}
    for event in events:
        if event.step is None or not event.metrics:
            continue
        row = by_step.setdefault(event.step, {"step": float(event.step)})
        row.update({k: float(v) for k, v in event.metrics.items() if isinstance(v, (int, float))})
    return [by_step[step] for step in sorted(by_step)]


def plot_loss(points: Sequence[dict[str, float]], path: Path) -> Path:
    """Every ``*loss*`` series against the step."""
    series = sorted({key for row in points for key in row if "loss" in key})
    with chart(path, (6.5, 4.0)) as (ax,):
        for key in series:
            xs = [row["step"] for row in points if key in row]
            ys = [row[key] for row in points if key in row]
            ax.plot(xs, ys, marker="." if len(xs) < 40 else None, label=key.replace("_", " "))
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.set_title("training loss")
        if series:
            ax.legend()
    return path
