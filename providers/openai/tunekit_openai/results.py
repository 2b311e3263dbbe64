"""What a finished job leaves behind: results.csv, checkpoints, a loss curve."""

from __future__ import annotations

import base64
import binascii
import csv
import io
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tunekit.plugin import Checkpoint, JobEvent, get_logger
from tunekit_openai.states import unix_time

__all__ = [
    "MetricRow",
    "decode_result_file",
    "parse_results_csv",
    "plot_loss_curve",
    "rows_from_events",
    "to_checkpoint",
]

logger = get_logger("tunekit.openai")

MetricRow = dict[str, float]
"""One step's metrics; always has ``step``."""

# Header names OpenAI has used, mapped to tunekit's metric names.
_COLUMNS = {
    "step": "step",
    "train_loss": "train_loss",
    "train_accuracy": "train_mean_token_accuracy",
    "train_mean_token_accuracy": "train_mean_token_accuracy",
    "valid_loss": "valid_loss",
    "validation_loss": "valid_loss",
    "valid_mean_token_accuracy": "valid_mean_token_accuracy",
    "valid_accuracy": "valid_mean_token_accuracy",
    "full_valid_loss": "full_valid_loss",
    "full_valid_mean_token_accuracy": "full_valid_mean_token_accuracy",
}


def decode_result_file(content: bytes) -> str:
    """The text of a result file; OpenAI serves results.csv base64-encoded, the emulators may not."""
    text = content.decode("utf-8-sig", errors="replace").strip()
    first_line = text.splitlines()[0] if text else ""
    if "," in first_line:  # a CSV header; base64 never contains a comma
        return text
    try:
        decoded = base64.b64decode(text, validate=False).decode("utf-8-sig")
    except (binascii.Error, UnicodeDecodeError):
        return text
    return decoded.strip()


def parse_results_csv(text: str) -> list[MetricRow]:
    """Rows of ``results.csv``, columns found by header name (order and extra columns do not matter)."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None:
        return []
    names = {raw: _COLUMNS.get(raw.strip().lower()) for raw in reader.fieldnames}
    if "step" not in names.values():
        logger.warning("results.csv has no step column (columns: %s)", ", ".join(reader.fieldnames))
        return []
    rows: list[MetricRow] = []
    for record in reader:
        row: MetricRow = {}
        for raw, name in names.items():
            if name is None:
                continue
            value = _number(record.get(raw))
            if value is not None:
                row[name] = value
        if "step" in row:
            rows.append(row)
    return rows


def rows_from_events(events: Iterable[JobEvent]) -> list[MetricRow]:
    """Metric rows from metrics events, one per step, the latest event winning."""
    by_step: dict[int, MetricRow] = {}
    for event in events:
        if event.metrics and event.step is not None:
            by_step.setdefault(event.step, {"step": float(event.step)}).update(event.metrics)
    return [by_step[k] for k in sorted(by_step)]


def to_checkpoint(raw: Any) -> Checkpoint:
    """A ``FineTuningJobCheckpoint`` as a tunekit :class:`Checkpoint`."""
    metrics: dict[str, float] = {}
    if raw.metrics is not None:
        for key, value in raw.metrics.model_dump().items():
            number = _number(value)
            if number is not None and key != "step":
                metrics[key] = number
    return Checkpoint(
        id=raw.id,
        step=int(raw.step_number),
        model_id=raw.fine_tuned_model_checkpoint,
        metrics=metrics,
        created_at=unix_time(raw.created_at),
    )


def plot_loss_curve(rows: Sequence[MetricRow], path: Path, *, title: str = "") -> Path | None:
    """Draw train (and validation) loss against step into a PNG; None when there is nothing to draw."""
    series = {
        name: [(r["step"], r[name]) for r in rows if name in r]
        for name in ("train_loss", "valid_loss", "full_valid_loss")
    }
    if not series["train_loss"]:
        return None
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    # A bare Figure (no pyplot) keeps no global state between calls.
    fig = Figure(figsize=(7, 4), dpi=110)
    ax = fig.add_subplot()
    styles = {
        "train_loss": ("-", "train"),
        "valid_loss": ("-", "validation"),
        "full_valid_loss": ("o", "full validation"),
    }
    for name, points in series.items():
        if points:
            style, label = styles[name]
            ax.plot([p[0] for p in points], [p[1] for p in points], style, label=label, linewidth=1.2, markersize=4)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


def _number(value: object) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
