"""Reading training logs: steps from progress bars, losses from the trainer's metric dicts.

AutoTrain (through loguru) and TRL (through transformers) print the same two
things: a tqdm bar (`` 40%|████      | 20/50 [00:40<01:00, 2.00s/it]``) and
the Trainer's log dict (``{'loss': 1.23, 'learning_rate': 2e-05, 'epoch': 0.4}``).
The dict carries no step, so a metric line takes the step of the last bar.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tunekit.plugin import JobEvent, redact

__all__ = ["LogLine", "log_events", "log_tail", "parse_lines", "progress"]

_BAR = re.compile(r"(?:^|\|)\s*(\d+)/(\d+)\s*\[")
_DICT = re.compile(r"\{[^{}]*'(?:loss|train_loss|eval_loss)'[^{}]*\}")
_ERROR = re.compile(r"^(ERROR|CRITICAL)\b|Traceback \(most recent call last\)|^\w+(\.\w+)*(Error|Exception): ")

# The trainer's metric names -> tunekit's.
_METRICS = {
    "loss": "train_loss",
    "eval_loss": "valid_loss",
    "mean_token_accuracy": "train_mean_token_accuracy",
    "eval_mean_token_accuracy": "valid_mean_token_accuracy",
    "learning_rate": "learning_rate",
    "grad_norm": "grad_norm",
    "epoch": "epoch",
    "train_loss": "final_train_loss",
    "train_runtime": "train_runtime",
    "rewards/accuracies": "train_reward_accuracy",
    "rewards/margins": "train_reward_margin",
}


@dataclass(frozen=True)
class LogLine:
    """One log line with what it says about training progress."""

    index: int
    text: str
    step: int | None = None
    total_steps: int | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    error: bool = False


def _metrics(text: str) -> dict[str, float]:
    match = _DICT.search(text)
    if match is None:
        return {}
    try:
        raw: Any = ast.literal_eval(match.group(0))
    except (ValueError, SyntaxError):
        return {}
    if not isinstance(raw, dict):
        return {}
    out: dict[str, float] = {}
    for key, value in raw.items():
        name = _METRICS.get(str(key))
        if name is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
            out[name] = float(value)
    return out


def parse_lines(lines: Iterable[str]) -> Iterator[LogLine]:
    """Each line with the step it reports (or last reported) and the metrics it carries."""
    step: int | None = None
    total: int | None = None
    for index, text in enumerate(lines):
        bar = _BAR.search(text)
        if bar is not None:
            step, total = int(bar.group(1)), int(bar.group(2))
        metrics = _metrics(text)
        yield LogLine(
            index=index,
            text=text,
            step=step if (bar is not None or metrics) else None,
            total_steps=total if (bar is not None or metrics) else None,
            metrics=metrics,
            error=bool(_ERROR.search(text.strip())),
        )


def log_events(parsed: Iterable[LogLine], *, after: str | None = None, prefix: str = "log") -> Iterator[JobEvent]:
    """Parsed log lines as job events with stable ids (``log-000042``), those after ``after`` only."""
    start = -1
    if after is not None and after.startswith(f"{prefix}-"):
        try:
            start = int(after.rsplit("-", 1)[1])
        except ValueError:
            start = -1
    for line in parsed:
        if line.index <= start:
            continue
        yield JobEvent(
            id=f"{prefix}-{line.index:06d}",
            level="error" if line.error else "info",
            type="metrics" if line.metrics else "message",
            message=redact(line.text),
            step=line.step,
            total_steps=line.total_steps,
            metrics=line.metrics,
        )


def progress(parsed: Iterable[LogLine]) -> tuple[int | None, int | None, dict[str, float]]:
    """The last step reported, the total, and the latest value of each metric."""
    step = total = None
    latest: dict[str, float] = {}
    for line in parsed:
        if line.step is not None:
            step, total = line.step, line.total_steps
        latest.update(line.metrics)
    return step, total, latest


def log_tail(lines: list[str], count: int = 20) -> str:
    """The last ``count`` non-empty lines, secrets masked: the message of a failed run."""
    kept = [line.rstrip() for line in lines if line.strip()]
    return redact("\n".join(kept[-count:]))
