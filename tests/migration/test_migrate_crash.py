"""A `tunekit migrate` killed at any step and run again leaves exactly one target job and one certificate."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tunekit import Ledger, Tuner
from tunekit_emulators.openai import OpenAIEmulator

from .conftest import ConfigWriter

CRASH_POINTS = [
    "intent:create_job",
    "outcome:create_job",
    "outcome:submit",
    "outcome:certify",
]


def tunekit(*args: str, crash: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("TUNEKIT_CRASH_AT", None)
    if crash:
        env["TUNEKIT_CRASH_AT"] = crash
    return subprocess.run(
        [sys.executable, "-m", "tunekit.cli", *args], capture_output=True, text=True, timeout=180, env=env
    )


@pytest.mark.slow
@pytest.mark.parametrize("crash", CRASH_POINTS)
def test_killed_anywhere_then_run_again_gives_one_target_job(
    crash: str, openai_emulator: OpenAIEmulator, openai_config: ConfigWriter, tmp_path: Path
) -> None:
    job = Tuner.from_config(openai_config("source")).submit()
    job.wait(poll_interval=0.02)
    target = openai_config("target", model="gpt-4.1-mini-2025-04-14")
    args = ("migrate", job.run_id, "--to", str(target), "--yes", "--poll-interval", "0.02")

    killed = tunekit(*args, crash=crash)
    assert killed.returncode == -9, killed.stderr  # SIGKILL at the crash point
    done = tunekit(*args)
    assert done.returncode == 0, done.stderr
    assert "migrate: on 6 held-out items" in done.stdout

    target_jobs = [j for j in openai_emulator.jobs() if j["model"] == "gpt-4.1-mini-2025-04-14"]
    assert len(target_jobs) == 1
    target_runs = [r for r in Ledger().runs() if r.run_id != job.run_id]
    assert len(target_runs) == 1 and target_runs[0].remote["job_id"] == target_jobs[0]["id"]
