"""A client killed with SIGKILL around the create request: the run re-attaches to its job, never a second one."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import ConfigFactory
from typer.testing import CliRunner

from tunekit import JobStatus, Ledger
from tunekit.cli.app import app
from tunekit.testing import Fault
from tunekit.testing.openai import OpenAIEmulator

pytestmark = pytest.mark.slow

runner = CliRunner()

# Dies the moment the provider hands back the created job, before the ledger can keep its id:
# the worst moment, since the service has the job and the client's record does not.
DIES_AFTER_CREATE = textwrap.dedent(
    """
    import os, signal, sys
    from tunekit import Ledger, Tuner

    class DiesAfterCreate(Ledger):
        def record(self, run_id, kind, *, step=None, **kwargs):
            if kind == "outcome" and step == "create_job":
                os.kill(os.getpid(), signal.SIGKILL)
            return super().record(run_id, kind, step=step, **kwargs)

    Tuner.from_config(sys.argv[1], ledger=DiesAfterCreate()).submit()
    """
)


def _only_run() -> str:
    [record] = Ledger().runs()
    assert "job_id" not in record.remote, "the killed client must not have recorded the job"
    assert any(e.kind == "intent" and e.step == "create_job" for e in Ledger().events(record.run_id))
    return record.run_id


def _watch_to_the_end(run_id: str, emu: OpenAIEmulator) -> None:
    result = runner.invoke(app, ["watch", run_id, "--interval", "0.01", "--timeout", "60"])
    assert result.exit_code == 0, result.output
    [remote] = emu.jobs()
    record = Ledger().get(run_id)
    assert record.remote["job_id"] == remote["id"]
    assert record.status == JobStatus.SUCCEEDED
    assert "succeeded" in result.output


def test_killed_after_the_create_response_watch_reattaches(
    openai_emulator: OpenAIEmulator, make_config: ConfigFactory, tmp_path: Path
) -> None:
    script = tmp_path / "dies_after_create.py"
    script.write_text(DIES_AFTER_CREATE)
    child = subprocess.run([sys.executable, str(script), str(make_config(openai_emulator))], timeout=120)
    assert child.returncode == -signal.SIGKILL
    assert len(openai_emulator.jobs()) == 1

    _watch_to_the_end(_only_run(), openai_emulator)
    assert openai_emulator.request_count("POST", "/v1/fine_tuning/jobs") == 1


def test_killed_while_the_create_request_is_in_flight(
    openai_emulator: OpenAIEmulator, make_config: ConfigFactory
) -> None:
    # The service creates the job and holds the response; the client dies waiting for it.
    openai_emulator.inject("POST /v1/fine_tuning/jobs", Fault.timeout(4.0, after_processing=True), first_n=1)
    config = make_config(openai_emulator, provider_options={"timeout": 60})
    child = subprocess.Popen([sys.executable, "-m", "tunekit.cli", "submit", str(config)])
    try:
        deadline = time.monotonic() + 120
        while not openai_emulator.jobs():
            assert child.poll() is None, "the client ended before sending the create request"
            assert time.monotonic() < deadline
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    run_id = _only_run()

    # Submitting the same config again resumes the run and adopts the job the dead client started.
    again = runner.invoke(app, ["submit", str(config), "--json"])
    assert again.exit_code == 0, again.output
    [remote] = openai_emulator.jobs()
    assert remote["id"] in again.output and run_id in again.output
    _watch_to_the_end(run_id, openai_emulator)
