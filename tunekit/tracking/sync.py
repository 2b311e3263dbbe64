"""Mirroring a run's ledger into its experiment tracker.

The ledger is the record; the tracker is a copy of it. Every metric point the
tracker gets is read back from the ledger's ``job_event`` rows — the rows the
job driver writes for remote jobs (polled) and local ones (the trainer's
callbacks) alike — so the tracker holds the same series as ``tunekit show``.
How far the copy got is kept in ``<run_dir>/tracking.json`` (the last ledger
row sent, the tracked run's id), so a restarted process continues where the
last one stopped and sends nothing twice.

A tracker that is down never stops training: the failure is logged, written
to the ledger once (a ``tracking`` event saying how many points wait), and the
next sync sends what is missing. :meth:`RunTracking.pending` says what has not
reached the tracker yet.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunekit.secrets import get_logger, redact
from tunekit.tracking.backends import MetricPoint, Tracker, clean_params, create_tracker

if TYPE_CHECKING:
    from collections.abc import Mapping

    from tunekit.config import TrackingConfig
    from tunekit.ledger import Ledger

__all__ = ["STATE_FILE", "Pending", "RunTracking", "tracking_settings"]

logger = get_logger("tunekit.tracking")

STATE_FILE = "tracking.json"


def tracking_settings(config: Mapping[str, Any]) -> TrackingConfig | None:
    """The ``tracking`` section of a recorded (redacted) config, or None."""
    from tunekit.config import TrackingConfig

    raw = config.get("tracking")
    return None if not raw else TrackingConfig.model_validate(raw)


@dataclass(frozen=True)
class Pending:
    """What has not reached the tracker yet."""

    metric_points: int
    evaluations: int
    error: str | None

    def __bool__(self) -> bool:
        return bool(self.metric_points or self.evaluations)

    def describe(self, where: str) -> str:
        parts = []
        if self.metric_points:
            parts.append(f"{self.metric_points} metric point(s)")
        if self.evaluations:
            parts.append(f"{self.evaluations} evaluation(s)")
        why = f" ({self.error})" if self.error else ""
        return f"not yet logged to {where}: {', '.join(parts)}{why}"


class RunTracking:
    """One tunekit run's tracked copy. Cheap to build; nothing is imported or opened until the first sync.

    ``metrics=False`` leaves the training metrics to the provider's own
    integration (OpenAI's W&B integration logs them itself).
    """

    def __init__(
        self,
        ledger: Ledger,
        run_id: str,
        settings: TrackingConfig,
        *,
        metrics: bool = True,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        self.ledger = ledger
        self.run_id = run_id
        self.settings = settings
        self.metrics = metrics
        self.extra_tags = dict(tags or {})
        self.tracker: Tracker = create_tracker(settings)
        self._opened = False
        self._error: str | None = None

    def __repr__(self) -> str:
        return f"RunTracking({self.run_id!r}, {self.tracker.where!r})"

    # -- the state file -------------------------------------------------------------------------------

    @property
    def _path(self) -> Path:
        return self.ledger.get(self.run_id).run_dir / STATE_FILE

    def _state(self) -> dict[str, Any]:
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        # A state written for another backend or project describes another tracked run.
        if data.get("backend") != self.settings.backend or data.get("project") != self.settings.project:
            return {}
        return dict(data)

    def _save(self, state: dict[str, Any]) -> None:
        state.update(backend=self.settings.backend, project=self.settings.project)
        path = self._path
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{STATE_FILE}.{os.getpid()}")
        temporary.write_text(json.dumps(state, indent=2), encoding="utf-8")
        os.replace(temporary, path)

    # -- syncing --------------------------------------------------------------------------------------

    def sync(self, *, status: str | None = None) -> Pending:
        """Send the ledger's new metric points; with ``status`` (the run ended), mark the tracked run finished."""
        state = self._state()
        try:
            self._open(state)
            points, last = self._new_points(int(state.get("seq", 0)))
            if points and self.metrics:
                self.tracker.log_metrics(points)
            if last:
                state["seq"] = last
                self._save(state)
            if status is not None and state.get("finished") != status:
                self.tracker.close(status)
                self._opened = False
                state["finished"] = status
                self._save(state)
        except Exception as exc:  # a tracker may fail in any way its library likes; training must go on
            return self._failed(exc, state)
        return self._recovered()

    def log_evaluation(self, folder: Path, results: Mapping[str, float]) -> Pending:
        """Log an evaluation's results (and, with ``artifacts``, its report files) once per report folder."""
        state = self._state()
        done = list(state.get("evaluations", []))
        key = str(folder.resolve())
        if key in done:
            return self.pending()
        queued = [entry for entry in state.get("queued", []) if entry.get("folder") != key]
        queued.append({"folder": key, "results": dict(results)})
        state["queued"] = queued
        self._save(state)
        return self.flush_evaluations()

    def flush_evaluations(self) -> Pending:
        """Send the evaluations that are waiting (a tracker was down when they were made)."""
        state = self._state()
        try:
            self._open(state)
            for entry in list(state.get("queued", [])):
                folder = Path(entry["folder"])
                step = len(state.get("evaluations", []))
                self.tracker.log_results(entry["results"], step=step)
                if self.settings.artifacts and folder.is_dir():
                    self.tracker.log_files(folder, name=f"evaluation/{folder.name}")
                state["evaluations"] = [*state.get("evaluations", []), entry["folder"]]
                state["queued"] = [e for e in state.get("queued", []) if e is not entry]
                self._save(state)
            self.tracker.close(state.get("finished"))
            self._opened = False
        except Exception as exc:
            return self._failed(exc, state)
        return self._recovered()

    def close(self) -> None:
        """Let go of the tracked run without finishing it (a watch that stops before the job ends)."""
        if self._opened:
            try:
                self.tracker.close(None)
            except Exception as exc:
                logger.debug("closing %s failed: %s", self.tracker.where, redact(str(exc)))
            self._opened = False

    def pending(self) -> Pending:
        """What the ledger holds that the tracker has not received."""
        state = self._state()
        points, _ = self._new_points(int(state.get("seq", 0))) if self.metrics else ([], 0)
        return Pending(len(points), len(state.get("queued", [])), self._error)

    # -- inside ---------------------------------------------------------------------------------------

    def _open(self, state: dict[str, Any]) -> None:
        if self._opened:
            return
        record = self.ledger.get(self.run_id)
        tags = {
            "tunekit.run_id": record.run_id,
            "tunekit.provider": record.provider,
            "tunekit.model": record.model,
            **self.settings.tags,
            **self.extra_tags,
        }
        tracked = self.tracker.open(
            record.run_id, state.get("run"), clean_params(record.config), {k: redact(v) for k, v in tags.items()}
        )
        self._opened = True
        if state.get("run") != tracked:
            state["run"] = tracked
            self._save(state)

    def _new_points(self, after_seq: int) -> tuple[list[MetricPoint], int]:
        points: list[MetricPoint] = []
        last = 0
        for event in self.ledger.events(self.run_id, kinds=["job_event"], after_seq=after_seq):
            last = event.seq
            values = {k: float(v) for k, v in (event.data.get("metrics") or {}).items()}
            if not values:
                continue
            created = event.data.get("created_at")
            when = datetime.fromisoformat(created) if isinstance(created, str) else event.ts
            points.append(MetricPoint(step=int(event.data.get("step") or 0), values=values, time=when))
        return points, last

    def _failed(self, exc: BaseException, state: dict[str, Any]) -> Pending:
        self._opened = False
        message = redact(f"{type(exc).__name__}: {exc}")[:300]
        first = self._error is None
        self._error = message
        waiting = self.pending()
        if first:
            logger.warning("%s is not taking the run's data (%s); training goes on", self.tracker.where, message)
            self.ledger.record(
                self.run_id,
                "tracking",
                step="unavailable",
                message=waiting.describe(self.tracker.where),
                data={"backend": self.settings.backend, "seq": int(state.get("seq", 0))},
            )
        return waiting

    def _recovered(self) -> Pending:
        if self._error is not None:
            self._error = None
            self.ledger.record(self.run_id, "tracking", step="caught_up", message=f"{self.tracker.where} caught up")
            logger.info("%s caught up", self.tracker.where)
        return self.pending()
