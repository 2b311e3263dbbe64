"""Faults lose nothing and start no second job: lost responses, a killed client, rate limits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from autotrain_helpers import BASE_MODEL, TunerFactory, emulator_options

from tunekit.jobs import JobStatus
from tunekit_emulators import Fault
from tunekit_emulators.hub import HubEmulator

JOBS_POST = "POST /api/jobs/*"


def _commits(hub: HubEmulator, repo: str) -> int:
    return len(hub.api().list_repo_commits(repo, repo_type="dataset"))


def test_a_lost_response_is_not_answered_with_a_second_job(hub_emulator: HubEmulator, make_tuner: TunerFactory) -> None:
    hub_emulator.inject(JOBS_POST, Fault.reset(after_processing=True), first_n=1)
    job = make_tuner().submit()
    assert len(hub_emulator.jobs()) == 1 and hub_emulator.jobs()[0]["id"] == job.job_id
    assert [r.status for r in hub_emulator.requests if r.method == "POST" and r.path.startswith("/api/jobs/")] == [200]
    assert job.wait(poll_interval=0.05, timeout=30).status == JobStatus.SUCCEEDED


def test_a_refused_create_is_sent_again_once(hub_emulator: HubEmulator, make_tuner: TunerFactory) -> None:
    hub_emulator.inject(JOBS_POST, Fault.status(503), first_n=1)
    job = make_tuner().submit()
    assert [j["id"] for j in hub_emulator.jobs()] == [job.job_id]
    posts = [r.status for r in hub_emulator.requests if r.method == "POST" and r.path.startswith("/api/jobs/")]
    assert posts == [503, 200]


def test_rate_limited_polls_wait_and_succeed(hub_emulator: HubEmulator, make_tuner: TunerFactory) -> None:
    job = make_tuner().submit()
    hub_emulator.inject("GET /api/jobs/*/*", Fault.status(429, retry_after=0.05), first_n=2)
    assert job.status().status == JobStatus.SUCCEEDED
    statuses = [r.status for r in hub_emulator.requests if r.path == f"/api/jobs/{hub_emulator.namespace}/{job.job_id}"]
    assert statuses[:3] == [429, 429, 200]


_CHILD = textwrap.dedent(
    """
    import json, sys
    from tunekit_emulators.hub import loopback_only
    from tunekit.tuner import Tuner

    options, data, model = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
    with loopback_only():
        Tuner(provider="autotrain", model=model, data={"train": data}, provider_options=options).submit()
    """
)


@pytest.mark.slow
@pytest.mark.hub_emulator(lifecycle="manual", log_idle_close_s=0.2)
def test_a_killed_client_reattaches_to_its_job(
    hub_emulator: HubEmulator, make_tuner: TunerFactory, chat_data: Path
) -> None:
    # The job is created, but its answer never reaches the client, which is then killed.
    hub_emulator.inject(JOBS_POST, Fault.timeout(8.0, after_processing=True))
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, json.dumps(emulator_options(hub_emulator)), str(chat_data), BASE_MODEL],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 180
        while not hub_emulator.jobs():
            assert child.poll() is None, child.stderr.read().decode() if child.stderr else "child exited"
            assert time.monotonic() < deadline, "the child never launched its job"
            time.sleep(0.1)
    finally:
        child.kill()
        child.wait(timeout=30)
    hub_emulator.clear_faults()
    (launched,) = hub_emulator.jobs()
    dataset = next(r["id"] for r in hub_emulator.repos("dataset"))
    commits = _commits(hub_emulator, dataset)

    tuner = make_tuner()
    job = tuner.submit()  # the same config: the ledger's unfinished run, adopted through list_jobs
    assert job.job_id == launched["id"]
    assert len(hub_emulator.jobs()) == 1 and _commits(hub_emulator, dataset) == commits
    messages = [e.message for e in tuner.ledger.events(job.run_id, kinds=["outcome"])]
    assert f"adopted job {launched['id']}" in messages

    hub_emulator.advance(job.job_id)
    hub_emulator.advance(job.job_id)
    assert job.wait(poll_interval=0.05, timeout=30).status == JobStatus.SUCCEEDED
