"""Chat inference through huggingface_hub's InferenceClient, the /_emulator control API, and faults."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from huggingface_hub import AsyncInferenceClient, InferenceClient
from huggingface_hub.errors import BadRequestError, HfHubHTTPError

from tunekit_emulators import Fault
from tunekit_emulators.hub import HubEmulator


def _tuned_repo(hub: HubEmulator) -> str:
    api = hub.api()
    repo_id = f"{hub.namespace}/tuned"
    api.create_repo(repo_id, private=True)
    api.upload_file(path_or_fileobj=b"{}", path_in_repo="adapter_config.json", repo_id=repo_id)
    api.upload_file(path_or_fileobj=b"\x00" * 8, path_in_repo="adapter_model.safetensors", repo_id=repo_id)
    return repo_id


def test_chat_completion_plain_streamed_and_truncated(hub_emulator: HubEmulator) -> None:
    repo_id = _tuned_repo(hub_emulator)
    client = InferenceClient(base_url=hub_emulator.inference_url(repo_id), token=hub_emulator.token)
    out = client.chat_completion([{"role": "user", "content": "What is 2+2?"}])
    assert out.choices[0].message.content == f"[{repo_id}] What is 2+2?"
    assert out.choices[0].finish_reason == "stop" and out.usage.completion_tokens == 4

    streamed = client.chat_completion([{"role": "user", "content": "stream this"}], stream=True)
    assert "".join(chunk.choices[0].delta.content or "" for chunk in streamed) == f"[{repo_id}] stream this"

    short = client.chat_completion([{"role": "user", "content": "a b c d e f"}], max_tokens=2)
    assert short.choices[0].finish_reason == "length" and len(short.choices[0].message.content.split()) == 2


def test_async_client_and_model_in_the_body(hub_emulator: HubEmulator) -> None:
    repo_id = _tuned_repo(hub_emulator)

    async def ask() -> str:
        client = AsyncInferenceClient(base_url=f"{hub_emulator.endpoint}/v1", token=hub_emulator.token)
        out = await client.chat_completion([{"role": "user", "content": "hi"}], model=repo_id)
        return str(out.choices[0].message.content)

    assert asyncio.run(ask()) == f"[{repo_id}] hi"


def test_a_repo_without_weights_or_access_is_not_served(hub_emulator: HubEmulator) -> None:
    api = hub_emulator.api()
    empty = f"{hub_emulator.namespace}/empty"
    api.create_repo(empty)
    with pytest.raises(BadRequestError, match="no weights"):
        InferenceClient(base_url=hub_emulator.inference_url(empty), token=hub_emulator.token).chat_completion(
            [{"role": "user", "content": "hi"}]
        )
    private = _tuned_repo(hub_emulator)
    with pytest.raises(HfHubHTTPError) as info:
        InferenceClient(base_url=hub_emulator.inference_url(private)).chat_completion(
            [{"role": "user", "content": "x"}]
        )
    assert info.value.response.status_code == 401


@pytest.mark.hub_emulator(lifecycle="manual")
def test_http_control_api_advances_jobs_and_sets_outcomes(hub_emulator: HubEmulator) -> None:
    api = hub_emulator.api()
    job = api.run_job(image="python:3.12", command=["true"], namespace=hub_emulator.namespace)
    control = httpx.Client(base_url=f"{hub_emulator.endpoint}/_emulator")
    assert control.get("/account").json()["namespace"] == hub_emulator.namespace
    assert control.post(f"/jobs/{job.id}/advance", json={"to": "RUNNING"}).json()["stage"] == "RUNNING"
    assert control.post(f"/jobs/{job.id}/advance", json={"to": "ERROR", "message": "boom"}).json()["stage"] == "ERROR"
    assert api.inspect_job(job_id=job.id, namespace=hub_emulator.namespace).status.message == "boom"
    assert control.post(f"/jobs/{job.id}/advance", json={"to": "NOWHERE"}).status_code == 400
    assert control.post("/outcome", json={"outcome": "maybe"}).status_code == 400
    assert control.post("/outcome", json={"outcome": "no_files"}).status_code == 200
    state = control.get("/state").json()
    assert [j["id"] for j in state["jobs"]] == [job.id] and state["lifecycle"] == "manual"
    assert control.post("/reset").json() == {"reset": True}
    assert control.get("/state").json()["jobs"] == []
    assert api.whoami()["name"] == hub_emulator.namespace  # the account survives a reset


def test_faults_answer_in_the_hub_shape_and_retried_calls_recover(hub_emulator: HubEmulator) -> None:
    api = hub_emulator.api()
    hub_emulator.inject("GET /api/whoami-v2", Fault.status(503), first_n=1)
    with pytest.raises(HfHubHTTPError) as info:
        api.whoami()
    assert info.value.response.status_code == 503 and info.value.response.json() == {"error": info.value.server_message}
    assert api.whoami()["name"] == hub_emulator.namespace

    # huggingface_hub retries the preupload call itself (http_backoff) on 429 and 5xx.
    repo_id = f"{hub_emulator.namespace}/flaky"
    api.create_repo(repo_id, repo_type="dataset")
    hub_emulator.inject("POST /api/datasets/*/preupload/*", Fault.status(429, retry_after=0.01), first_n=1)
    api.upload_file(path_or_fileobj=b"x", path_in_repo="train.jsonl", repo_id=repo_id, repo_type="dataset")
    assert "train.jsonl" in api.list_repo_files(repo_id, repo_type="dataset")
    statuses = [r.status for r in hub_emulator.requests if r.path.endswith("/preupload/main")]
    assert statuses == [429, 200]
