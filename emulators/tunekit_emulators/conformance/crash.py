"""The crash-point harness: kill a ``tunekit submit`` client at every ledger step, resume, count jobs.

For each provider and each crash point a fresh client (a real ``tunekit submit CONFIG`` process,
forked from :class:`~tunekit_emulators.conformance.zygote.Zygote`) is killed with SIGKILL at that point, either by
``TUNEKIT_CRASH_AT`` (the ledger kills the process at the named event) or, for a create request
that is in flight, by the test once the emulator has acted on the request it holds. The run is
then resumed as a user would (``tunekit submit CONFIG`` again, then ``tunekit watch RUN``), and
the harness checks that nothing was lost and nothing was done twice.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunekit.jobs import JobStatus
from tunekit.ledger import Ledger
from tunekit_emulators import Fault
from tunekit_emulators.conformance.zygote import Exit, Zygote

IN_FLIGHT = "in-flight"
"""The crash point that no ledger event marks: the create request was sent and processed, no answer came."""


@dataclass(frozen=True)
class CrashPoint:
    label: str
    """What has happened when the client dies."""
    at: str
    """``TUNEKIT_CRASH_AT`` value, or :data:`IN_FLIGHT`."""


def remote_points(upload_step: str) -> list[CrashPoint]:
    """The crash points of a provider that uploads data and then creates a remote job."""
    return [
        CrashPoint("before upload", "intent:prepare"),
        CrashPoint("upload done, not recorded", f"outcome:{upload_step}"),
        CrashPoint("upload recorded, before create", "intent:create_job:after"),
        CrashPoint("create sent, no answer yet", IN_FLIGHT),
        CrashPoint("create answered, not recorded", "outcome:create_job"),
        CrashPoint("job id kept, outcome not written", "outcome:submit"),
        CrashPoint("job id recorded", "outcome:submit:after"),
    ]


def resource_points(step: str, what: str) -> list[CrashPoint]:
    """The crash points around one more resource created before the job (``step``, e.g. ``create_evaluator``).

    The in-flight point needs the case's ``create_route`` to be that resource's create and ``in_flight_made``
    to count it.
    """
    return [
        CrashPoint(f"{what} intent recorded, before create", f"intent:{step}:after"),
        CrashPoint(f"{what} create sent, no answer yet", IN_FLIGHT),
        CrashPoint(f"{what} created, not recorded", f"outcome:{step}"),
    ]


def local_points() -> list[CrashPoint]:
    """The local provider prepares files and launches a process: no upload, no create request."""
    return [
        CrashPoint("before prepare", "intent:prepare"),
        CrashPoint("prepared, before launch", "intent:submit:after"),
        CrashPoint("launched, outcome not written", "outcome:submit"),
        CrashPoint("job id recorded", "outcome:submit:after"),
    ]


@dataclass
class ProviderCase:
    """How the harness drives one provider against its emulator."""

    provider: str
    emulator: Any
    points: list[CrashPoint]
    env: dict[str, str]
    """Credentials and settings the client reads from the environment (the ledger keeps no secret)."""
    write_config: Callable[[Path], Path]
    remote_jobs: Callable[[str, Path], list[str]]
    """Jobs that carry this run id (given the client's TUNEKIT_HOME)."""
    all_jobs: Callable[[Path], int]
    uploads: Callable[[Path], int]
    """Training data objects stored remotely (files, or dataset commits)."""
    create_route: str | None
    watch_interval: float = 0.02
    prepare_home: Callable[[Path], None] | None = None
    """Sets up a client's fresh TUNEKIT_HOME (e.g. a shared tokenizer cache)."""
    finish: str = "watch"
    """How the resumed run ends: ``watch`` it succeed, or ``cancel`` it (the local provider's training)."""
    in_flight_made: Callable[[Path], int] | None = None
    """What the held create request has made (default: ``all_jobs``): the harness kills the client once it is there."""
    once: dict[str, Callable[[Path], int]] = field(default_factory=dict)
    """Other resources a run makes exactly once (e.g. ``{"evaluators": count}``), checked after the resume."""


@dataclass
class Outcome:
    provider: str
    point: CrashPoint
    killed: str = ""
    recorded_job: bool = False
    remote_jobs: int = 0
    uploads: int = 0
    runs: int = 0
    status: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def row(self) -> list[str]:
        return [
            self.provider,
            self.point.label,
            self.killed,
            "yes" if self.recorded_job else "no",
            str(self.runs),
            str(self.remote_jobs),
            str(self.uploads),
            self.status,
            "ok" if self.ok else "FAIL: " + "; ".join(self.problems),
        ]


HEADER = ["provider", "crash point", "client", "job id kept", "runs", "jobs", "uploads", "final", "outcome"]


def run_case(case: ProviderCase, zygote: Zygote, workdir: Path, base_env: dict[str, str]) -> list[Outcome]:
    return [run_point(case, point, zygote, workdir / _slug(point.label), base_env) for point in case.points]


def run_point(case: ProviderCase, point: CrashPoint, zygote: Zygote, folder: Path, base_env: dict[str, str]) -> Outcome:
    result = Outcome(case.provider, point)
    if case.emulator is not None:
        case.emulator.reset()
    folder.mkdir(parents=True)
    home = folder / "home"
    if case.prepare_home is not None:
        case.prepare_home(home)
    config = case.write_config(folder)
    env = {**base_env, **case.env, "TUNEKIT_HOME": str(home)}
    ledger = Ledger(home / "runs.db")
    try:
        _crash(case, point, zygote, folder, env, config, result)
        runs = ledger.runs()
        if len(runs) != 1:
            result.problems.append(f"the killed client left {len(runs)} runs in the ledger")
            return result
        run_id = runs[0].run_id
        result.recorded_job = "job_id" in runs[0].remote

        again = zygote.run(["submit", str(config), "--yes", "--json"], env=env, cwd=folder, out=folder / "resubmit")
        if again.code != 0:
            result.problems.append(f"submit again: {again.describe()}: {again.stderr.strip()[-300:]}")
            return result
        answer = json.loads(again.stdout)
        if answer["run_id"] != run_id:
            result.problems.append(f"submit again started run {answer['run_id']} instead of resuming {run_id}")
        jobs = case.remote_jobs(run_id, home)  # counted before the run ends: a cancel must not hide a second job
        if case.finish == "watch":
            watch = ["watch", run_id, "--interval", str(case.watch_interval), "--timeout", "120"]
            ended = zygote.run(watch, env=env, cwd=folder, out=folder / "watch", timeout=180)
            expected = JobStatus.SUCCEEDED
        else:
            ended = zygote.run(["cancel", run_id], env=env, cwd=folder, out=folder / "cancel", timeout=180)
            expected = JobStatus.CANCELLED
        if ended.code != 0:
            result.problems.append(f"{case.finish}: {ended.describe()}: {ended.stderr.strip()[-300:]}")

        record = ledger.get(run_id)
        result.runs = len(ledger.runs())
        result.status = record.status.value
        result.remote_jobs = len(jobs)
        result.uploads = case.uploads(home)
        if result.runs != 1:
            result.problems.append(f"{result.runs} runs in the ledger after the resume")
        if len(jobs) != 1 or case.all_jobs(home) != 1:
            result.problems.append(f"{case.all_jobs(home)} jobs, {len(jobs)} of this run")
        elif record.remote.get("job_id") != jobs[0]:
            result.problems.append(f"the ledger follows {record.remote.get('job_id')}, the provider has {jobs[0]}")
        if record.status != expected:
            result.problems.append(f"the run ended {record.status.value}: {record.error}")
        for name, count in case.once.items():
            if (made := count(home)) != 1:
                result.problems.append(f"{made} {name}, not 1")
        submits = [e for e in ledger.events(run_id, kinds=["outcome"]) if e.step == "submit"]
        if len(submits) != 1:
            result.problems.append(f"{len(submits)} submit outcomes in the ledger")
    except Exception as exc:  # a harness error is a failed row, reported with the others
        result.problems.append(f"{type(exc).__name__}: {exc}")
    finally:
        ledger.close()
        if case.emulator is not None:
            case.emulator.clear_faults()
    return result


def _crash(
    case: ProviderCase, point: CrashPoint, zygote: Zygote, folder: Path, env: dict[str, str], config: Path, out: Outcome
) -> None:
    argv = ["-vv", "submit", str(config), "--yes"]
    if point.at != IN_FLIGHT:
        died = zygote.run(argv, env={**env, "TUNEKIT_CRASH_AT": point.at}, cwd=folder, out=folder / "crash")
    else:
        # The service acts on the create request and holds its answer; the client dies waiting.
        assert case.create_route is not None
        case.emulator.inject(case.create_route, Fault.timeout(5.0, after_processing=True), first_n=1)
        pid = zygote.spawn(argv, env=env, cwd=folder, out=folder / "crash")
        deadline, made = time.monotonic() + 120, case.in_flight_made or case.all_jobs
        while not made(Path(env["TUNEKIT_HOME"])) and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(pid, signal.SIGKILL)
        died = zygote.wait(pid)
        case.emulator.clear_faults()
    out.killed = died.describe()
    if not died.killed:
        out.problems.append(f"the client was not killed at {point.at} ({_tail(died)})")


def _tail(died: Exit) -> str:
    return (died.stderr or died.stdout).strip()[-300:]


def _slug(label: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in label).strip("-")


def table(header: list[str], rows: list[list[str]]) -> str:
    """A plain-text table (CI logs have no terminal)."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "+".join("-" * (w + 2) for w in widths)
    out = [" | ".join(str(c).ljust(w) for c, w in zip(header, widths, strict=True)), line]
    out += [" | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(out)
