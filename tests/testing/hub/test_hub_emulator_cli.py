"""``tunekit emulate hub``: the Hub emulator as a standalone server the real HfApi talks to."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import httpx
import pytest
from huggingface_hub import HfApi
from typer.testing import CliRunner

from tunekit.cli.app import app
from tunekit_emulators.hub import loopback_only


@pytest.mark.slow
def test_emulate_hub_serves_hfapi_and_logs_requests() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tunekit.cli", "emulate", "hub", "--port", "0", "--json", "--lifecycle", "manual"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        details = json.loads(process.stdout.readline())
        assert details["service"] == "hub"
        with loopback_only():
            api = HfApi(endpoint=details["endpoint"], token=details["token"])
            assert api.whoami()["name"] == details["namespace"]
            job = api.run_job(image="python:3.12", command=["true"], namespace=details["namespace"])
        control = httpx.Client(base_url=details["control"])
        assert control.post(f"/jobs/{job.id}/advance", json={}).json()["stage"] == "RUNNING"
        assert control.post(f"/jobs/{job.id}/metrics", json={"losses": [1.0, 0.5]}).status_code == 200
        assert control.get("/health").json()["ok"]
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0
    assert "POST /api/jobs/" in stderr and "/api/whoami-v2" in stderr


@pytest.mark.slow
def test_emulate_hub_says_how_to_reach_it_when_offline_variables_are_set() -> None:
    offline = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "COLUMNS": "300"}
    process = subprocess.Popen(
        [sys.executable, "-m", "tunekit.cli", "emulate", "hub", "--port", "0", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=offline,
    )
    try:
        assert process.stdout is not None
        details = json.loads(process.stdout.readline())
        # What the note tells the user to do, in a fresh client process: it reaches the emulator.
        recipe = {**offline, "HF_HUB_OFFLINE": "0", "TRANSFORMERS_OFFLINE": "0", "HF_ENDPOINT": details["endpoint"]}
        script = f"from huggingface_hub import HfApi; print(HfApi(token={details['token']!r}).whoami()['name'])"
        client = subprocess.run([sys.executable, "-c", script], env=recipe, capture_output=True, text=True, timeout=60)
        assert client.stdout.strip() == details["namespace"], client.stderr
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)
    note = " ".join(stderr.split())
    assert "HF_HUB_OFFLINE and TRANSFORMERS_OFFLINE set here" in note
    assert f"HF_HUB_OFFLINE=0 TRANSFORMERS_OFFLINE=0 HF_ENDPOINT={details['endpoint']}" in note


def test_emulate_hub_refuses_options_it_does_not_have() -> None:
    runner = CliRunner()
    bad = runner.invoke(app, ["emulate", "hub", "--latency", "1", "--port", "0"])
    assert bad.exit_code == 2 and "--latency" in bad.output
    wrong = runner.invoke(app, ["emulate", "hub", "--lifecycle", "sometimes", "--port", "0"])
    assert wrong.exit_code == 2 and "lifecycle" in wrong.output
