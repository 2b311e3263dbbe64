"""An AutoTrain result served on a Hugging Face Inference Endpoint, through the real HfApi against the Hub emulator."""

from __future__ import annotations

from typing import Any

import pytest
from autotrain_helpers import BASE_MODEL, TunerFactory

from tunekit.config import DeployConfig
from tunekit.errors import ConfigError, ProviderError
from tunekit.jobs import Job, JobStatus
from tunekit.tuner import Tuner
from tunekit_emulators.hub import HubEmulator

ENDPOINT_OPTIONS = {"endpoint_poll_interval": 0.02, "endpoint_wait": 30}


def trained(hub_emulator: HubEmulator, make_tuner: TunerFactory) -> tuple[Tuner, Job]:
    tuner = make_tuner(endpoints_api=hub_emulator.endpoints_api, **ENDPOINT_OPTIONS)
    job = tuner.submit()
    for _ in range(3):
        hub_emulator.advance(job.job_id)
    assert job.wait(poll_interval=0.05, timeout=30).status == JobStatus.SUCCEEDED
    return tuner, job


def test_deploy_chat_and_undeploy_an_adapter_on_vllm(hub_emulator: HubEmulator, make_tuner: TunerFactory) -> None:
    tuner, job = trained(hub_emulator, make_tuner)
    settings = DeployConfig(
        instance_type="nvidia-l4",
        instance_size="x1",
        region="aws/us-east-1",
        min_replicas=0,
        max_replicas=2,
        scale_to_zero_minutes=15,
    )
    served = tuner.deploy(job.run_id, settings)
    [endpoint] = hub_emulator.inference_endpoints()
    assert endpoint["status"]["state"] == "running" and served.deployment == endpoint["name"]
    # The adapter rides on its base model in vLLM; nothing loads an adapter where it cannot.
    assert endpoint["model"]["repository"] == BASE_MODEL
    assert endpoint["model"]["args"] == [
        "--served-model-name",
        BASE_MODEL,
        "--enable-lora",
        "--lora-modules",
        f"tuned={served.model_id}",
    ]
    assert endpoint["model"]["image"]["custom"]["url"].startswith("vllm/")
    scaling = endpoint["compute"]["scaling"]
    assert (scaling["minReplica"], scaling["maxReplica"], scaling["scaleToZeroTimeout"]) == (0, 2, 15)

    reply = served.client().chat([{"role": "user", "content": "What is 2 plus 2?"}])
    assert reply.text == f"[{served.model_id}] What is 2 plus 2?"  # the adapter answered, at the endpoint
    [record] = tuner.deployments(job.run_id, billing=True)
    assert record.name == served.deployment

    deleted = tuner.undeploy(job.run_id)
    assert [d.name for d in deleted] == [served.deployment]
    assert hub_emulator.inference_endpoints() == [] and tuner.deployments(job.run_id, billing=True) == []


def test_deploying_again_adopts_the_endpoint_instead_of_a_second(
    hub_emulator: HubEmulator, make_tuner: TunerFactory
) -> None:
    tuner, job = trained(hub_emulator, make_tuner)
    first = tuner.deploy(job.run_id, DeployConfig(name="recipes"))
    # What a client killed after the create leaves: the endpoint exists, the ledger is not sure. Deploy again.
    again = tuner.deploy(job.run_id, DeployConfig(name="recipes"))
    assert len(hub_emulator.inference_endpoints()) == 1 and again.deployment == first.deployment == "recipes"


def test_an_endpoint_that_fails_to_start_is_deleted_and_said(
    hub_emulator: HubEmulator, make_tuner: TunerFactory
) -> None:
    tuner, job = trained(hub_emulator, make_tuner)
    hub_emulator.fail_endpoint_start("broken")
    with pytest.raises(ProviderError, match=r"broken did not start .*it was deleted, nothing bills"):
        tuner.deploy(job.run_id, DeployConfig(name="broken"))
    assert hub_emulator.inference_endpoints() == []
    steps = [(e.kind, e.step) for e in tuner.ledger.events(job.run_id, kinds=["intent", "outcome"])]
    assert ("outcome", "delete_endpoint") in steps


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"image": "default"}, "cannot load a LoRA adapter"),
        ({"weights": "merged"}, "holds a LoRA adapter, not merged weights"),
        ({"scale_to_zero_minutes": 10}, "needs deploy.min_replicas: 0"),
    ],
)
def test_what_no_image_can_serve_is_refused_before_anything_is_created(
    hub_emulator: HubEmulator, make_tuner: TunerFactory, settings: dict[str, Any], message: str
) -> None:
    tuner, job = trained(hub_emulator, make_tuner)
    with pytest.raises(ConfigError, match=message):
        tuner.deploy(job.run_id, DeployConfig(**settings))
    assert hub_emulator.inference_endpoints() == []
    assert tuner.deployments(job.run_id, billing=True) == []


def test_tgi_serves_the_adapter_named_in_lora_adapters(hub_emulator: HubEmulator, make_tuner: TunerFactory) -> None:
    tuner, job = trained(hub_emulator, make_tuner)
    served = tuner.deploy(job.run_id, DeployConfig(image="tgi"))
    [endpoint] = hub_emulator.inference_endpoints()
    assert endpoint["model"]["env"] == {"LORA_ADAPTERS": served.model_id}
    assert served.client().chat([{"role": "user", "content": "hi"}]).text == f"[{served.model_id}] hi"


def test_the_endpoints_api_is_plain_http_only_on_loopback(make_tuner: TunerFactory) -> None:
    with pytest.raises(ConfigError, match="endpoints_api"):
        make_tuner(endpoints_api="http://endpoints.example.com/v2").provider  # noqa: B018 - building it validates
