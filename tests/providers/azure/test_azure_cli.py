"""`tunekit deploy RUN` and `tunekit undeploy RUN` on the Azure emulator; secrets come back from the environment."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import pytest
from typer.testing import CliRunner

from tunekit import Tuner
from tunekit.cli.app import app, main
from tunekit.config import TuneConfig
from tunekit.jobs import JobStatus

runner = CliRunner()


@pytest.fixture
def trained_run(azure_emulator: Any, make_config: Callable[..., TuneConfig], monkeypatch: pytest.MonkeyPatch) -> str:
    """A succeeded run; the ledger keeps no secret, so the commands read them from the environment."""
    job = Tuner(make_config()).submit()
    assert job.wait(poll_interval=0.02, timeout=30).status is JobStatus.SUCCEEDED
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", azure_emulator.api_key)
    monkeypatch.setenv("AZURE_ARM_TOKEN", azure_emulator.issue_token())
    return job.run_id


def test_deploy_and_undeploy_commands(azure_emulator: Any, trained_run: str) -> None:
    deployed = runner.invoke(
        app, ["deploy", trained_run, "--yes", "--name", "cli-bot", "--sku", "globalstandard", "--capacity", "2"]
    )
    assert deployed.exit_code == 0, deployed.output
    assert "deployed" in deployed.stdout and "cli-bot" in deployed.stdout
    assert "billed by the hour" in deployed.stderr and f"tunekit undeploy {trained_run}" in deployed.stderr
    [view] = azure_emulator.deployments()
    assert (view["name"], view["sku"]) == ("cli-bot", {"name": "GlobalStandard", "capacity": 2})

    shown = json.loads(runner.invoke(app, ["show", trained_run, "--json"]).stdout)
    assert shown["result"]["deployment"] == "cli-bot"

    removed = runner.invoke(app, ["undeploy", trained_run, "--json"])
    assert removed.exit_code == 0, removed.output
    assert json.loads(removed.stdout) == {"run_id": trained_run, "deleted": ["cli-bot"], "billing": []}
    assert azure_emulator.deployments() == []
    again = runner.invoke(app, ["undeploy", trained_run])
    assert again.exit_code == 0 and "has no deployment" in again.stdout


def test_deploy_uses_the_config_s_deploy_section(azure_emulator: Any, trained_run: str) -> None:
    result = runner.invoke(app, ["deploy", trained_run, "--yes", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["deployment"] == "recipes-bot"
    assert azure_emulator.deployments()[0]["sku"] == {"name": "Standard", "capacity": 1}


def run_main(args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["tunekit", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    return int(exited.value.code or 0), capsys.readouterr().err


def test_a_taken_name_is_one_clear_line(
    azure_emulator: Any, trained_run: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    azure_emulator.deploy("taken", "gpt-4o")
    code, err = run_main(["deploy", trained_run, "--yes", "--name", "taken"], monkeypatch, capsys)
    assert code == 1
    assert "'taken' is taken" in err and "gpt-4o" in err and "--name" in err
    assert "Traceback" not in err


def test_an_expired_token_is_one_clear_line(
    azure_emulator: Any, trained_run: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    expired = azure_emulator.issue_token(expires_in=-1)
    monkeypatch.setenv("AZURE_ARM_TOKEN", expired)
    code, err = run_main(["deploy", trained_run, "--yes"], monkeypatch, capsys)
    assert code == 1
    assert "Resource Manager token expired" in err and "AZURE_ARM_TOKEN" in err
    assert expired not in err
