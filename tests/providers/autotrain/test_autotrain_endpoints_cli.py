"""`tunekit deploy`, `undeploy` and `estimate` of an AutoTrain result on Inference Endpoints.

The hourly price is said first, asked about unless --yes, and recorded with
each deployment; a refusal or a failed start leaves nothing billing.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import yaml
from autotrain_helpers import BASE_MODEL, TunerFactory, emulator_options
from typer.testing import CliRunner

from tunekit.cli.app import app
from tunekit.config import DeployConfig
from tunekit.data.endpoint_prices import endpoint_hosting_cost
from tunekit.errors import ConfigError, DeploymentFailedError
from tunekit.jobs import JobStatus
from tunekit.tuner import Tuner
from tunekit_emulators.hub import HubEmulator

runner = CliRunner()
ENDPOINT_OPTIONS = {"endpoint_poll_interval": 0.02, "endpoint_wait": 30}


@pytest.fixture
def trained_run(hub_emulator: HubEmulator, make_tuner: TunerFactory, monkeypatch: pytest.MonkeyPatch) -> str:
    """A succeeded AutoTrain run; the commands read the token from the environment (the ledger keeps none)."""
    tuner = make_tuner(endpoints_api=hub_emulator.endpoints_api, **ENDPOINT_OPTIONS)
    job = tuner.submit()
    for _ in range(3):
        hub_emulator.advance(job.job_id)
    assert job.wait(poll_interval=0.05, timeout=30).status == JobStatus.SUCCEEDED
    monkeypatch.setenv("HF_TOKEN", hub_emulator.token)
    return job.run_id


def test_deploy_says_the_hourly_price_and_creates_nothing_without_yes(
    hub_emulator: HubEmulator, trained_run: str
) -> None:
    refused = runner.invoke(app, ["deploy", trained_run])
    assert refused.exit_code == 2, refused.output
    # The default instance (one L4 on AWS) at its dated, cited price, and how to confirm.
    assert "nvidia-l4 x1" in refused.stderr and "0.80 per hour" in refused.stderr
    assert "prices as of 2026-12-03" in refused.stderr and "--yes" in refused.stderr
    assert hub_emulator.inference_endpoints() == []
    shown = json.loads(runner.invoke(app, ["show", trained_run, "--json"]).stdout)
    assert shown["deployments"] == []


def test_deploy_asks_at_a_terminal_and_a_no_creates_nothing(
    hub_emulator: HubEmulator, trained_run: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tunekit.cli.spend.can_ask", lambda: True)  # as at a terminal: the answer comes from stdin
    declined = runner.invoke(app, ["deploy", trained_run], input="n\n")
    assert declined.exit_code == 1, declined.output
    assert (
        "it bills at USD 0.80 per hour until undeployed" in declined.output
        and "nothing was deployed" in declined.output
    )
    assert hub_emulator.inference_endpoints() == []
    assert json.loads(runner.invoke(app, ["show", trained_run, "--json"]).stdout)["deployments"] == []

    accepted = runner.invoke(app, ["deploy", trained_run], input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert len(hub_emulator.inference_endpoints()) == 1


def test_deploy_records_the_price_and_undeploy_deletes_every_endpoint(
    hub_emulator: HubEmulator, trained_run: str
) -> None:
    first = runner.invoke(app, ["deploy", trained_run, "--yes", "--name", "first"])
    assert first.exit_code == 0, first.output
    assert "0.80 per hour" in first.stderr and "tunekit undeploy" in first.stderr
    second = runner.invoke(app, ["deploy", trained_run, "--yes", "--name", "second", "--json"])
    assert second.exit_code == 0, second.output
    billing = json.loads(second.stdout)["billing"]
    assert [(d["name"], d["hourly_price"], d["currency"]) for d in billing] == [
        ("first", 0.8, "USD"),
        ("second", 0.8, "USD"),
    ]
    assert all("nvidia-l4 x1" in d["sku"] for d in billing)
    assert sorted(e["name"] for e in hub_emulator.inference_endpoints()) == ["first", "second"]

    removed = runner.invoke(app, ["undeploy", trained_run, "--json"])
    assert removed.exit_code == 0, removed.output
    assert json.loads(removed.stdout) == {"run_id": trained_run, "deleted": ["first", "second"], "billing": []}
    assert hub_emulator.inference_endpoints() == []


def test_an_endpoint_that_fails_to_start_is_deleted_and_bills_nothing(
    hub_emulator: HubEmulator, trained_run: str
) -> None:
    hub_emulator.fail_endpoint_start("broken")
    failed = runner.invoke(app, ["deploy", trained_run, "--yes", "--name", "broken"])
    assert failed.exit_code != 0
    assert isinstance(failed.exception, DeploymentFailedError) or "did not start" in failed.output
    assert hub_emulator.inference_endpoints() == []
    shown = json.loads(runner.invoke(app, ["show", trained_run, "--json"]).stdout)
    assert [(d["name"], d["state"]) for d in shown["deployments"]] == [("broken", "deleted")]


def test_estimate_includes_the_endpoint_s_hourly_price(hub_emulator: HubEmulator, chat_data: Path) -> None:
    config = chat_data.parent / "tune.yaml"
    deploy = {"instance_type": "nvidia-a10g", "instance_size": "x1", "min_replicas": 2, "max_replicas": 3}
    config.write_text(
        yaml.safe_dump(
            {
                "provider": "autotrain",
                "model": BASE_MODEL,
                "data": {"train": str(chat_data)},
                "deploy": deploy,
                "provider_options": {"flavor": "t4-small", "endpoint": emulator_options(hub_emulator)["endpoint"]},
            }
        )
    )
    result = runner.invoke(app, ["estimate", str(config), "--json"])
    assert result.exit_code == 0, result.output
    [own] = [row for row in json.loads(result.stdout)["estimates"] if row["provider"] == "autotrain"]
    assert own["hosting_per_hour"] == pytest.approx(2.0)  # two A10G replicas kept running at 1.00 each
    assert "nvidia-a10g x1, 2-3 replicas" in own["hosting_sku"]


@pytest.mark.parametrize(
    ("settings", "per_hour", "says"),
    [
        ({}, 0.8, "billed by the hour while deployed, even when idle"),
        (
            {"region": "gcp/us-central1", "instance_type": "nvidia-h100", "instance_size": "x2"},
            20.0,
            "gcp/us-central1 nvidia-h100 x2",
        ),
        (
            {"min_replicas": 0, "max_replicas": 2, "scale_to_zero_minutes": 15},
            0.8,
            "nothing while scaled to zero",
        ),
        ({"instance_type": "nvidia-b999"}, None, "no price known"),
    ],
)
def test_endpoint_prices_follow_the_instance_and_replicas(
    settings: dict[str, object], per_hour: float | None, says: str
) -> None:
    cost = endpoint_hosting_cost(DeployConfig.model_validate(settings))
    assert cost.per_hour == (pytest.approx(per_hour) if per_hour is not None else None)
    assert says in f"{cost.sku} {cost.warning()}"
    assert cost.as_of and cost.source and cost.source.startswith("https://huggingface.co/")


def test_a_deploy_section_that_cannot_be_served_is_refused_before_training(
    hub_emulator: HubEmulator, chat_data: Path
) -> None:
    """`tunekit run` deploys after training: an endpoint it could not create is said before anything is paid for."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there any more
    tuner = Tuner(
        provider="autotrain",
        model=BASE_MODEL,
        data={"train": str(chat_data)},
        deploy={"image": "default", "scale_to_zero_minutes": 10},
        provider_options=emulator_options(hub_emulator, endpoints_api=f"http://127.0.0.1:{port}/v2"),
    )
    with pytest.raises(ConfigError) as refused:
        tuner.submit()
    message = str(refused.value)
    assert "deploy.image: the default image cannot load a LoRA adapter" in message
    assert "deploy.scale_to_zero_minutes: needs deploy.min_replicas: 0" in message
    assert f"nothing answers at http://127.0.0.1:{port}/v2" in message
    assert not [r for r in hub_emulator.requests if r.method != "GET"]  # nothing uploaded, nothing started
