"""A local run pushed to the Hub, served on an Inference Endpoint through the core's shared endpoint machinery.

Against the Hub emulator with the real ``huggingface_hub`` client: the adapter
repo the run pushed rides on its base model in vLLM, the run's chat client
and the baselines talk to the endpoint, undeploy deletes it; a run that was
not pushed, or merged weights asked of an adapter, are refused before
anything is created.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tunekit.config import DeployConfig
from tunekit.errors import ConfigError
from tunekit.ledger import Ledger
from tunekit.provider import FineTunedModel, RunContext
from tunekit.registry import create_provider
from tunekit_emulators.hub import HubEmulator

BASE_MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"


@pytest.fixture
def provider(hub_emulator: HubEmulator, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HF_ENDPOINT", hub_emulator.endpoint)  # the Hub the run pushed to
    monkeypatch.setenv("HF_TOKEN", hub_emulator.token)
    return create_provider(
        "local",
        {"endpoints_api": hub_emulator.endpoints_api, "endpoint_poll_interval": 0.02, "endpoint_wait": 30},
    )


@pytest.fixture
def run() -> RunContext:
    ledger = Ledger()
    record = ledger.create_run(
        "local-20261203-000000-abcdef", provider="local", model=BASE_MODEL, config_hash="h", config={}
    )
    return RunContext(record.run_id, record.run_dir, "h", ledger)


def pushed(run: RunContext, hub_repo: str | None) -> FineTunedModel:
    """What a local run's result says after training with ``push_to_hub`` (or without)."""
    adapter = Path(run.run_dir) / "adapter"
    metadata = {"hub_repo": hub_repo} if hub_repo else {}
    return FineTunedModel(
        provider="local",
        model_id=str(adapter),
        base_model=BASE_MODEL,
        kind="adapter",
        path=str(adapter),
        run_id=run.run_id,
        metadata=metadata,
    )


def test_a_pushed_run_is_deployed_chatted_with_and_deleted(hub_emulator, provider, run) -> None:  # type: ignore[no-untyped-def]
    repo = f"{hub_emulator.namespace}/recipes-adapter"
    served = provider.deploy(pushed(run, repo), DeployConfig(name="local-recipes"), run).bind(provider)
    [endpoint] = hub_emulator.inference_endpoints()
    assert endpoint["model"]["repository"] == BASE_MODEL  # the adapter rides on its base model
    assert endpoint["model"]["args"][-1] == f"tuned={repo}"
    assert served.metadata["hourly_price"] == 0.8 and "nvidia-l4 x1" in served.metadata["sku"]

    assert served.client().chat([{"role": "user", "content": "hi"}]).text == f"[{repo}] hi"
    assert provider.base_client_for(served).chat([{"role": "user", "content": "hi"}]).text == f"[{BASE_MODEL}] hi"

    # Paused it bills nothing and serves nothing; resumed it answers again at its URL.
    provider.pause_deployment(served, run)
    assert [e["status"]["state"] for e in hub_emulator.inference_endpoints()] == ["paused"]
    resumed = provider.resume_deployment(served, run).bind(provider)
    assert [e["status"]["state"] for e in hub_emulator.inference_endpoints()] == ["running"]
    assert resumed.client().chat([{"role": "user", "content": "hi"}]).text == f"[{repo}] hi"

    provider.undeploy(served, run)
    assert hub_emulator.inference_endpoints() == []


@pytest.mark.parametrize(
    ("repo", "settings", "message"),
    [
        (None, {}, "was not pushed to the Hub"),
        ("someone/adapter", {"weights": "merged"}, "holds a LoRA adapter, not merged weights"),
        ("someone/adapter", {"image": "default"}, "cannot load a LoRA adapter"),
    ],
)
def test_what_cannot_be_served_is_refused_before_anything_is_created(  # type: ignore[no-untyped-def]
    hub_emulator, provider, run, repo, settings, message
) -> None:
    with pytest.raises(ConfigError, match=message):
        provider.deploy(pushed(run, repo), DeployConfig(**settings), run)
    assert hub_emulator.inference_endpoints() == []


def test_a_deploy_section_without_push_to_hub_is_refused_before_training(provider, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tunekit.config import parse_config

    config = parse_config(
        {"provider": "local", "model": BASE_MODEL, "data": {"train": str(tmp_path / "t.jsonl")}, "deploy": {}}
    )
    assert any(p.startswith("deploy: an Inference Endpoint loads the run from the Hub") for p in provider.check(config))
