"""Reading back what a tracker holds, to check it against the run ledger (every provider's metrics must match)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tunekit.jobs import Job

__all__ = ["Series", "ledger_series", "mlflow_series"]

Series = dict[str, list[tuple[int, float]]]
"""Metric name -> its ``(step, value)`` points, in the order they were recorded."""


def ledger_series(job: Job) -> Series:
    """Every metric the ledger recorded for the run."""
    series: Series = {}
    for event in job.metrics():
        for name, value in event.metrics.items():
            series.setdefault(name, []).append((event.step or 0, float(value)))
    return series


def mlflow_series(uri: str, run_id: str) -> tuple[Series, Any]:
    """The metric histories of the MLflow run tagged with tunekit run ``run_id`` (evaluation results left out),
    and that MLflow run. MLflow is imported here: only a check that reads a store needs it."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    [run] = client.search_runs(
        [e.experiment_id for e in client.search_experiments()], filter_string=f"tags.`tunekit.run_id` = '{run_id}'"
    )
    series: Series = {}
    for name in run.data.metrics:
        if name.startswith("eval/"):
            continue
        history = client.get_metric_history(run.info.run_id, name)
        series[name] = [(m.step, m.value) for m in sorted(history, key=lambda m: (m.timestamp, m.step))]
    return series, run
