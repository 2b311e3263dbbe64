"""TUNEKIT_CRASH_AT: the ledger kills the process before or after the named event, and only there."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tunekit.failpoints import CrashPoint, parse_crash_points
from tunekit.ledger import Ledger

_CHILD = """
import sys
from tunekit.ledger import Ledger

ledger = Ledger(sys.argv[1])
ledger.create_run("r1", provider="openai", model="m", config_hash="h", config={})
for kind, step in (("intent", "prepare"), ("outcome", "prepare"), ("intent", "create_job"), ("outcome", "create_job")):
    ledger.record("r1", kind, step=step)
"""


def _run(tmp_path: Path, crash_at: str) -> tuple[int, list[tuple[str, str | None]]]:
    db = tmp_path / "runs.db"
    env = {**os.environ, "TUNEKIT_CRASH_AT": crash_at}
    child = subprocess.run([sys.executable, "-c", _CHILD, str(db)], env=env, timeout=120)
    events = [(e.kind, e.step) for e in Ledger(db).events("r1") if e.kind != "created"]
    return child.returncode, events


def test_dies_before_the_named_event_is_written(tmp_path: Path) -> None:
    code, events = _run(tmp_path, "intent:create_job")
    assert code == -signal.SIGKILL
    assert events == [("intent", "prepare"), ("outcome", "prepare")]


def test_dies_after_the_named_event_is_committed(tmp_path: Path) -> None:
    code, events = _run(tmp_path, "outcome:prepare:after")
    assert code == -signal.SIGKILL
    assert events == [("intent", "prepare"), ("outcome", "prepare")]


def test_a_point_that_never_comes_lets_the_process_finish(tmp_path: Path) -> None:
    code, events = _run(tmp_path, "outcome:upload_train, intent:deploy:after")
    assert code == 0 and len(events) == 4


def test_parsing() -> None:
    assert parse_crash_points(" intent:* ,outcome:submit:after") == [
        CrashPoint("intent", "*"),
        CrashPoint("outcome", "submit", after=True),
    ]
    assert CrashPoint("intent", "*").matches("intent", "upload_train", after=False)
    assert not CrashPoint("intent", "*").matches("intent", "upload_train", after=True)
    for bad in ("intent", "intent:x:before", ":x", "a:b:c:d"):
        with pytest.raises(ValueError, match="TUNEKIT_CRASH_AT"):
            parse_crash_points(bad)
