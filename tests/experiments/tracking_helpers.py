"""Reading back what a tracker holds, to compare it with the ledger."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tunekit.jobs import Job

OpenAIConfig = Callable[..., Path]
"""The ``openai_config`` fixture: ``openai_config(tracking={...}, sweep={...})`` writes a tune.yaml."""


def ledger_series(job: Job) -> dict[str, list[tuple[int, float]]]:
    """Every metric the ledger recorded for the run, as ``name: [(step, value), ...]`` in order."""
    series: dict[str, list[tuple[int, float]]] = {}
    for event in job.metrics():
        for name, value in event.metrics.items():
            series.setdefault(name, []).append((event.step or 0, float(value)))
    return series


def mlflow_series(uri: str, run_id: str) -> tuple[dict[str, list[tuple[int, float]]], Any]:
    """The metric histories of the MLflow run tagged with this tunekit run id (evaluation results left out)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    [run] = client.search_runs(
        [e.experiment_id for e in client.search_experiments()], filter_string=f"tags.`tunekit.run_id` = '{run_id}'"
    )
    series = {}
    for name in run.data.metrics:
        if name.startswith("eval/"):
            continue
        history = client.get_metric_history(run.info.run_id, name)
        series[name] = [(m.step, m.value) for m in sorted(history, key=lambda m: (m.timestamp, m.step))]
    return series, run
