"""Train → deploy → chat → undeploy on the Azure emulator, from one config, through the Tuner and the real SDK."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tunekit import Tuner
from tunekit.config import DeployConfig, TuneConfig
from tunekit.errors import NotFoundError
from tunekit.jobs import JobStatus

BOM = b"\xef\xbb\xbf"
QUESTION = [{"role": "user", "content": "Add 3 grams of flour number 3."}]


def run_to_result(tuner: Tuner) -> Any:
    job = tuner.submit()
    state = job.wait(poll_interval=0.02, timeout=30)
    assert state.status is JobStatus.SUCCEEDED, state
    return job


def test_train_deploy_chat_undeploy(azure_emulator: Any, make_config: Callable[..., TuneConfig]) -> None:
    config = make_config(options={"training_type": "GlobalStandard"}, seed=7)
    tuner = Tuner(config)
    job = run_to_result(tuner)

    created = azure_emulator.jobs()
    assert len(created) == 1
    assert created[0]["trainingType"] == "GlobalStandard"
    assert created[0]["seed"] == 7
    model = job.result()
    assert model.model_id.endswith("-recipes") and ".ft-" in model.model_id
    with pytest.raises(NotFoundError, match="tunekit deploy"):
        model.client()

    deployed = tuner.deploy(job.run_id)
    assert deployed.deployment == "recipes-bot"
    assert deployed.kind == "deployment"
    [arm_view] = azure_emulator.deployments()
    assert arm_view["properties"]["provisioningState"] == "Succeeded"
    assert arm_view["properties"]["model"] == {"format": "OpenAI", "name": model.model_id, "version": "1"}
    assert arm_view["sku"] == {"name": "Standard", "capacity": 1}

    reply = deployed.client().chat(QUESTION)
    assert reply.ok and reply.text
    # The run's result now names the deployment: the plain job handle chats with it too.
    assert job.result().deployment == "recipes-bot"
    assert job.result().client().chat(QUESTION).text

    assert [d.name for d in tuner.undeploy(job.run_id)] == ["recipes-bot"]
    assert azure_emulator.deployments() == []
    assert job.result().deployment is None
    assert tuner.undeploy(job.run_id) == []
    steps = [e.step for e in tuner.ledger.events(job.run_id) if e.step]
    for step in ("create_deployment", "deploy", "delete_deployment", "undeploy"):
        assert step in steps


def test_files_are_written_with_a_byte_order_mark(azure_emulator: Any, make_config: Callable[..., TuneConfig]) -> None:
    job = Tuner(make_config()).submit()
    file_id = job.record.remote["train_file"]
    content = azure_emulator.file_content(file_id)
    assert content.startswith(BOM)
    assert content[len(BOM) :].decode("utf-8").count("\n") == 12


def test_deploying_twice_adopts_the_deployment(azure_emulator: Any, make_config: Callable[..., TuneConfig]) -> None:
    tuner = Tuner(make_config())
    job = run_to_result(tuner)
    first = tuner.deploy(job.run_id)
    second = tuner.deploy(job.run_id)
    assert first.deployment == second.deployment
    assert len(azure_emulator.deployments()) == 1
    puts = [r for r in azure_emulator.requests if r.method == "PUT"]
    assert len(puts) == 1
    # A new capacity updates the same deployment in place.
    bigger = tuner.deploy(job.run_id, DeployConfig(name="recipes-bot", capacity=3))
    assert bigger.metadata["capacity"] == 3
    assert azure_emulator.deployments()[0]["sku"] == {"name": "Standard", "capacity": 3}
    assert [r.status for r in azure_emulator.requests if r.method == "PUT"] == [201, 200]
