"""Fault soak: many runs through the emulators while every route fails a fifth of the time.

Runs are spread over the OpenAI, Azure OpenAI and AutoTrain (Hugging Face Hub) emulators and driven
``--concurrency`` at a time, each by its own ``Tuner`` sharing one ledger, as parallel users of one
machine would. Every route of every emulator answers a share of requests (``--fault-rate``) with an
injected fault: 429 with Retry-After, 500/502/503, a response held past the client's timeout after
the service acted, and a connection dropped before or after the service acted. A run whose call
still fails after tunekit's bounded retries is resumed the way a user would: ``submit`` again (it
picks up the unfinished run of the same config) or ``wait`` again.

Checked at the end: every run reached a terminal state (succeeded), no run has a second remote job,
every ledger row is there and follows the job the provider has. Printed: the faulted run side by side
with the same runs without faults (the baseline), and their ratio.

Full size (the default): ``python benchmarks/fault_soak.py`` (200 runs, 20% faults, 8 at a time).
``tests/reliability/test_fault_soak.py`` runs a reduced size in CI.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROVIDERS = ("openai", "azure", "autotrain")
CLIENT_TIMEOUT = 1.0
"""Seconds a client waits for one response; held responses outlast it."""
HOLD = 1.6
MAX_RESUMES = 25
"""Times a run is resumed after an error surfaced, before the soak calls it lost."""

# What a fault is, and its share of the faults.
FAULT_MIX: list[tuple[str, float]] = [
    ("429", 0.25),
    ("500", 0.10),
    ("502", 0.05),
    ("503", 0.10),
    ("timeout", 0.25),
    ("reset", 0.125),
    ("reset after processing", 0.125),
]


def _fault(kind: str) -> Any:
    from tunekit_emulators import Fault

    if kind == "429":
        return Fault.status(429, retry_after=0.01)
    if kind in ("500", "502", "503"):
        return Fault.status(int(kind))
    if kind == "timeout":
        return Fault.timeout(HOLD, after_processing=True)
    return Fault.reset(after_processing=kind.endswith("processing"))


def inject_faults(emulator: Any, rate: float) -> list[tuple[str, Any]]:
    """Faults on every route of ``emulator``: each request fails with probability ``rate`` in all.

    The injector tries the rules in order and the first that fires wins, so each rule's probability
    is its share of what the earlier rules left.
    """
    rules = []
    left = 1.0
    for kind, share in FAULT_MIX:
        if rate <= 0:
            break
        probability = min(1.0, rate * share / left)
        rules.append((kind, emulator.inject("*", _fault(kind), probability=probability)))
        left -= rate * share
    return rules


@dataclass
class RunOutcome:
    index: int
    provider: str
    run_id: str | None = None
    status: str | None = None
    resumes: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    unexpected: str | None = None
    seconds: float = 0.0


@dataclass
class SoakReport:
    runs: int
    fault_rate: float
    concurrency: int
    seconds: float
    outcomes: list[RunOutcome]
    requests: dict[str, int]
    faults: dict[str, Counter[str]]
    ledger_runs: int
    remote_jobs: dict[str, int]
    duplicate_jobs: list[str]
    lost_rows: list[str]
    mismatched: list[str]
    duplicate_uploads: int
    submit_outcomes_not_one: list[str]

    @property
    def terminal(self) -> int:
        return sum(o.status in ("succeeded", "failed", "cancelled") for o in self.outcomes)

    @property
    def succeeded(self) -> int:
        return sum(o.status == "succeeded" for o in self.outcomes)

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    @property
    def total_faults(self) -> int:
        return sum(sum(c.values()) for c in self.faults.values())

    @property
    def resumes(self) -> int:
        return sum(o.resumes for o in self.outcomes)

    @property
    def unexpected(self) -> list[str]:
        return [f"run {o.index}: {o.unexpected}" for o in self.outcomes if o.unexpected]

    def problems(self) -> list[str]:
        """Everything that breaks the soak's promises; empty when it held."""
        found = []
        if self.terminal != self.runs:
            stuck = [f"{o.index}:{o.provider}:{o.status}" for o in self.outcomes if o.status != "succeeded"]
            found.append(f"{self.runs - self.terminal} runs did not reach a terminal state ({', '.join(stuck[:10])})")
        if self.succeeded != self.runs:
            found.append(f"{self.runs - self.succeeded} runs did not succeed")
        if self.duplicate_jobs:
            found.append(f"duplicate jobs: {', '.join(self.duplicate_jobs[:10])}")
        if sum(self.remote_jobs.values()) != self.runs:
            found.append(f"{sum(self.remote_jobs.values())} remote jobs for {self.runs} runs")
        if self.ledger_runs != self.runs or self.lost_rows:
            found.append(f"{self.ledger_runs} ledger rows for {self.runs} runs; lost: {', '.join(self.lost_rows[:10])}")
        if self.mismatched:
            found.append(f"ledger follows another job than the provider has: {', '.join(self.mismatched[:10])}")
        if self.submit_outcomes_not_one:
            found.append(f"runs without exactly one submit outcome: {', '.join(self.submit_outcomes_not_one[:10])}")
        found.extend(self.unexpected[:10])
        return found

    def figures(self) -> dict[str, Any]:
        errors: Counter[str] = Counter()
        for o in self.outcomes:
            errors.update(o.errors)
        return {
            "runs": self.runs,
            "concurrency": self.concurrency,
            "fault rate (set)": f"{self.fault_rate:.0%}",
            "requests": self.total_requests,
            "faults injected": self.total_faults,
            "fault rate (seen)": f"{self.total_faults / max(1, self.total_requests):.1%}",
            **{f"  {kind}": n for kind, n in sorted(_merge(self.faults).items())},
            "errors surfaced after retries": sum(errors.values()),
            **{f"  {name}": n for name, n in sorted(errors.items())},
            "runs resumed (submit/wait again)": sum(o.resumes > 0 for o in self.outcomes),
            "resumes": self.resumes,
            "terminal runs": self.terminal,
            "succeeded runs": self.succeeded,
            "remote jobs": sum(self.remote_jobs.values()),
            "duplicate jobs": len(self.duplicate_jobs),
            "ledger rows": self.ledger_runs,
            "lost ledger rows": len(self.lost_rows),
            "duplicate uploads": self.duplicate_uploads,
            "seconds": round(self.seconds, 1),
            "runs/s": round(self.runs / self.seconds, 2) if self.seconds else 0.0,
            "p95 run seconds": round(_percentile([o.seconds for o in self.outcomes], 0.95), 2),
        }


