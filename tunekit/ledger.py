"""The run ledger: every run and every side effect, in SQLite.

The ledger lives at ``$TUNEKIT_HOME/runs.db`` (default ``~/.tunekit``). It is
written *before* a side effect (an ``intent`` event) and *after* it (an
``outcome`` event and the remote ids on the run row), so a client that dies
between the two knows what to check on resume. WAL mode and short
``BEGIN IMMEDIATE`` transactions make it safe for several processes at once;
a per-run file lock keeps two processes from driving the same run.

For recovery tests, ``TUNEKIT_CRASH_AT`` makes the process SIGKILL itself
when it records a chosen event (see :mod:`tunekit.failpoints`).
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import filelock

from tunekit.errors import LedgerError, RunLockedError, RunNotFoundError
from tunekit.failpoints import CRASH_ENV, crash_at
from tunekit.ledger_deployments import DeploymentRecord, DeploymentRows
from tunekit.ledger_lineage import Lineage
from tunekit.paths import tunekit_home
from tunekit.secrets import redact, redact_data
from tunekit.states import JobStatus

__all__ = [
    "SCHEMA_VERSION",
    "DeploymentRecord",
    "Ledger",
    "LedgerEvent",
    "Lineage",
    "RunRecord",
    "tunekit_home",
    "validate_run_id",
]

SCHEMA_VERSION = 4

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")

# Each entry upgrades the schema from version (index + 1) to (index + 2).
_SCHEMA_V1 = """
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    name TEXT,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    config_hash TEXT NOT NULL,
    config_json TEXT NOT NULL,
    run_dir TEXT NOT NULL,
    status TEXT NOT NULL,
    raw_status TEXT,
    remote_json TEXT NOT NULL DEFAULT '{}',
    result_json TEXT
);
CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    ts TEXT NOT NULL,
    kind TEXT NOT NULL,
    step TEXT,
    message TEXT,
    data_json TEXT
);
CREATE INDEX events_run ON events(run_id, seq);
CREATE INDEX runs_hash ON runs(config_hash, created_at);
"""

_MIGRATIONS: list[str] = [
    # v1 -> v2: runs learn when they last changed and why they failed; provider
    # events get a dedupe key so re-reading them after a crash adds nothing.
    """
    ALTER TABLE runs ADD COLUMN updated_at TEXT;
    UPDATE runs SET updated_at = created_at;
    ALTER TABLE runs ADD COLUMN error TEXT;
    ALTER TABLE events ADD COLUMN event_key TEXT;
    CREATE UNIQUE INDEX events_key ON events(run_id, event_key) WHERE event_key IS NOT NULL;
    """,
    # v2 -> v3: runs carry the key of the job they stand for (config and data content), which is what
    # submit matches when it resumes or returns a run; every deployment a run makes gets a row, so
    # none is forgotten while it bills.
    """
    ALTER TABLE runs ADD COLUMN run_key TEXT;
    CREATE INDEX runs_key ON runs(run_key, created_at);
    CREATE TABLE deployments (
        run_id TEXT NOT NULL REFERENCES runs(run_id),
        name TEXT NOT NULL,
        model TEXT NOT NULL,
        sku TEXT,
        capacity INTEGER,
        hourly_price REAL,
        currency TEXT,
        state TEXT NOT NULL,
        created_at TEXT NOT NULL,
        billing_since TEXT,
        deleted_at TEXT,
        data_json TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (run_id, name)
    );
    """,
    # v3 -> v4: a run started from an earlier run (init_from) names its parent, and what it started from,
    # so lineage is shown and a run's children are found.
    """
    ALTER TABLE runs ADD COLUMN parent_run TEXT;
    ALTER TABLE runs ADD COLUMN lineage_json TEXT;
    CREATE INDEX runs_parent ON runs(parent_run, created_at);
    """,
]


def validate_run_id(run_id: str) -> str:
    """Reject run ids that could escape the runs folder or confuse a shell."""
    if not _RUN_ID.match(run_id) or run_id in {".", ".."}:
        raise LedgerError(f"invalid run id {run_id!r}: use letters, digits, '.', '_' and '-' (at most 128)")
    return run_id


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class RunRecord:
    """One row of the ledger's run table."""

    run_id: str
    created_at: datetime
    updated_at: datetime
    name: str | None
    provider: str
    model: str
    config_hash: str
    config: dict[str, Any]
    run_dir: Path
    status: JobStatus
    raw_status: str | None
    remote: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] | None = None
    error: str | None = None
    run_key: str | None = None
    """What determines the job (config without name, secrets, eval or deploy; the data's content)."""
    parent: Lineage | None = None
    """The earlier run this run started from (``init_from``), or None."""

    @property
    def has_job(self) -> bool:
        """Whether the provider's job id is recorded."""
        return "job_id" in self.remote

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "name": self.name,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "provider": self.provider,
            "model": self.model,
            "status": self.status.value,
            "raw_status": self.raw_status,
            "config_hash": self.config_hash,
            "run_key": self.run_key,
            "run_dir": str(self.run_dir),
            "remote": self.remote,
            "result": self.result,
            "error": self.error,
            "parent": self.parent.to_json() if self.parent is not None else None,
            "config": self.config,
        }


