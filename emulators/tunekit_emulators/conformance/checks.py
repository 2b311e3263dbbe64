"""In-process conformance checks: exactly one job per intent, faults that must not duplicate, no leaked secret.

Each check takes a :class:`~tunekit_emulators.conformance.crash.ProviderCase` (the provider, its
emulator, how to write its config and count its jobs) and a fresh folder, drives the real
:class:`~tunekit.Tuner` against the emulator, and returns the problems it found (empty: conformant)::

    problems = check_exactly_once(case, tmp_path)
    assert not problems, problems

The crash-point check, which needs real client processes, is
:func:`~tunekit_emulators.conformance.crash.run_case`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tunekit.jobs import Job, JobStatus
from tunekit.ledger import Ledger
from tunekit.tuner import Tuner
from tunekit_emulators.conformance.crash import ProviderCase
from tunekit_emulators.faults import Fault

__all__ = ["check_create_fault", "check_exactly_once", "check_secret_hygiene", "client_environment"]


@contextmanager
def client_environment(case: ProviderCase, home: Path) -> Iterator[Ledger]:
    """The case's credentials and a private ``TUNEKIT_HOME`` in ``os.environ`` for the block; yields its ledger."""
    values = {**case.env, "TUNEKIT_HOME": str(home)}
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    if case.prepare_home is not None and not home.exists():
        case.prepare_home(home)
    ledger = Ledger(home / "runs.db")
    try:
        yield ledger
    finally:
        ledger.close()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _finish(case: ProviderCase, job: Job) -> JobStatus:
    if case.finish == "watch":
        return job.wait(poll_interval=case.watch_interval, timeout=120).status
    job.cancel()
    return job.wait(poll_interval=case.watch_interval, timeout=120).status


def _count(case: ProviderCase, run_id: str, home: Path, problems: list[str], when: str) -> None:
    jobs, everywhere = case.remote_jobs(run_id, home), case.all_jobs(home)
    if len(jobs) != 1 or everywhere != 1:
        problems.append(f"{when}: {everywhere} jobs at the provider, {len(jobs)} carrying run {run_id}")


def check_exactly_once(case: ProviderCase, folder: Path) -> list[str]:
    """Submitting one config twice, and again once its job has ended, makes one run and one job."""
    problems: list[str] = []
    if case.emulator is not None:
        case.emulator.reset()
    folder.mkdir(parents=True, exist_ok=True)
    home = folder / "home"
    with client_environment(case, home) as ledger:
        config = case.write_config(folder)
        first = Tuner.from_config(config, ledger=ledger).submit()
        second = Tuner.from_config(config, ledger=ledger).submit()
        if (second.run_id, second.job_id) != (first.run_id, first.job_id):
            problems.append(f"a second submit made run {second.run_id} / job {second.job_id}, not {first.job_id}")
        _count(case, first.run_id, home, problems, "after two submits")
        ended = _finish(case, first)
        if case.finish == "watch":
            again = Tuner.from_config(config, ledger=ledger).submit()
            if again.run_id != first.run_id:
                problems.append(f"a submit after the job {ended.value} started run {again.run_id}")
            _count(case, first.run_id, home, problems, f"after a submit once the job {ended.value}")
        if len(ledger.runs()) != 1:
            problems.append(f"{len(ledger.runs())} runs in the ledger")
    return problems


def check_create_fault(case: ProviderCase, folder: Path) -> list[str]:
    """A create the service carried out whose answer was lost (connection reset) is found, never made twice."""
    if case.emulator is None or case.create_route is None:
        return []  # nothing remote to create
    case.emulator.reset()
    folder.mkdir(parents=True, exist_ok=True)
    home = folder / "home"
    problems: list[str] = []
    case.emulator.inject(case.create_route, Fault.reset(after_processing=True), first_n=1)
    try:
        with client_environment(case, home) as ledger:
            job = Tuner.from_config(case.write_config(folder), ledger=ledger).submit()
            _count(case, job.run_id, home, problems, "after a create whose answer was lost")
            if ledger.get(job.run_id).remote.get("job_id") not in case.remote_jobs(job.run_id, home):
                problems.append("the ledger does not follow the job the service created")
    finally:
        case.emulator.clear_faults()
    return problems


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def check_secret_hygiene(case: ProviderCase, folder: Path, secrets: list[str] | None = None) -> list[str]:
    """A whole run (submit, follow, result) logs, records and writes none of the credentials.

    ``secrets`` defaults to the values of the case's environment. Scanned: every log record at
    DEBUG (tunekit's, the SDKs', the HTTP clients'), the text of any error, and every file under the
    run's ``TUNEKIT_HOME`` and ``folder`` (the ledger with its ``-wal``, run folders, reports).
    """
    secrets = [s for s in (secrets if secrets is not None else list(case.env.values())) if len(s) >= 8]
    if case.emulator is not None:
        case.emulator.reset()
    folder.mkdir(parents=True, exist_ok=True)
    home = folder / "home"
    capture, root = _Capture(), logging.getLogger()
    level = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    texts: list[tuple[str, str]] = []
    try:
        with client_environment(case, home) as ledger:
            try:
                job = Tuner.from_config(case.write_config(folder), ledger=ledger).submit()
                _finish(case, job)
                texts.append(("the job's repr", repr(job)))
                if case.finish == "watch":
                    texts.append(("the result", repr(job.result())))
            except Exception as exc:  # an error is one more text to scan, then a problem of its own
                texts.append(("the error", f"{type(exc).__name__}: {exc}"))
    finally:
        root.removeHandler(capture)
        root.setLevel(level)
    texts.append(("the logs", "\n".join(capture.lines)))
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        texts.append((str(path.relative_to(folder)), path.read_bytes().decode("utf-8", errors="replace")))
    problems = [f"{where} holds a credential" for where, text in texts if any(s in text for s in secrets)]
    problems += [f"the run failed: {text}" for where, text in texts if where == "the error"]
    return problems