def _merge(faults: dict[str, Counter[str]]) -> Counter[str]:
    total: Counter[str] = Counter()
    for counts in faults.values():
        total.update(counts)
    return total


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# -- the emulators ---------------------------------------------------------------------------------


@dataclass
class Target:
    """One emulator and how a run talks to it."""

    provider: str
    emulator: Any
    model: str
    options: dict[str, Any]
    env: dict[str, str]
    jobs_by_run: Callable[[], dict[str, list[str]]]
    uploads: Callable[[], int]


@contextmanager
def emulators(seed: int = 0) -> Iterator[dict[str, Target]]:
    from tunekit_autotrain.backends import RUN_ID_ENV
    from tunekit_emulators.azure import AzureOpenAIEmulator
    from tunekit_emulators.hub import HubEmulator, loopback_only
    from tunekit_emulators.openai import OpenAIEmulator
    from tunekit_openai.params import RUN_ID_KEY

    fast = {"poll_interval": 0.02, "retry_max_wait": 0.05}
    with ExitStack() as stack:
        openai = stack.enter_context(OpenAIEmulator(seed=seed))
        azure = stack.enter_context(AzureOpenAIEmulator(seed=seed))
        hub = stack.enter_context(HubEmulator(seed=seed, log_idle_close_s=0.2))
        stack.enter_context(loopback_only(timeout=CLIENT_TIMEOUT))

        def openai_jobs(emu: Any) -> Callable[[], dict[str, list[str]]]:
            def jobs() -> dict[str, list[str]]:
                found: dict[str, list[str]] = {}
                for job in emu.jobs():
                    found.setdefault((job.get("metadata") or {}).get(RUN_ID_KEY, "?"), []).append(job["id"])
                return found

            return jobs

        def hub_jobs() -> dict[str, list[str]]:
            found: dict[str, list[str]] = {}
            for job in hub.jobs():
                found.setdefault((job.get("environment") or {}).get(RUN_ID_ENV, "?"), []).append(job["id"])
            return found

        def training_files(emu: Any) -> Callable[[], int]:
            return lambda: sum(f["purpose"] == "fine-tune" for f in emu.files())

        def data_commits() -> int:
            api = hub.api()
            return sum(len(api.list_repo_commits(r["id"], repo_type="dataset")) - 1 for r in hub.repos("dataset"))

        openai_options = {"base_url": openai.base_url, "timeout": CLIENT_TIMEOUT, "file_poll_interval": 0.01, **fast}
        azure_options = {
            "endpoint": azure.endpoint,
            "api_version": azure.api_version,
            "timeout": CLIENT_TIMEOUT,
            "file_poll_interval": 0.01,
            **fast,
        }
        yield {
            "openai": Target(
                "openai",
                openai,
                "gpt-4o-mini-2024-07-18",
                openai_options,
                {"OPENAI_API_KEY": openai.api_key},
                openai_jobs(openai),
                training_files(openai),
            ),
            "azure": Target(
                "azure",
                azure,
                "gpt-4.1-mini-2025-04-14",
                azure_options,
                {"AZURE_OPENAI_API_KEY": azure.api_key},
                openai_jobs(azure),
                training_files(azure),
            ),
            "autotrain": Target(
                "autotrain",
                hub,
                "HuggingFaceTB/SmolLM2-135M-Instruct",
                {"endpoint": hub.endpoint, **fast},
                {"HF_TOKEN": hub.token},
                hub_jobs,
                data_commits,
            ),
        }


