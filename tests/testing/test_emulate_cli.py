"""``tunekit emulate`` as a standalone server process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import httpx
import openai
import pytest


@pytest.mark.slow
@pytest.mark.parametrize("service", ["openai", "azure", "fireworks"])
def test_emulate_serves_and_logs_requests(service: str) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tunekit.cli", "emulate", service, "--port", "0", "--json", "--lifecycle", "manual"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        details = json.loads(process.stdout.readline())
        assert details["service"] == service
        if service == "fireworks":
            import fireworks

            account = details["account_id"]
            sdk = fireworks.Fireworks(
                base_url=details["base_url"], api_key=details["api_key"], account_id=account, max_retries=0
            )
            assert sdk.models.list().models == []  # no model tuned yet
        else:
            if service == "openai":
                client = openai.OpenAI(base_url=details["base_url"], api_key=details["api_key"], max_retries=0)
            else:
                client = openai.AzureOpenAI(
                    azure_endpoint=details["endpoint"],
                    api_key=details["api_key"],
                    api_version=details["api_version"],
                    max_retries=0,
                )
            assert client.models.list().data
        assert httpx.get(f"{details['control']}/health").json()["ok"]
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0
    assert "/models" in stderr and "200" in stderr


def test_emulate_rejects_unknown_service_and_options() -> None:
    from typer.testing import CliRunner

    from tunekit.cli.app import app

    runner = CliRunner()
    unknown = runner.invoke(app, ["emulate", "nope"])
    assert unknown.exit_code == 2 and "unknown service" in unknown.output
    bad = runner.invoke(app, ["emulate", "openai", "--lifecycle", "sometimes", "--port", "0"])
    assert bad.exit_code == 2 and "lifecycle" in bad.output
