"""A client killed with SIGKILL around the create request: the run re-attaches to its job, never a second one."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from openai_helpers import ConfigFactory
from typer.testing import CliRunner

from tunekit import JobStatus, Ledger
from tunekit.cli.app import app
from tunekit_emulators import Fault
from tunekit_emulators.openai import OpenAIEmulator

pytestmark = pytest.mark.slow

runner = CliRunner()

# A client that SIGKILLs itself when its ledger is about to record the create step's intent (before the
# request) or outcome (after the response): the two edges of the window a crash can fall into.
DIES_AT = textwrap.dedent(
    """
    import os, signal, sys
    from tunekit import Ledger, Tuner

    class DiesAt(Ledger):
        def record(self, run_id, kind, *, step=None, **kwargs):
            if (kind, step) == (sys.argv[2], "create_job"):
                os.kill(os.getpid(), signal.SIGKILL)
            return super().record(run_id, kind, step=step, **kwargs)

    Tuner.from_config(sys.argv[1], ledger=DiesAt()).submit()
    """
)


def _die_at(kind: str, config: Path, tmp_path: Path) -> None:
    """Run submit in a child that SIGKILLs itself when the ledger would record ``kind`` of the create step."""
    script = tmp_path / "dies_at.py"
    script.write_text(DIES_AT)
    child = subprocess.run([sys.executable, str(script), str(config), kind], timeout=120)
    assert child.returncode == -signal.SIGKILL


def _only_run(*, intent: bool = True) -> str:
    [record] = Ledger().runs()
    assert "job_id" not in record.remote, "the killed client must not have recorded the job"
    intents = [e for e in Ledger().events(record.run_id) if e.kind == "intent" and e.step == "create_job"]
    assert bool(intents) == intent
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
    # Dies the moment the provider hands back the created job, before the ledger can keep its id:
    # the service has the job and the client's record does not.
    _die_at("outcome", make_config(openai_emulator), tmp_path)
    assert len(openai_emulator.jobs()) == 1

    _watch_to_the_end(_only_run(), openai_emulator)
    assert openai_emulator.request_count("POST", "/v1/fine_tuning/jobs") == 1


def test_killed_before_the_create_request_submit_starts_one_job(
    openai_emulator: OpenAIEmulator, make_config: ConfigFactory, tmp_path: Path
) -> None:
    config = make_config(openai_emulator)
    _die_at("intent", config, tmp_path)
    assert openai_emulator.jobs() == []
    run_id = _only_run(intent=False)  # the intent was never written: the child died writing it

    status = runner.invoke(app, ["status", run_id, "--json"])
    assert status.exit_code == 0 and '"job_id": null' in status.stdout
    watched = runner.invoke(app, ["watch", run_id])
    assert "no job at the provider" in str(watched.exception)

    again = runner.invoke(app, ["submit", str(config), "--yes", "--json"])
    assert again.exit_code == 0, again.output
    [remote] = openai_emulator.jobs()
    assert run_id in again.output and remote["id"] in again.output
    _watch_to_the_end(run_id, openai_emulator)


def test_killed_while_the_create_request_is_in_flight(
    openai_emulator: OpenAIEmulator, make_config: ConfigFactory
) -> None:
    # The service creates the job and holds the response; the client dies waiting for it.
    openai_emulator.inject("POST /v1/fine_tuning/jobs", Fault.timeout(4.0, after_processing=True), first_n=1)
    config = make_config(openai_emulator, provider_options={"timeout": 60})
    child = subprocess.Popen([sys.executable, "-m", "tunekit.cli", "submit", str(config), "--yes"])
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
    again = runner.invoke(app, ["submit", str(config), "--yes", "--json"])
    assert again.exit_code == 0, again.output
    [remote] = openai_emulator.jobs()
    assert remote["id"] in again.output and run_id in again.output
    _watch_to_the_end(run_id, openai_emulator)