@dataclass(frozen=True)
class LedgerEvent:
    """One row of the append-only event table."""

    seq: int
    run_id: str
    ts: datetime
    kind: str
    step: str | None
    message: str
    data: dict[str, Any]
    key: str | None


class Ledger(DeploymentRows):
    """The SQLite run ledger. Cheap to create; one connection per thread and process."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.home = tunekit_home() if path is None else Path(path).expanduser().parent
        self.path = self.home / "runs.db" if path is None else Path(path).expanduser()
        self._local = threading.local()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._migrate()

    def __repr__(self) -> str:
        return f"Ledger({str(self.path)!r})"

    # -- connection and schema -------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        pid: int | None = getattr(self._local, "pid", None)
        if conn is None or pid != os.getpid():
            # A connection inherited through fork() must not be reused.
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            conn.execute("PRAGMA busy_timeout = 60000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
            self._local.pid = os.getpid()
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise LedgerError(f"cannot write the run ledger {self.path}: {exc}") from exc
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    def schema_version(self) -> int:
        row = self._connect().execute("PRAGMA user_version").fetchone()
        return int(row[0])

    def _migrate(self) -> None:
        with self._write() as conn:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise LedgerError(
                    f"{self.path} was written by a newer tunekit (schema {version} > {SCHEMA_VERSION}); upgrade tunekit"
                )
            if version == 0:
                has_runs = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'runs'").fetchone()
                if not has_runs:
                    _executescript(conn, _SCHEMA_V1)
                version = 1
            while version < SCHEMA_VERSION:
                _executescript(conn, _MIGRATIONS[version - 1])
                version += 1
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- runs ------------------------------------------------------------------

    def run_dir(self, run_id: str) -> Path:
        return self.home / "runs" / validate_run_id(run_id)

    def create_run(
        self,
        run_id: str,
        *,
        provider: str,
        model: str,
        config_hash: str,
        config: dict[str, Any],
        name: str | None = None,
        run_key: str | None = None,
        parent: Lineage | None = None,
    ) -> RunRecord:
        """Insert a run in state ``pending`` and create its folder; ``parent``: the run it starts from."""
        run_dir = self.run_dir(run_id)
        now = _now()
        with self._write() as conn:
            try:
                conn.execute(
                    "INSERT INTO runs (run_id, created_at, updated_at, name, provider, model, config_hash,"
                    " config_json, run_dir, status, remote_json, run_key, parent_run, lineage_json)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        run_id,
                        now,
                        now,
                        name,
                        provider,
                        model,
                        config_hash,
                        json.dumps(redact_data(config)),
                        str(run_dir),
                        JobStatus.PENDING.value,
                        "{}",
                        run_key,
                        parent.run_id if parent is not None else None,
                        json.dumps(redact_data(parent.to_json())) if parent is not None else None,
                    ),
                )
            except sqlite3.IntegrityError:
                raise LedgerError(f"run {run_id!r} already exists") from None
            conn.execute(
                "INSERT INTO events (run_id, ts, kind, message, data_json) VALUES (?,?,?,?,?)",
                (run_id, now, "created", f"run created for provider {provider}", "{}"),
            )
        run_dir.mkdir(parents=True, exist_ok=True)
        return self.get(run_id)

    def get(self, run_id: str) -> RunRecord:
        row = self._connect().execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise RunNotFoundError(run_id)
        return _run_from_row(row)

    def runs(
        self, *, provider: str | None = None, config_hash: str | None = None, limit: int | None = None
    ) -> list[RunRecord]:
        """Runs, newest first."""
        sql = f"SELECT {_RUN_COLUMNS} FROM runs"
        clauses, args = [], []
        if provider is not None:
            clauses.append("provider = ?")
            args.append(provider)
        if config_hash is not None:
            clauses.append("config_hash = ?")
            args.append(config_hash)
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY created_at DESC, rowid DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [_run_from_row(r) for r in self._connect().execute(sql, args).fetchall()]

    def children(self, run_id: str) -> list[RunRecord]:
        """The runs that started from ``run_id`` (``init_from``), oldest first."""
        sql = f"SELECT {_RUN_COLUMNS} FROM runs WHERE parent_run = ? ORDER BY created_at, rowid"
        return [_run_from_row(r) for r in self._connect().execute(sql, (run_id,)).fetchall()]

    def ancestors(self, run_id: str) -> list[RunRecord]:
        """The run's parent, its parent's parent, and so on (nearest first); runs no longer recorded end the line."""
        line: list[RunRecord] = []
        seen = {run_id}
        parent = self.get(run_id).parent
        while parent is not None and parent.run_id not in seen:
            seen.add(parent.run_id)
            try:
                record = self.get(parent.run_id)
            except RunNotFoundError:
                break
            line.append(record)
            parent = record.parent
        return line

    def run_ids(self, *, prefix: str = "") -> list[str]:
        """Ids of the runs whose id starts with ``prefix``, newest first."""
        sql = "SELECT run_id FROM runs WHERE substr(run_id, 1, ?) = ? ORDER BY created_at DESC, rowid DESC"
        return [row[0] for row in self._connect().execute(sql, (len(prefix), prefix)).fetchall()]

    def find_resumable(self, config_hash: str) -> RunRecord | None:
        """The newest run of this config that has not reached a terminal state."""
        for run in self.runs(config_hash=config_hash):
            if not run.status.is_terminal:
                return run
        return None

    def find_reusable(self, run_key: str, config_hash: str | None = None) -> RunRecord | None:
        """The newest run of this job that succeeded or is unfinished: what a submit returns instead of a new job.

        Runs written before run keys existed match on ``config_hash``. A run
        that failed or was cancelled is not reused.
        """
        sql = f"SELECT {_RUN_COLUMNS} FROM runs WHERE (run_key = ?"
        args: list[Any] = [run_key]
        if config_hash is not None:
            sql += " OR (run_key IS NULL AND config_hash = ?)"
            args.append(config_hash)
        sql += ") AND status NOT IN (?, ?) ORDER BY created_at DESC, rowid DESC LIMIT 1"
        args.extend([JobStatus.FAILED.value, JobStatus.CANCELLED.value])
        row = self._connect().execute(sql, args).fetchone()
        return None if row is None else _run_from_row(row)

    def settle_submit(self, run_id: str, job: dict[str, Any], message: str) -> bool:
        """Record that the run's job exists, in one transaction: its id, ``queued``, the ``submit`` outcome.

        ``job`` is the job's reference (``provider``, ``job_id``, ``extra``).
        Idempotent: a run whose submit outcome is written is left as it is
        (False). A status the run already moved past ``pending`` is kept.
        """
        crash = CRASH_ENV in os.environ  # the crash harness kills the client around the submit outcome too
        if crash:
            crash_at("outcome", "submit", after=False)
        with self._write() as conn:
            done = conn.execute(
                "SELECT 1 FROM events WHERE run_id = ? AND kind = 'outcome' AND step = 'submit'", (run_id,)
            ).fetchone()
            row = conn.execute("SELECT remote_json, status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if row is None:
                raise RunNotFoundError(run_id)
            remote = json.loads(row[0] or "{}")
            now = _now()
            if done is None or "job_id" not in remote:
                remote.update(job_id=job["job_id"], job_extra=job.get("extra", {}))
                status = JobStatus.QUEUED.value if row[1] == JobStatus.PENDING.value else row[1]
                conn.execute(
                    "UPDATE runs SET remote_json = ?, status = ?, updated_at = ? WHERE run_id = ?",
                    (json.dumps(redact_data(remote)), status, now, run_id),
                )
            if done is None:
                conn.execute(
                    "INSERT INTO events (run_id, ts, kind, step, message, data_json) VALUES (?,?,?,?,?,?)",
                    (run_id, now, "outcome", "submit", redact(message), json.dumps(redact_data(job), default=str)),
                )
        if crash:
            crash_at("outcome", "submit", after=True)
        return done is None

    def fail_run(self, run_id: str, error: str, *, step: str) -> RunRecord:
        """Mark a run ``failed`` with its error, and say which step failed, in one transaction."""
        with self._write() as conn:
            now = _now()
            cursor = conn.execute(
                "UPDATE runs SET status = ?, error = ?, updated_at = ? WHERE run_id = ?",
                (JobStatus.FAILED.value, redact(error), now, run_id),
            )
            if cursor.rowcount != 1:
                raise RunNotFoundError(run_id)
            conn.execute(
                "INSERT INTO events (run_id, ts, kind, step, message, data_json) VALUES (?,?,?,?,?,?)",
                (run_id, now, "error", step, redact(error), "{}"),
            )
        return self.get(run_id)

    def update(
        self,
        run_id: str,
        *,
        status: JobStatus | None = None,
        raw_status: str | None = None,
        remote: dict[str, Any] | None = None,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> RunRecord:
        """Change a run row; ``remote`` is merged into the stored remote ids."""
        with self._write() as conn:
            row = conn.execute("SELECT remote_json FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if row is None:
                raise RunNotFoundError(run_id)
            sets, args = ["updated_at = ?"], [_now()]
            if status is not None:
                sets.append("status = ?")
                args.append(JobStatus(status).value)
            if raw_status is not None:
                sets.append("raw_status = ?")
                args.append(raw_status)
            if remote:
                merged = {**json.loads(row[0] or "{}"), **redact_data(remote)}
                sets.append("remote_json = ?")
                args.append(json.dumps(merged))
            if result is not None:
                sets.append("result_json = ?")
                args.append(json.dumps(redact_data(result)))
            if error is not None:
                sets.append("error = ?")
                args.append(redact(error))
            conn.execute(f"UPDATE runs SET {', '.join(sets)} WHERE run_id = ?", (*args, run_id))
        return self.get(run_id)

    # -- events ----------------------------------------------------------------

    def record(
        self,
        run_id: str,
        kind: str,
        *,
        step: str | None = None,
        message: str = "",
        data: dict[str, Any] | None = None,
        key: str | None = None,
    ) -> bool:
        """Append an event. With ``key``, a second event with the same key is ignored (returns False)."""
        crash = CRASH_ENV in os.environ  # recovery tests kill the client here (tunekit.failpoints)
        if crash:
            crash_at(kind, step, after=False)
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO events (run_id, ts, kind, step, message, data_json, event_key)"
                " VALUES (?,?,?,?,?,?,?)",
                (run_id, _now(), kind, step, redact(message), json.dumps(redact_data(data or {}), default=str), key),
            )
            written = cursor.rowcount == 1
        if crash:
            crash_at(kind, step, after=True)
        return written

    def events(self, run_id: str, *, kinds: Sequence[str] | None = None, after_seq: int = 0) -> list[LedgerEvent]:
        sql = (
            "SELECT seq, run_id, ts, kind, step, message, data_json, event_key FROM events WHERE run_id = ? AND seq > ?"
        )
        args: list[Any] = [run_id, after_seq]
        if kinds:
            sql += f" AND kind IN ({','.join('?' * len(kinds))})"
            args.extend(kinds)
        rows = self._connect().execute(sql + " ORDER BY seq", args).fetchall()
        return [
            LedgerEvent(
                seq=r[0],
                run_id=r[1],
                ts=datetime.fromisoformat(r[2]),
                kind=r[3],
                step=r[4],
                message=r[5] or "",
                data=json.loads(r[6] or "{}"),
                key=r[7],
            )
            for r in rows
        ]

    def runs_with_event(self, kind: str, key: str) -> list[tuple[str, dict[str, Any]]]:
        """``(run id, event data)`` of every run that recorded a ``kind`` event with this key, oldest first."""
        rows = (
            self._connect()
            .execute("SELECT run_id, data_json FROM events WHERE kind = ? AND event_key = ? ORDER BY seq", (kind, key))
            .fetchall()
        )
        return [(str(r[0]), json.loads(r[1] or "{}")) for r in rows]

    def last_event_key(self, run_id: str, kind: str) -> str | None:
        row = (
            self._connect()
            .execute(
                "SELECT event_key FROM events WHERE run_id = ? AND kind = ? AND event_key IS NOT NULL"
                " ORDER BY seq DESC LIMIT 1",
                (run_id, kind),
            )
            .fetchone()
        )
        return None if row is None else str(row[0])

    # -- locking ---------------------------------------------------------------

    @contextmanager
    def lock(self, run_id: str, *, timeout: float = 0) -> Iterator[None]:
        """Hold the run's lock: a second process gets :class:`RunLockedError`."""
        lock_dir = self.home / "locks"
        lock_dir.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(str(lock_dir / f"{validate_run_id(run_id)}.lock"), thread_local=False)
        try:
            lock.acquire(timeout=timeout)
        except filelock.Timeout:
            raise RunLockedError(run_id) from None
        try:
            yield
        finally:
            lock.release()

    def close(self) -> None:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "pid", None) == os.getpid():
            conn.close()
        self._local.conn = None


_RUN_COLUMNS = (
    "run_id, created_at, updated_at, name, provider, model, config_hash, config_json, run_dir,"
    " status, raw_status, remote_json, result_json, error, run_key, lineage_json"
)


def _run_from_row(row: tuple[Any, ...]) -> RunRecord:
    return RunRecord(
        run_id=row[0],
        created_at=datetime.fromisoformat(row[1]),
        updated_at=datetime.fromisoformat(row[2] or row[1]),
        name=row[3],
        provider=row[4],
        model=row[5],
        config_hash=row[6],
        config=json.loads(row[7]),
        run_dir=Path(row[8]),
        status=JobStatus(row[9]),
        raw_status=row[10],
        remote=json.loads(row[11] or "{}"),
        result=json.loads(row[12]) if row[12] else None,
        error=row[13],
        run_key=row[14],
        parent=Lineage.from_json(json.loads(row[15])) if row[15] else None,
    )


def _executescript(conn: sqlite3.Connection, script: str) -> None:
    # executescript() would COMMIT our open transaction; run statements one by one instead.
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)
