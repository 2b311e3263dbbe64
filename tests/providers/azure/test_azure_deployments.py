"""Every deployment a run makes is recorded, listed and deleted: none is left billing unknown to tunekit.

Against the Azure emulator's Resource Manager routes, driven through httpx by the provider, and the CLI.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from typer.testing import CliRunner

from tunekit import Tuner
from tunekit.cli.app import app
from tunekit.config import DeployConfig, TuneConfig
from tunekit.errors import ConfigError, ConflictError, UnsupportedOperationError
from tunekit.ledger import Ledger
from tunekit.states import JobStatus

runner = CliRunner()


@pytest.fixture
def trained(azure_emulator: Any, make_config: Callable[..., TuneConfig], monkeypatch: pytest.MonkeyPatch) -> Tuner:
    tuner = Tuner(make_config())
    assert tuner.submit().wait(poll_interval=0.02, timeout=30).status is JobStatus.SUCCEEDED
    # The CLI rebuilds the tuner from the ledger, which keeps no secret: they come from the environment.
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", azure_emulator.api_key)
    monkeypatch.setenv("AZURE_ARM_TOKEN", azure_emulator.issue_token())
    return tuner


def _run_id(tuner: Tuner) -> str:
    return Ledger().runs()[0].run_id


def _names(emulator: Any) -> list[str]:
    return sorted(d["name"] for d in emulator.deployments())


def test_a_second_deployment_does_not_hide_the_first(azure_emulator: Any, trained: Tuner) -> None:
    run_id = _run_id(trained)
    trained.deploy(run_id)  # the config's deploy section: recipes-bot, Standard
    trained.deploy(run_id, DeployConfig(name="other", sku="GlobalStandard", capacity=2))
    assert _names(azure_emulator) == ["other", "recipes-bot"]

    billing = trained.deployments(run_id, billing=True)
    assert [(d.name, d.sku, d.capacity, d.state) for d in billing] == [
        ("recipes-bot", "Standard", 1, "active"),
        ("other", "GlobalStandard", 2, "active"),
    ]
    assert all(d.billing_since is not None and d.hourly_price is not None for d in billing)

    # One by name: the other one is still there, and still billing as far as the ledger knows.
    assert [d.name for d in trained.undeploy(run_id, name="other")] == ["other"]
    assert _names(azure_emulator) == ["recipes-bot"]
    assert [d.name for d in trained.deployments(run_id, billing=True)] == ["recipes-bot"]
    assert trained.job(run_id).result().deployment == "recipes-bot"  # the result names one that exists

    # Without a name: every one left.
    assert [d.name for d in trained.undeploy(run_id)] == ["recipes-bot"]
    assert azure_emulator.deployments() == [] and trained.deployments(run_id, billing=True) == []
    assert trained.job(run_id).result().deployment is None
    with pytest.raises(ConfigError, match="no deployment 'other'"):
        trained.undeploy(run_id, name="other")


def test_a_refused_name_is_not_recorded_and_never_deleted(azure_emulator: Any, trained: Tuner) -> None:
    run_id = _run_id(trained)
    azure_emulator.deploy("taken", "gpt-4o")  # someone else's deployment
    with pytest.raises(ConflictError):
        trained.deploy(run_id, DeployConfig(name="taken"))
    assert trained.deployments(run_id) == []
    assert trained.undeploy(run_id) == []
    assert _names(azure_emulator) == ["taken"]


def test_cli_deploy_show_and_undeploy_say_what_bills(azure_emulator: Any, trained: Tuner) -> None:
    run_id = _run_id(trained)
    assert runner.invoke(app, ["deploy", run_id, "--yes"]).exit_code == 0
    second = runner.invoke(app, ["deploy", run_id, "--yes", "--name", "other", "--sku", "developer"])
    assert second.exit_code == 0, second.output
    assert "2 deployments that bill" in second.stdout and "recipes-bot" in second.stdout

    shown = runner.invoke(app, ["show", run_id], env={"COLUMNS": "160"})
    assert "recipes-bot" in shown.stdout and "other" in shown.stdout
    assert "Standard x1" in shown.stdout and "DeveloperTier x1" in shown.stdout
    assert f"{time.gmtime().tm_year}-" in shown.stdout and "UTC" in shown.stdout  # since when each bills
    as_json = json.loads(runner.invoke(app, ["show", run_id, "--json"]).stdout)
    assert [(d["name"], d["sku"], d["state"]) for d in as_json["deployments"]] == [
        ("recipes-bot", "Standard", "active"),
        ("other", "DeveloperTier", "active"),
    ]
    assert all(d["billing_since"] for d in as_json["deployments"])

    one = runner.invoke(app, ["undeploy", run_id, "--name", "other"], env={"COLUMNS": "160"})
    assert one.exit_code == 0, one.output
    assert "deleted deployment other" in one.stdout
    assert "still billing" in one.stdout and "recipes-bot" in one.stdout
    assert _names(azure_emulator) == ["recipes-bot"]

    rest = runner.invoke(app, ["undeploy", run_id, "--json"])
    assert json.loads(rest.stdout) == {"run_id": run_id, "deleted": ["recipes-bot"], "billing": []}
    assert azure_emulator.deployments() == []
    again = runner.invoke(app, ["undeploy", run_id])
    assert again.exit_code == 0 and "has no deployment" in again.stdout


def test_check_comes_before_any_network_call(make_config: Callable[..., TuneConfig]) -> None:
    """A 65-character suffix is refused at once, not reported as a network error after the retries."""
    options = {"endpoint": "http://127.0.0.1:9", "max_retries": 6, "retry_max_wait": 2.0}
    tuner = Tuner(make_config(suffix="x" * 65, options=options))
    started = time.monotonic()
    with pytest.raises(ConfigError, match="suffix: azure allows at most 18"):
        tuner.submit()
    assert time.monotonic() - started < 2.0
    assert Ledger().runs() == []


def test_azure_deployments_cannot_pause_and_the_error_names_the_provider(azure_emulator: Any, trained: Tuner) -> None:
    run_id = _run_id(trained)
    trained.deploy(run_id)
    paused = runner.invoke(app, ["deploy", run_id, "--pause"])
    assert isinstance(paused.exception, UnsupportedOperationError)
    assert "provider 'azure' does not support pausing a deployment" in str(paused.exception)
    assert "tunekit undeploy" in str(paused.exception)
    [row] = trained.deployments(run_id, billing=True)
    assert row.state == "active" and _names(azure_emulator) == ["recipes-bot"]
