"""Spaces on the Hub emulator: AutoTrain's Space protocol through the real HfApi."""

from __future__ import annotations

import io
import json

import pytest
from huggingface_hub import HfApi

from tunekit_emulators.hub import HubEmulator

DOCKERFILE = b"FROM huggingface/autotrain-advanced:latest\nCMD autotrain api --port 7860 --host 0.0.0.0\n"
README = b"---\ntitle: demo\nsdk: docker\npinned: false\n---\n"


def _autotrain_space(hub: HubEmulator, api: HfApi, *, push: bool = True) -> str:
    dataset = f"{hub.namespace}/autotrain-data-space-demo"
    api.create_repo(dataset, repo_type="dataset", private=True)
    rows = "\n".join(json.dumps({"autotrain_text": f"row {i}"}) for i in range(10)).encode()
    api.upload_file(path_or_fileobj=rows, path_in_repo="train.jsonl", repo_id=dataset, repo_type="dataset")
    space_id = f"{hub.namespace}/autotrain-space-demo"
    api.create_repo(space_id, repo_type="space", space_sdk="docker", space_hardware="a10g-small", private=True)
    params = {"model": "m/base", "project_name": "space-demo", "data_path": dataset, "trainer": "sft"}
    params |= {"peft": True, "push_to_hub": push, "username": hub.namespace}
    secrets = {"HF_TOKEN": hub.token, "AUTOTRAIN_USERNAME": hub.namespace, "PROJECT_NAME": "space-demo"}
    secrets |= {"TASK_ID": "9", "PARAMS": json.dumps(params), "DATA_PATH": dataset, "MODEL": "m/base"}
    for key, value in secrets.items():
        api.add_space_secret(space_id, key, value)
    api.upload_file(path_or_fileobj=io.BytesIO(README), path_in_repo="README.md", repo_id=space_id, repo_type="space")
    assert api.get_space_runtime(space_id).stage == "NO_APP_FILE"
    api.upload_file(
        path_or_fileobj=io.BytesIO(DOCKERFILE), path_in_repo="Dockerfile", repo_id=space_id, repo_type="space"
    )
    return space_id


@pytest.mark.hub_emulator(lifecycle="manual", log_idle_close_s=0.2)
def test_autotrain_space_builds_trains_pushes_and_pauses(hub_emulator: HubEmulator) -> None:
    api = hub_emulator.api()
    space_id = _autotrain_space(hub_emulator, api)
    runtime = api.get_space_runtime(space_id)
    assert runtime.stage == "BUILDING" and runtime.requested_hardware == "a10g-small"
    assert sorted(api.get_space_secrets(space_id)) == sorted(
        ["AUTOTRAIN_USERNAME", "DATA_PATH", "HF_TOKEN", "MODEL", "PARAMS", "PROJECT_NAME", "TASK_ID"]
    )

    hub_emulator.advance(space_id)
    assert api.get_space_runtime(space_id).stage == "RUNNING"
    assert api.space_info(space_id).runtime.stage == "RUNNING"  # type: ignore[union-attr]
    hub_emulator.advance(space_id)
    assert api.get_space_runtime(space_id).stage == "PAUSED"  # AutoTrain pauses its own Space
    logs = list(api.fetch_space_logs(space_id))
    assert any("Uvicorn running" in line for line in logs) and "Pausing space..." in logs[-1]
    assert "adapter_model.safetensors" in api.list_repo_files(f"{hub_emulator.namespace}/space-demo")


def test_pause_and_restart_a_space(hub_emulator: HubEmulator) -> None:
    api = hub_emulator.api()
    space_id = _autotrain_space(hub_emulator, api, push=False)
    assert api.pause_space(space_id).stage == "PAUSED"
    restarted = api.restart_space(space_id)
    assert restarted.stage in ("BUILDING", "RUNNING", "PAUSED")
    assert hub_emulator.space_stage(space_id) == "PAUSED"  # immediate lifecycle: trained and paused again
    assert hub_emulator.repos("model") == []  # push_to_hub was off


def test_secrets_are_write_only_and_variables_readable(hub_emulator: HubEmulator) -> None:
    api = hub_emulator.api()
    space_id = f"{hub_emulator.namespace}/vars"
    api.create_repo(space_id, repo_type="space", space_sdk="docker")
    api.add_space_secret(space_id, "HF_TOKEN", hub_emulator.token, description="push token")
    api.add_space_variable(space_id, "TUNEKIT_RUN_ID", "run-9")
    secrets = api.get_space_secrets(space_id)
    assert secrets["HF_TOKEN"].description == "push token" and not hasattr(secrets["HF_TOKEN"], "value")
    assert api.get_space_variables(space_id)["TUNEKIT_RUN_ID"].value == "run-9"
    api.delete_space_secret(space_id, "HF_TOKEN")
    assert api.get_space_secrets(space_id) == {}
    assert json.dumps(hub_emulator.repos("space")).count(hub_emulator.token) == 0
