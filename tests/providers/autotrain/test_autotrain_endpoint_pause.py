"""Pausing and resuming an AutoTrain result's Inference Endpoint, through the real HfApi against the Hub emulator.

A paused endpoint is kept but bills nothing (the ledger says ``paused``, with no
billing start); resuming asks first unless --yes, waits until it answers again,
and bills from then on.
"""

from __future__ import annotations

import json

import pytest
from autotrain_helpers import TunerFactory
from typer.testing import CliRunner

from tunekit.cli.app import app
from tunekit.config import DeployConfig
from tunekit.errors import ConfigError, NotFoundError, ProviderError
from tunekit.jobs import JobStatus
from tunekit.tuner import Tuner
from tunekit_emulators.hub import HubEmulator

runner = CliRunner()
ENDPOINT_OPTIONS = {"endpoint_poll_interval": 0.02, "endpoint_wait": 30}


@pytest.fixture
def deployed(hub_emulator: HubEmulator, make_tuner: TunerFactory, monkeypatch: pytest.MonkeyPatch) -> tuple[Tuner, str]:
    """A succeeded AutoTrain run served on endpoint ``recipes``; the CLI reads the token from the environment."""
    tuner = make_tuner(endpoints_api=hub_emulator.endpoints_api, **ENDPOINT_OPTIONS)
    job = tuner.submit()
    for _ in range(3):
        hub_emulator.advance(job.job_id)
    assert job.wait(poll_interval=0.05, timeout=30).status == JobStatus.SUCCEEDED
    monkeypatch.setenv("HF_TOKEN", hub_emulator.token)
    tuner.deploy(job.run_id, DeployConfig(name="recipes"))
    return tuner, job.run_id


def _state(hub_emulator: HubEmulator) -> str:
    [endpoint] = hub_emulator.inference_endpoints()
    return str(endpoint["status"]["state"])


def _shown(run_id: str) -> list[dict[str, object]]:
    shown = runner.invoke(app, ["show", run_id, "--json"])
    assert shown.exit_code == 0, shown.output
    return list(json.loads(shown.stdout)["deployments"])


def test_pause_stops_billing_resume_serves_again_and_undeploy_deletes(
    hub_emulator: HubEmulator, deployed: tuple[Tuner, str]
) -> None:
    tuner, run_id = deployed
    paused = runner.invoke(app, ["deploy", run_id, "--pause"])
    assert paused.exit_code == 0, paused.output
    assert "paused recipes" in paused.stdout and "bills nothing" in paused.stdout
    assert _state(hub_emulator) == "paused"
    [row] = _shown(run_id)
    assert row["state"] == "paused" and row["billing_since"] is None and row["hourly_price"] == 0.8
    assert tuner.deployments(run_id, billing=True) == []  # nothing accrues the hourly price
    assert [d.name for d in tuner.deployments(run_id, existing=True)] == ["recipes"]
    # While paused the endpoint serves nothing; deploying the same name again is refused, not waited on.
    with pytest.raises(ConfigError, match=r"is paused: `tunekit deploy .* --resume`"):
        tuner.deploy(run_id, DeployConfig(name="recipes"))

    # Resuming bills again: without --yes and without a terminal, nothing is resumed (exit 2).
    refused = runner.invoke(app, ["deploy", run_id, "--resume"])
    assert refused.exit_code == 2, refused.output
    assert "USD 0.80 per hour" in refused.stderr and "--yes" in refused.stderr
    assert _state(hub_emulator) == "paused"

    resumed = runner.invoke(app, ["deploy", run_id, "--resume", "--yes", "--json"])
    assert resumed.exit_code == 0, resumed.output
    assert json.loads(resumed.stdout)["resumed"] == ["recipes"]
    assert _state(hub_emulator) == "running"  # waited until it answers
    [row] = _shown(run_id)
    assert row["state"] == "active" and row["billing_since"] is not None
    model = tuner.job(run_id).result()
    reply = model.client().chat([{"role": "user", "content": "hi"}])
    assert reply.text == f"[{model.model_id}] hi"  # the adapter answers at the resumed endpoint

    undeployed = runner.invoke(app, ["undeploy", run_id])
    assert undeployed.exit_code == 0, undeployed.output
    assert hub_emulator.inference_endpoints() == [] and tuner.deployments(run_id, existing=True) == []


def test_a_paused_endpoint_is_deleted_by_undeploy(hub_emulator: HubEmulator, deployed: tuple[Tuner, str]) -> None:
    tuner, run_id = deployed
    [paused] = tuner.pause_deployment(run_id)
    assert paused.state == "paused" and not paused.billing
    assert [d.name for d in tuner.undeploy(run_id)] == ["recipes"]
    assert hub_emulator.inference_endpoints() == []


def test_resume_asks_at_a_terminal_and_a_no_keeps_it_paused(
    hub_emulator: HubEmulator, deployed: tuple[Tuner, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    tuner, run_id = deployed
    tuner.pause_deployment(run_id, name="recipes")
    monkeypatch.setattr("tunekit.cli.spend.can_ask", lambda: True)
    declined = runner.invoke(app, ["deploy", run_id, "--resume"], input="n\n")
    assert declined.exit_code == 1, declined.output
    assert "nothing was resumed" in declined.output and _state(hub_emulator) == "paused"
    accepted = runner.invoke(app, ["deploy", run_id, "--resume"], input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert _state(hub_emulator) == "running"


def test_pausing_what_is_not_there_says_so(
    hub_emulator: HubEmulator, deployed: tuple[Tuner, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    tuner, run_id = deployed
    with pytest.raises(ConfigError, match="no paused deployment to resume"):
        tuner.resume_deployment(run_id)
    with pytest.raises(ConfigError, match="has no deployment 'other'"):
        tuner.pause_deployment(run_id, name="other")

    # Deleted outside tunekit: the error says so, and the ledger stops counting it.
    monkeypatch.setattr("huggingface_hub.constants.INFERENCE_ENDPOINTS_ENDPOINT", hub_emulator.endpoints_api)
    hub_emulator.api().delete_inference_endpoint("recipes", namespace=hub_emulator.namespace)
    with pytest.raises(NotFoundError, match="recipes no longer exists"):
        tuner.pause_deployment(run_id)
    [row] = tuner.deployments(run_id)
    assert row.state == "deleted"
    cli = runner.invoke(app, ["deploy", run_id, "--pause"])
    assert isinstance(cli.exception, ConfigError) and "has no deployment to pause" in str(cli.exception)


def test_an_endpoint_that_does_not_start_again_is_paused_again(
    hub_emulator: HubEmulator, deployed: tuple[Tuner, str]
) -> None:
    tuner, run_id = deployed
    tuner.pause_deployment(run_id)
    hub_emulator.fail_endpoint_start("recipes")
    with pytest.raises(ProviderError, match=r"recipes did not start again .*paused again, nothing bills"):
        tuner.resume_deployment(run_id)
    assert _state(hub_emulator) == "paused"
    [row] = tuner.deployments(run_id, existing=True)
    assert row.state == "paused" and row.billing_since is None
