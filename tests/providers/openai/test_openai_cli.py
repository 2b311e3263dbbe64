"""The provider-neutral job commands, fulfilled by the OpenAI provider against the emulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openai_helpers import ConfigFactory
from typer.testing import CliRunner

from tunekit import Ledger
from tunekit.cli.app import app
from tunekit.cli.output import EXIT_JOB_FAILED
from tunekit_emulators import Fault
from tunekit_emulators.openai import OpenAIEmulator

runner = CliRunner()
manual = pytest.mark.openai_emulator(lifecycle="manual")


def _submit(config: Path) -> tuple[str, str]:
    result = runner.invoke(app, ["submit", str(config), "--yes", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    return data["run_id"], data["job_id"]


@pytest.mark.openai_emulator(lifecycle="timed", step_seconds=0.3)
def test_submit_watch_result(openai_emulator: OpenAIEmulator, make_config: ConfigFactory) -> None:
    run_id, job_id = _submit(make_config(openai_emulator))
    assert [j["id"] for j in openai_emulator.jobs()] == [job_id]

    watched = runner.invoke(app, ["watch", run_id, "--interval", "0.05"])
    assert watched.exit_code == 0, watched.output
    assert "Fine-tuning job started" in watched.output
    assert "succeeded" in watched.output and "loss 0." in watched.output
    metrics = [e for e in openai_emulator.events(job_id) if e.get("type") == "metrics"]
    last = metrics[-1]["data"]
    assert f"step {last['step']}/{last['total_steps']}" in watched.output  # the bar reached the last step

    status = json.loads(runner.invoke(app, ["status", run_id, "--json"]).stdout)
    assert (status["status"], status["job_id"], status["progress"]) == ("succeeded", job_id, 1.0)

    result = json.loads(runner.invoke(app, ["result", run_id, "--json"]).stdout)
    assert result["model_id"] == openai_emulator.job(job_id)["fine_tuned_model"]
    assert Path(result["metadata"]["loss_curve"]).is_file()
    assert Ledger().get(run_id).result is not None

    # Submitting the same job again shows the finished run: nothing is trained or billed twice.
    again = runner.invoke(app, ["submit", str(make_config(openai_emulator)), "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == {"run_id": run_id, "job_id": job_id, "status": "succeeded", "reused": True}
    assert len(openai_emulator.jobs()) == 1
    fresh = runner.invoke(app, ["submit", str(make_config(openai_emulator)), "--new", "--yes", "--json"])
    assert json.loads(fresh.stdout)["run_id"] != run_id  # --new trains again, on purpose
    assert len(openai_emulator.jobs()) == 2


@manual
def test_cancel_pause_resume_commands(openai_emulator: OpenAIEmulator, make_config: ConfigFactory) -> None:
    run_id, job_id = _submit(make_config(openai_emulator))
    openai_emulator.advance(job_id, to="running")

    paused = runner.invoke(app, ["pause", run_id])
    assert paused.exit_code == 0 and "paused" in paused.stdout
    assert openai_emulator.job(job_id)["status"] == "paused"

    resumed = runner.invoke(app, ["resume", run_id])
    status = openai_emulator.job(job_id)["status"]
    assert resumed.exit_code == 0 and status in ("queued", "running") and status in resumed.stdout

    cancelled = runner.invoke(app, ["cancel", run_id])
    assert cancelled.exit_code == 0 and "cancelled" in cancelled.stdout
    watched = runner.invoke(app, ["watch", run_id, "--interval", "0.01"])
    assert watched.exit_code == EXIT_JOB_FAILED and "cancelled" in watched.output


@manual
def test_watch_of_a_failed_job_prints_the_reason(openai_emulator: OpenAIEmulator, make_config: ConfigFactory) -> None:
    run_id, job_id = _submit(make_config(openai_emulator))
    openai_emulator.fail_job(job_id, message="Line 3: assistant message is empty.", param="training_file")
    watched = runner.invoke(app, ["watch", run_id, "--interval", "0.01"])
    assert watched.exit_code == EXIT_JOB_FAILED
    assert "Line 3: assistant message is empty." in watched.output
    status = json.loads(runner.invoke(app, ["status", run_id, "--json"]).stdout)
    assert status["status"] == "failed" and "Line 3" in status["message"]


def test_watch_rides_out_an_outage_longer_than_one_calls_retries(
    openai_emulator: OpenAIEmulator, make_config: ConfigFactory
) -> None:
    run_id, job_id = _submit(make_config(openai_emulator, provider_options={"max_retries": 1}))
    # 6 failures in a row: each poll gives up after 2 attempts, the watch keeps going.
    openai_emulator.inject("GET /v1/fine_tuning/jobs/*", Fault.status(503), first_n=6)
    watched = runner.invoke(app, ["watch", run_id, "--interval", "0.01"])
    assert watched.exit_code == 0, watched.output
    assert "polling failed" in watched.output and "succeeded" in watched.output
    assert [j["id"] for j in openai_emulator.jobs()] == [job_id]


def test_checkpoints_command_and_taking_one(openai_emulator: OpenAIEmulator, make_config: ConfigFactory) -> None:
    run_id, _ = _submit(make_config(openai_emulator))
    assert runner.invoke(app, ["watch", run_id, "--interval", "0.01"]).exit_code == 0
    listed = json.loads(runner.invoke(app, ["checkpoints", run_id, "--json"]).stdout)
    assert listed and all(c["model_id"].startswith("ft:") for c in listed)
    chosen = listed[0]
    taken = json.loads(runner.invoke(app, ["result", run_id, "--checkpoint", str(chosen["step"]), "--json"]).stdout)
    assert (taken["model_id"], taken["checkpoint"]) == (chosen["model_id"], chosen["id"])
    assert Ledger().get(run_id).result["model_id"] == chosen["model_id"]  # type: ignore[index]
