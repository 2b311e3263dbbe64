"""The run folder: how the provider and its training process talk.

The parent (library, CLI) and the child (the training process) share nothing
but files in the run folder, so any process can follow a run, and a run
outlives the process that started it::

    job.json          what to train (written once by submit)
    process.json      the launched process: pid, start time, command, attempt
    status.json       the child's latest state (replaced atomically)
    events.jsonl      progress, metrics and checkpoints, one JSON object a line
    plan.json         the resolved training arguments and library versions
    cancel            present once a cancel was asked for
    train.log         the child's stdout and stderr
    data/             the training data in TRL's format
    checkpoints/      resumable checkpoints (checkpoint-N)
    adapter/          the result: adapter, tokenizer and chat template
    model/            the result when all weights were trained
    merged/           the adapter merged into the base weights (optional)
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = ["EventWriter", "RunFolder", "read_json", "write_json"]


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically: readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()


@dataclass(frozen=True)
class RunFolder:
    """Paths inside one run's folder."""

    root: Path

    @property
    def job(self) -> Path:
        return self.root / "job.json"

    @property
    def process(self) -> Path:
        return self.root / "process.json"

    @property
    def status(self) -> Path:
        return self.root / "status.json"

    @property
    def events(self) -> Path:
        return self.root / "events.jsonl"

    @property
    def plan(self) -> Path:
        return self.root / "plan.json"

    @property
    def cancel_marker(self) -> Path:
        return self.root / "cancel"

    @property
    def log(self) -> Path:
        return self.root / "train.log"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def adapter(self) -> Path:
        return self.root / "adapter"

    @property
    def model(self) -> Path:
        """The result of a run that trained all weights."""
        return self.root / "model"

    @property
    def merged(self) -> Path:
        return self.root / "merged"

    @property
    def result(self) -> Path:
        return self.root / "result.json"

    def checkpoint_dirs(self) -> list[Path]:
        """Complete checkpoints, oldest first (a checkpoint is complete once its trainer state is written)."""
        if not self.checkpoints.is_dir():
            return []
        found = []
        for child in self.checkpoints.iterdir():
            name = child.name
            if name.startswith("checkpoint-") and name[11:].isdigit() and (child / "trainer_state.json").is_file():
                found.append(child)
        return sorted(found, key=lambda p: int(p.name[11:]))

    def last_checkpoint(self) -> Path | None:
        dirs = self.checkpoint_dirs()
        return dirs[-1] if dirs else None

    def read_events(self, after: str | None = None) -> Iterator[dict[str, Any]]:
        """Events in order, after the one whose id is ``after``; a torn last line is skipped."""
        try:
            lines = self.events.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return
        seen = after is None
        for line in lines:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue  # the writer is mid-line; the next read sees it whole
            if not seen:
                seen = event.get("id") == after
                continue
            yield event


class EventWriter:
    """Appends events with increasing ids; continues the numbering of an earlier attempt."""

    def __init__(self, folder: RunFolder) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._seq = 0
        for event in folder.read_events():
            try:
                self._seq = max(self._seq, int(str(event.get("id", "0"))))
            except ValueError:
                continue

    def emit(self, type: str, message: str = "", *, level: str = "info", **fields: Any) -> dict[str, Any]:
        with self._lock:
            self._seq += 1
            event = {
                "id": f"{self._seq:08d}",
                "created_at": now_iso(),
                "type": type,
                "level": level,
                "message": message,
            }
            event.update({k: v for k, v in fields.items() if v is not None})
            line = json.dumps(event, default=str)
            self.folder.root.mkdir(parents=True, exist_ok=True)
            # One write call per line, appended: readers never see two events interleaved.
            with self.folder.events.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        return event

    def status(self, status: str, message: str = "", *, event: bool = True, **fields: Any) -> None:
        """Replace status.json; with ``event``, also record the change as an event."""
        data = {"status": status, "message": message, "updated_at": now_iso(), "pid": os.getpid()}
        data.update(fields)
        write_json(self.folder.status, data)
        if event:
            self.emit("status", message or status, status=status, step=fields.get("step"))
