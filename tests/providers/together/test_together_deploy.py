"""A tuned model on a Together dedicated endpoint: asked for, created once, priced, recorded, paused, removed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tunekit import Ledger, Tuner
from tunekit.cli.app import app
from tunekit.errors import ConfigError
from tunekit.states import JobStatus
from tunekit_emulators import Fault
from tunekit_emulators.together import TogetherEmulator

ConfigFactory = Callable[..., Path]
runner = CliRunner()
H100 = {"instance_type": "1x_nvidia_h100_80gb_sxm"}
UNSERVED = "Qwen/Qwen3-8B"  # Together serves no tuned model of it serverless: only an endpoint answers


def _trained(emu: TogetherEmulator, make_config: ConfigFactory, **fields: object) -> tuple[Path, str]:
    config = make_config(emu, deploy=H100, **fields)
    job = Tuner.from_config(config).submit()
    assert job.wait(poll_interval=0.02, timeout=30).status == JobStatus.SUCCEEDED
    return config, job.run_id


def _endpoint_creates(emu: TogetherEmulator) -> int:
    return emu.request_count("POST", "/v1/endpoints")


def test_deploy_asks_first_then_makes_one_priced_endpoint_that_undeploy_deletes(
    together_emulator: TogetherEmulator, make_config: ConfigFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, run_id = _trained(together_emulator, make_config, model=UNSERVED)
    monkeypatch.setattr("tunekit.cli.spend.can_ask", lambda: True)  # as at a terminal: the answer comes from stdin
    declined = runner.invoke(app, ["deploy", run_id], input="n\n")
    assert declined.exit_code == 1, declined.output
    assert "USD 3.36 per hour" in declined.output and "nothing was deployed" in declined.output
    assert together_emulator.endpoints.listed() == [] and _endpoint_creates(together_emulator) == 0

    for _ in range(2):  # a second deploy finds the first endpoint: still one
        deployed = runner.invoke(app, ["deploy", run_id, "--yes"])
        assert deployed.exit_code == 0, deployed.output
    [endpoint] = together_emulator.endpoints.listed()
    assert _endpoint_creates(together_emulator) == 1
    assert endpoint["state"] == "STARTED" and endpoint["hardware"] == H100["instance_type"] and endpoint["billing"]
    tuner = Tuner.from_config(config)
    [recorded] = tuner.deployments(run_id, billing=True)
    assert (recorded.hourly_price, recorded.currency, recorded.sku) == (3.36, "USD", H100["instance_type"])

    model = tuner.job(run_id).result()
    assert model.metadata["endpoint_name"] == endpoint["name"]
    assert model.client().chat([{"role": "user", "content": "say hello"}]).text
    [chat] = [r for r in together_emulator.requests if r.path == "/v1/chat/completions"]
    assert json.loads(chat.body)["model"] == endpoint["name"]

    gone = runner.invoke(app, ["undeploy", run_id])
    assert gone.exit_code == 0, gone.output
    assert together_emulator.endpoints.listed() == []
    assert tuner.deployments(run_id, existing=True) == []
    assert [d.state for d in tuner.deployments(run_id)] == ["deleted"]


def test_deploy_asks_at_the_price_together_lists_now_and_says_the_tables(
    together_emulator: TogetherEmulator, make_config: ConfigFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, run_id = _trained(together_emulator, make_config, model=UNSERVED)
    monkeypatch.setattr("tunekit.cli.spend.can_ask", lambda: True)
    together_emulator.endpoints.prices[H100["instance_type"]] = 6.0  # USD 3.60 an hour; prices.yaml says 3.36
    declined = runner.invoke(app, ["deploy", run_id], input="n\n")
    assert declined.exit_code == 1, declined.output
    asked = declined.output.replace("\n", " ")
    assert "it bills at USD 3.60 per hour until undeployed; read now from Together's hardware list" in asked
    assert "the table says USD 3.36 as of 2026-12-03" in asked and "3.60 per hour, until you undeploy it" in asked

    together_emulator.endpoints.prices[H100["instance_type"]] = None  # listed without a price: the table's, dated
    declined = runner.invoke(app, ["deploy", run_id], input="n\n")
    asked = declined.output.replace("\n", " ")
    assert (
        declined.exit_code == 1
        and "it bills at USD 3.36 per hour until undeployed; table prices as of 2026-12-03" in asked
    )
    assert "read now" not in asked and _endpoint_creates(together_emulator) == 0

    together_emulator.endpoints.prices[H100["instance_type"]] = 6.0
    deployed = runner.invoke(app, ["deploy", run_id, "--yes"])
    assert deployed.exit_code == 0 and "read now from Together's hardware list" in deployed.output, deployed.output
    [recorded] = Tuner.from_config(config).deployments(run_id, billing=True)
    assert (recorded.hourly_price, recorded.currency) == (3.6, "USD")
    assert runner.invoke(app, ["undeploy", run_id]).exit_code == 0


def test_a_stopped_endpoint_bills_nothing_and_starts_again(
    together_emulator: TogetherEmulator, make_config: ConfigFactory
) -> None:
    config, run_id = _trained(together_emulator, make_config)
    assert runner.invoke(app, ["deploy", run_id, "--yes"]).exit_code == 0
    paused = runner.invoke(app, ["deploy", run_id, "--pause"])
    assert paused.exit_code == 0, paused.output
    [endpoint] = together_emulator.endpoints.listed()
    assert endpoint["state"] == "STOPPED" and not endpoint["billing"]
    assert [d.state for d in Tuner.from_config(config).deployments(run_id)] == ["paused"]

    resumed = runner.invoke(app, ["deploy", run_id, "--resume", "--yes"])
    assert resumed.exit_code == 0, resumed.output
    [endpoint] = together_emulator.endpoints.listed()
    assert endpoint["state"] == "STARTED" and _endpoint_creates(together_emulator) == 1
    assert [d.state for d in Tuner.from_config(config).deployments(run_id, billing=True)] == ["active"]


def test_deploying_again_starts_an_endpoint_stopped_when_idle(
    together_emulator: TogetherEmulator, make_config: ConfigFactory
) -> None:
    _config, run_id = _trained(together_emulator, make_config)
    assert runner.invoke(app, ["deploy", run_id, "--yes"]).exit_code == 0
    [endpoint] = together_emulator.endpoints.listed()
    together_emulator.endpoints.stop(endpoint["id"])  # its inactive_timeout passed
    again = runner.invoke(app, ["deploy", run_id, "--yes"])
    assert again.exit_code == 0, again.output
    [endpoint] = together_emulator.endpoints.listed()
    assert endpoint["state"] == "STARTED" and _endpoint_creates(together_emulator) == 1


def test_an_endpoint_that_fails_to_start_is_deleted(
    together_emulator: TogetherEmulator, make_config: ConfigFactory
) -> None:
    config, run_id = _trained(together_emulator, make_config)
    together_emulator.endpoints.fail_starts = True
    failed = runner.invoke(app, ["deploy", run_id, "--yes"])
    assert failed.exit_code != 0
    assert "is ERROR; it was deleted, nothing bills" in str(failed.exception) + failed.output
    assert _endpoint_creates(together_emulator) == 1 and together_emulator.endpoints.listed() == []
    assert Tuner.from_config(config).deployments(run_id, existing=True) == []


def test_an_endpoint_that_does_not_start_in_time_is_deleted(
    together_emulator: TogetherEmulator, make_config: ConfigFactory
) -> None:
    _config, run_id = _trained(together_emulator, make_config, provider_options={"deploy_timeout": 0.2})
    together_emulator.lifecycle.mode = "manual"  # the endpoint stays PENDING
    failed = runner.invoke(app, ["deploy", run_id, "--yes"])
    assert "is PENDING after 0.2 s; it was deleted, nothing bills" in str(failed.exception) + failed.output
    assert _endpoint_creates(together_emulator) == 1 and together_emulator.endpoints.listed() == []


@pytest.mark.parametrize(
    ("crash_at", "then"),
    [
        ("intent:create_deployment:after", "deploy"),
        ("outcome:create_deployment", "deploy"),
        ("outcome:create_deployment", "undeploy"),
    ],
)
def test_a_client_killed_while_deploying_leaves_one_endpoint_that_undeploy_deletes(
    together_emulator: TogetherEmulator, make_config: ConfigFactory, crash_at: str, then: str
) -> None:
    _config, run_id = _trained(together_emulator, make_config)
    code = "import sys; from tunekit.cli.app import app; sys.argv[0] = 'tunekit'; app()"
    env = {**os.environ, "TUNEKIT_CRASH_AT": crash_at}
    killed = subprocess.run([sys.executable, "-c", code, "deploy", run_id, "--yes"], env=env, timeout=120)
    assert killed.returncode == -9
    if then == "deploy":  # deploying again adopts what the killed client made
        again = runner.invoke(app, ["deploy", run_id, "--yes"])
        assert again.exit_code == 0, again.output
        [endpoint] = together_emulator.endpoints.listed()
        assert endpoint["state"] == "STARTED" and _endpoint_creates(together_emulator) == 1
    assert runner.invoke(app, ["undeploy", run_id]).exit_code == 0
    assert together_emulator.endpoints.listed() == []


def test_a_create_whose_answer_is_lost_is_found_not_sent_again(
    together_emulator: TogetherEmulator, make_config: ConfigFactory
) -> None:
    _config, run_id = _trained(together_emulator, make_config)
    together_emulator.inject("POST /v1/endpoints", Fault.reset(after_processing=True), first_n=1)
    deployed = runner.invoke(app, ["deploy", run_id, "--yes"])
    assert deployed.exit_code == 0, deployed.output
    assert len(together_emulator.endpoints.listed()) == 1
    assert _endpoint_creates(together_emulator) == 1


def test_a_model_without_endpoint_hardware_is_refused_before_upload(
    together_emulator: TogetherEmulator, make_config: ConfigFactory
) -> None:
    together_emulator.endpoints.unservable.add(UNSERVED)
    with pytest.raises(ConfigError) as refused:
        Tuner.from_config(make_config(together_emulator, model=UNSERVED, deploy=H100)).submit()
    assert f"deploy: Together offers no dedicated endpoint for {UNSERVED}" in str(refused.value.problems)
    assert together_emulator.request_count("POST", "/v1/files") == 0 and together_emulator.jobs() == []
    with pytest.raises(ConfigError) as wrong:
        Tuner.from_config(make_config(together_emulator, deploy={"instance_type": "8x_nvidia_b200"})).submit()
    assert "deploy.instance_type:" in str(wrong.value.problems) and "not 8x_nvidia_b200" in str(wrong.value.problems)


def test_run_deploys_then_evaluates_a_model_serverless_would_not_answer(
    together_emulator: TogetherEmulator, make_config: ConfigFactory
) -> None:
    evaluation = {"data": "train.jsonl", "baselines": ["zero-shot"], "max_examples": 2, "max_new_tokens": 8}
    config = make_config(together_emulator, model=UNSERVED, eval=evaluation, deploy=H100)
    ran = runner.invoke(app, ["run", str(config), "--yes", "--poll-interval", "0.02"])
    assert ran.exit_code == 0, ran.output
    [endpoint] = together_emulator.endpoints.listed()
    [job] = together_emulator.jobs()
    assert endpoint["model"] == job["model_output_name"]
    asked = [json.loads(r.body)["model"] for r in together_emulator.requests if r.path == "/v1/chat/completions"]
    assert endpoint["name"] in asked and job["model_output_name"] not in asked  # the tuned model: on its endpoint
    # The baselines answer serverless, endpoint or not: their model is asked before anything is uploaded.
    paths = [(r.method, r.path, r.body) for r in together_emulator.requests]
    upload = paths.index(next(p for p in paths if p[:2] == ("POST", "/v1/files")))
    assert any(p[1] == "/v1/chat/completions" and json.loads(p[2])["model"] == UNSERVED for p in paths[:upload])
    [run] = Ledger().runs()
    assert runner.invoke(app, ["undeploy", run.run_id]).exit_code == 0
    assert together_emulator.endpoints.listed() == []
