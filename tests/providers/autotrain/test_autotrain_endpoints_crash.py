"""`tunekit deploy` killed at any step of creating an Inference Endpoint, then run again: exactly one endpoint.

The client dies with SIGKILL (``TUNEKIT_CRASH_AT``) in a real ``tunekit``
process talking to the Hub emulator over HTTP; the second run adopts what the
first created, and `tunekit undeploy` then leaves nothing billing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from autotrain_helpers import TunerFactory

from tunekit.jobs import JobStatus
from tunekit_emulators.hub import HubEmulator

CRASH_POINTS = [
    "outcome:create_endpoint",  # created; the ledger does not know it
    "outcome:create_endpoint:after",  # created and recorded; killed while it starts
    "outcome:deploy",  # running; the ledger has not marked it active
]


def tunekit(*args: str, hub: HubEmulator, crash: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TUNEKIT_CRASH_AT"}
    # Every URL is the loopback emulator's; the in-process guard that lets only those through is not in a child.
    env.update(HF_TOKEN=hub.token, HF_HUB_OFFLINE="0")
    if crash:
        env["TUNEKIT_CRASH_AT"] = crash
    return subprocess.run(
        [sys.executable, "-m", "tunekit.cli", *args], capture_output=True, text=True, timeout=180, env=env
    )


@pytest.mark.slow
@pytest.mark.parametrize("crash", CRASH_POINTS)
def test_killed_while_deploying_then_run_again_gives_one_endpoint(
    crash: str, hub_emulator: HubEmulator, make_tuner: TunerFactory
) -> None:
    tuner = make_tuner(endpoints_api=hub_emulator.endpoints_api, endpoint_poll_interval=0.02, endpoint_wait=30)
    job = tuner.submit()
    for _ in range(3):
        hub_emulator.advance(job.job_id)
    assert job.wait(poll_interval=0.05, timeout=30).status == JobStatus.SUCCEEDED
    args = ("deploy", job.run_id, "--yes", "--name", "recipes")

    killed = tunekit(*args, hub=hub_emulator, crash=crash)
    assert killed.returncode == -9, killed.stderr  # SIGKILL at the crash point
    assert len(hub_emulator.inference_endpoints()) == 1

    done = tunekit(*args, "--json", hub=hub_emulator)
    assert done.returncode == 0, done.stderr
    [endpoint] = hub_emulator.inference_endpoints()
    assert endpoint["name"] == "recipes" and endpoint["status"]["state"] == "running"
    [billing] = json.loads(done.stdout)["billing"]
    assert (billing["name"], billing["state"], billing["hourly_price"]) == ("recipes", "active", 0.8)

    removed = tunekit("undeploy", job.run_id, "--json", hub=hub_emulator)
    assert removed.returncode == 0, removed.stderr
    assert json.loads(removed.stdout)["billing"] == [] and hub_emulator.inference_endpoints() == []
