from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from tunekit.errors import LedgerError, RunLockedError, RunNotFoundError
from tunekit.jobs import JobStatus
from tunekit.ledger import _SCHEMA_V1, SCHEMA_VERSION, Ledger, Lineage, validate_run_id


def _new(ledger: Ledger, run_id: str = "run-1") -> None:
    ledger.create_run(run_id, provider="memo", model="m", config_hash="abc", config={"provider": "memo"})


def test_run_row_and_events(tunekit_home: Path) -> None:
    ledger = Ledger()
    assert ledger.path == tunekit_home / "runs.db"
    _new(ledger)
    run = ledger.get("run-1")
    assert run.status is JobStatus.PENDING and run.run_dir.is_dir()
    ledger.update("run-1", status=JobStatus.RUNNING, raw_status="running", remote={"file": "file-1"})
    ledger.update("run-1", remote={"job_id": "job-1"})
    run = ledger.get("run-1")
    assert run.remote == {"file": "file-1", "job_id": "job-1"}
    assert run.status is JobStatus.RUNNING and run.raw_status == "running"
    assert ledger.record("run-1", "job_event", message="step 1", key="ev-1")
    assert not ledger.record("run-1", "job_event", message="step 1 again", key="ev-1")
    assert [e.message for e in ledger.events("run-1", kinds=["job_event"])] == ["step 1"]
    assert ledger.last_event_key("run-1", "job_event") == "ev-1"
    with pytest.raises(RunNotFoundError):
        ledger.get("nope")
    with pytest.raises(LedgerError, match="already exists"):
        _new(ledger)


def test_find_resumable_skips_terminal_runs() -> None:
    ledger = Ledger()
    _new(ledger, "a")
    ledger.update("a", status=JobStatus.SUCCEEDED)
    assert ledger.find_resumable("abc") is None
    _new(ledger, "b")
    assert ledger.find_resumable("abc").run_id == "b"  # type: ignore[union-attr]


@pytest.mark.parametrize("bad", ["../escape", "a/b", "", ".", "x" * 200, "-flag", "sp ace"])
def test_run_ids_cannot_escape_the_runs_folder(bad: str) -> None:
    with pytest.raises(LedgerError):
        validate_run_id(bad)


def _writer(path: str, run_id: str, count: int) -> None:
    ledger = Ledger(path)
    for i in range(count):
        ledger.record(run_id, "job_event", message=f"{i}", key=f"{multiprocessing.current_process().name}-{i}")
        ledger.update(run_id, remote={multiprocessing.current_process().name: i})


def test_two_processes_writing_at_once_lose_nothing(tunekit_home: Path) -> None:
    ledger = Ledger()
    _new(ledger)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(ledger.path), "run-1", 150), name=f"w{i}") for i in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    events = ledger.events("run-1", kinds=["job_event"])
    assert len(events) == 300
    assert ledger.get("run-1").remote == {"w0": 149, "w1": 149}


def test_migration_from_schema_v1_keeps_runs(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(_SCHEMA_V1)
    conn.execute(
        "INSERT INTO runs (run_id, created_at, provider, model, config_hash, config_json, run_dir, status)"
        " VALUES ('old-run', '2026-01-02T03:04:05+00:00', 'openai', 'gpt-4.1-mini', 'h', '{}', '/tmp/x', 'succeeded')"
    )
    conn.execute(
        "INSERT INTO events (run_id, ts, kind, message)"
        " VALUES ('old-run', '2026-01-02T03:04:05+00:00', 'created', 'hi')"
    )
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()

    ledger = Ledger(path)
    assert ledger.schema_version() == SCHEMA_VERSION
    run = ledger.get("old-run")
    assert run.status is JobStatus.SUCCEEDED and run.updated_at == run.created_at and run.error is None
    assert run.parent is None and ledger.children("old-run") == []
    assert ledger.record("old-run", "job_event", key="k1") and not ledger.record("old-run", "job_event", key="k1")
    # Opening again is a no-op.
    assert Ledger(path).schema_version() == SCHEMA_VERSION


def test_a_run_records_the_run_it_started_from(tunekit_home: Path) -> None:
    ledger = Ledger()
    _new(ledger, "sft")
    stage = Lineage(run_id="sft", model_id="ft:m:org::1", base_model="m", start="ft:m:org::1:ckpt-step-4")
    ledger.create_run("dpo", provider="memo", model="m", config_hash="d", config={}, parent=stage)
    later = Lineage(run_id="dpo", model_id="ft:m:org::2", base_model="m", start="ft:m:org::2", checkpoint="c", step=7)
    ledger.create_run("more", provider="memo", model="m", config_hash="e", config={}, parent=later)

    assert ledger.get("dpo").parent == stage and ledger.get("more").parent == later
    assert [r.run_id for r in ledger.children("sft")] == ["dpo"]
    assert [r.run_id for r in ledger.ancestors("more")] == ["dpo", "sft"]
    assert ledger.get("more").to_json()["parent"] == {**later.to_json(), "step": 7}
    assert str(later) == "dpo at step 7 (ft:m:org::2)"


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    Ledger(path)
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(LedgerError, match="newer tunekit"):
        Ledger(path)


def _hold_lock(home: str, ready: multiprocessing.synchronize.Event, release: multiprocessing.synchronize.Event) -> None:
    import os

    os.environ["TUNEKIT_HOME"] = home
    with Ledger().lock("run-1"):
        ready.set()
        release.wait(30)


def test_lock_keeps_a_second_process_out(tunekit_home: Path) -> None:
    ledger = Ledger()
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_hold_lock, args=(str(tunekit_home), ready, release))
    proc.start()
    try:
        assert ready.wait(30)
        with pytest.raises(RunLockedError), ledger.lock("run-1"):
            pass
    finally:
        release.set()
        proc.join(30)
    with ledger.lock("run-1"):
        pass