# -- one run ---------------------------------------------------------------------------------------


def _write_data(folder: Path, index: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "train.jsonl"
    rows = [
        {
            "messages": [
                {"role": "system", "content": "You name capitals."},
                {"role": "user", "content": f"Run {index}: what is the capital of country {i}?"},
                {"role": "assistant", "content": f"The capital of country {i} is City{i}-{index}."},
            ]
        }
        for i in range(12)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def drive_run(index: int, target: Target, ledger: Any, workdir: Path) -> RunOutcome:
    """Submit, wait and fetch the result of one run, resuming as a user would when an error surfaces."""
    from tunekit.errors import ProviderError, TunekitError
    from tunekit.tuner import Tuner

    outcome = RunOutcome(index, target.provider)
    start = time.perf_counter()
    data = _write_data(workdir / f"run-{index:04d}", index)
    tuner = Tuner(
        provider=target.provider,
        model=target.model,
        data={"train": str(data)},
        metadata={"soak_run": str(index)},
        provider_options=target.options,
        ledger=ledger,
    )
    job = None
    while outcome.resumes <= MAX_RESUMES:
        try:
            if job is None:
                job = tuner.submit()
                outcome.run_id = job.run_id
            state = job.wait(poll_interval=0.02, timeout=120)
            outcome.status = state.status.value
            if state.status.value == "succeeded":
                job.result()
            break
        except ProviderError as exc:
            # Still failing after tunekit's own bounded retries: the user runs the command again.
            outcome.errors[type(exc).__name__] += 1
            outcome.resumes += 1
            if job is None:
                continue
        except TunekitError as exc:
            outcome.unexpected = f"{type(exc).__name__}: {exc}"
            break
        except Exception as exc:  # anything else escaping tunekit is a bug the soak reports
            outcome.unexpected = f"{type(exc).__name__} (not a tunekit error): {exc}"
            break
    outcome.seconds = time.perf_counter() - start
    return outcome


# -- the soak --------------------------------------------------------------------------------------


def run_soak(
    runs: int = 200,
    *,
    fault_rate: float = 0.2,
    concurrency: int = 8,
    providers: tuple[str, ...] = PROVIDERS,
    seed: int = 0,
    workdir: Path | None = None,
) -> SoakReport:
    """Drive ``runs`` runs ``concurrency`` at a time through the emulators with ``fault_rate`` faults."""
    from tunekit.ledger import Ledger

    with ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tunekit-soak-")))
        targets = stack.enter_context(emulators(seed))
        stack.enter_context(_environment({k: v for t in targets.values() for k, v in t.env.items()}))
        rules = {name: inject_faults(targets[name].emulator, fault_rate) for name in providers}
        ledger = Ledger(workdir / "home" / "runs.db")
        plan = [(i, targets[providers[i % len(providers)]]) for i in range(runs)]
        start = time.perf_counter()
        with ThreadPoolExecutor(concurrency, thread_name_prefix="soak") as pool:
            outcomes = list(pool.map(lambda item: drive_run(item[0], item[1], ledger, workdir), plan))
        seconds = time.perf_counter() - start
        for name in providers:
            targets[name].emulator.clear_faults()
        return _audit(runs, fault_rate, concurrency, seconds, outcomes, targets, providers, rules, ledger)


def _audit(
    runs: int,
    fault_rate: float,
    concurrency: int,
    seconds: float,
    outcomes: list[RunOutcome],
    targets: dict[str, Target],
    providers: tuple[str, ...],
    rules: dict[str, list[tuple[str, Any]]],
    ledger: Any,
) -> SoakReport:
    records = {r.run_id: r for r in ledger.runs()}
    remote: dict[str, dict[str, list[str]]] = {name: targets[name].jobs_by_run() for name in providers}
    duplicates, lost, mismatched, not_one = [], [], [], []
    for name in providers:
        for run_id, ids in remote[name].items():
            if len(ids) > 1:
                duplicates.append(f"{run_id}: {', '.join(ids)}")
    for o in outcomes:
        record = records.get(o.run_id or "")
        if record is None:
            lost.append(f"run {o.index} ({o.run_id})")
            continue
        o.status = record.status.value
        ids = remote[o.provider].get(record.run_id, [])
        if ids and record.remote.get("job_id") != ids[0]:
            mismatched.append(f"{record.run_id}: ledger {record.remote.get('job_id')}, provider {ids[0]}")
        submits = [e for e in ledger.events(record.run_id, kinds=["outcome"]) if e.step == "submit"]
        if len(submits) != 1:
            not_one.append(f"{record.run_id} ({len(submits)})")
    faults: dict[str, Counter[str]] = {}
    requests: dict[str, int] = {}
    for name, provider_rules in rules.items():
        faults[name] = Counter({kind: rule.fired for kind, rule in provider_rules})
        requests[name] = provider_rules[0][1].seen if provider_rules else len(targets[name].emulator.requests)
    uploads = sum(targets[name].uploads() for name in providers)
    return SoakReport(
        runs=runs,
        fault_rate=fault_rate,
        concurrency=concurrency,
        seconds=seconds,
        outcomes=outcomes,
        requests=requests,
        faults=faults,
        ledger_runs=len(records),
        remote_jobs={name: sum(len(ids) for ids in remote[name].values()) for name in providers},
        duplicate_jobs=duplicates,
        lost_rows=lost,
        mismatched=mismatched,
        duplicate_uploads=max(0, uploads - runs),
        submit_outcomes_not_one=not_one,
    )


_env_lock = threading.Lock()


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Credentials in the environment, where a resumed run reads them (the ledger keeps none)."""
    with _env_lock:
        saved = {k: os.environ.get(k) for k in values}
        os.environ.update(values)
    try:
        yield
    finally:
        with _env_lock:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def side_by_side(baseline: SoakReport | None, faulted: SoakReport) -> str:
    """The figures of the faulted soak, beside the baseline's and their ratio where both are numbers."""
    rows = []
    base = baseline.figures() if baseline is not None else {}
    for key, value in faulted.figures().items():
        before = base.get(key, "")
        ratio = ""
        if isinstance(value, (int, float)) and isinstance(before, (int, float)) and before:
            ratio = f"{value / before:.2f}x"
        rows.append((key, str(before), str(value), ratio))
    header = ("figure", "no faults" if baseline is not None else "", f"{faulted.fault_rate:.0%} faults", "ratio")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    lines = [
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        for r in [header, *rows]
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-baseline", action="store_true", help="Skip the run without faults.")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory(prefix="tunekit-soak-") as folder:
        os.environ["TUNEKIT_HOME"] = str(Path(folder) / "home")
        # A few runs first, so imports and vocabulary loading do not land on whichever pass goes first.
        run_soak(6, fault_rate=0.0, concurrency=args.concurrency, seed=args.seed, workdir=Path(folder) / "warm-up")
        baseline = None
        if not args.no_baseline:
            baseline = run_soak(
                args.runs,
                fault_rate=0.0,
                concurrency=args.concurrency,
                seed=args.seed,
                workdir=Path(folder) / "baseline",
            )
        faulted = run_soak(
            args.runs,
            fault_rate=args.fault_rate,
            concurrency=args.concurrency,
            seed=args.seed,
            workdir=Path(folder) / "faulted",
        )
    print(f"fault soak: {args.runs} runs over {', '.join(PROVIDERS)}, {args.concurrency} at a time")
    print(side_by_side(baseline, faulted))
    problems = faulted.problems() + (baseline.problems() if baseline is not None else [])
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print("held: every run terminal, no duplicate job, no lost ledger row" if not problems else "MISSED")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
