"""Reading back what a tracker holds, to check it against the run ledger (every provider's metrics must match)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tunekit.jobs import Job

__all__ = ["Series", "WandbRun", "ledger_series", "mlflow_series", "wandb_offline_run"]

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


@dataclass
class WandbRun:
    """What W&B's offline folders of one run hold, as W&B's own reader prints their records."""

    folders: list[Path]
    """One per time the run was opened, oldest first (``wandb sync`` uploads them into the one run)."""
    series: Series = field(default_factory=dict)
    """Every history metric (W&B's own ``_step``, ``_runtime``… left out), as for :func:`ledger_series`."""
    config: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    """Keys set with ``run.summary`` or by ``run.log`` (W&B's own ``_`` keys left out)."""
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    """The logged artifacts' records (``name``, ``type``, ``manifest.contents``)."""
    exit_codes: list[int] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    """Terminal output W&B copied into the run (its console capture)."""


def wandb_offline_run(folder: Path, run_id: str) -> WandbRun:
    """Read the offline runs with id ``run_id`` under ``folder`` (a ``wandb/`` folder) with
    ``wandb leet inspect --json``, the reader the wandb package ships for its ``.wandb`` transaction logs."""
    name = re.compile(rf"offline-run-\d{{8}}_\d{{6}}-{re.escape(run_id)}(-\d+)?")
    found: list[tuple[str, Path, list[dict[str, Any]]]] = []
    for path in folder.iterdir():
        if name.fullmatch(path.name):
            records = _wandb_records(path)
            [run] = [r["run"] for r in records if r.get("type") == "run"]
            found.append((str(run["start_time"]), path, records))
    read = WandbRun(folders=[path for _, path, _ in sorted(found, key=lambda item: item[0])])
    for _, _, records in sorted(found, key=lambda item: item[0]):
        for record in records:
            kind = record.get("type")
            body = record.get(kind, {}) if isinstance(kind, str) else {}
            if kind == "run":
                read.config.update({k: v for k, v in body.get("config", {}).get("update", {}).items() if k != "_wandb"})
                read.tags += [t for t in body.get("tags", []) if t not in read.tags]
            elif kind == "history":
                step = int(body.get("step", {}).get("num", 0))
                for key, value in body["item"].items():
                    if not key.startswith("_"):
                        read.series.setdefault(key, []).append((step, float(value)))
            elif kind == "summary":
                read.summary.update({k: v for k, v in body.get("update", {}).items() if not k.startswith("_")})
            elif kind == "artifact":
                read.artifacts.append(body)
            elif kind in ("output", "output_raw"):
                read.console.append(str(body.get("line", "")))
            elif kind == "exit":
                read.exit_codes.append(int(body.get("exit_code", 0)))
    return read


def _wandb_records(path: Path) -> list[dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "wandb", "leet", "inspect", "--json", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
