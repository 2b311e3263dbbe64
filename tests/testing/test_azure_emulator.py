"""The Azure OpenAI emulator through ``openai.AzureOpenAI`` and plain ARM REST."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from emulator_data import chat_lines

from tunekit_emulators import AzureOpenAIEmulator, Fault

ARM_VERSION = "2024-10-01"


def _client(emu: AzureOpenAIEmulator, **kwargs: Any) -> openai.AzureOpenAI:
    options: dict[str, Any] = {"api_key": emu.api_key, "api_version": emu.api_version, "max_retries": 0, **kwargs}
    if "azure_ad_token" in options:
        options.pop("api_key")
    return openai.AzureOpenAI(azure_endpoint=emu.endpoint, **options)


def _arm(emu: AzureOpenAIEmulator) -> httpx.Client:
    return httpx.Client(
        base_url=emu.arm_url,
        headers={"Authorization": f"Bearer {emu.issue_token()}"},
        params={"api-version": ARM_VERSION},
    )


def _tuned_model(emu: AzureOpenAIEmulator, client: openai.AzureOpenAI) -> str:
    file = client.files.create(file=("train.jsonl", chat_lines()), purpose="fine-tune")
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=file.id, suffix="geo")
    return client.fine_tuning.jobs.retrieve(job.id).fine_tuned_model or ""


def test_azure_values_and_job_flow(azure_emulator: AzureOpenAIEmulator) -> None:
    client = _client(azure_emulator)
    file = client.files.create(file=("train.jsonl", chat_lines()), purpose="fine-tune")
    assert file.status == "pending"
    assert client.files.retrieve(file.id).status == "processed"
    job = client.fine_tuning.jobs.create(
        model="gpt-4o-mini-2024-07-18", training_file=file.id, extra_body={"trainingType": "GlobalStandard"}
    )
    assert job.status == "pending"
    assert (job.model_extra or {})["trainingType"] == "GlobalStandard"
    done = client.fine_tuning.jobs.retrieve(job.id)
    assert done.status == "succeeded"
    assert done.fine_tuned_model == f"gpt-4o-mini-2024-07-18.ft-{job.id.removeprefix('ftjob-')}"
    with pytest.raises(openai.BadRequestError):
        client.fine_tuning.jobs.create(
            model="gpt-4o-mini-2024-07-18", training_file=file.id, extra_body={"trainingType": "Turbo"}
        )


@pytest.mark.azure_emulator(lifecycle="manual")
def test_manual_jobs_report_pending_then_not_running(azure_emulator: AzureOpenAIEmulator) -> None:
    client = _client(azure_emulator)
    file = client.files.create(file=("train.jsonl", chat_lines()), purpose="fine-tune")
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=file.id)
    assert client.fine_tuning.jobs.retrieve(job.id).status == "pending"
    azure_emulator.advance(job.id)
    assert client.fine_tuning.jobs.retrieve(job.id).status == "notRunning"


def test_api_version_is_required(azure_emulator: AzureOpenAIEmulator) -> None:
    headers = {"api-key": azure_emulator.api_key}
    missing = httpx.get(f"{azure_emulator.endpoint}/openai/files", headers=headers)
    unknown = httpx.get(f"{azure_emulator.endpoint}/openai/files?api-version=2099-01-01", headers=headers)
    assert missing.status_code == unknown.status_code == 404
    assert missing.json()["error"]["message"] == "Resource not found"
    v1 = httpx.get(f"{azure_emulator.base_url}/files", headers=headers)
    assert v1.status_code == 200


def test_keys_and_tokens(azure_emulator: AzureOpenAIEmulator) -> None:
    with pytest.raises(openai.AuthenticationError):
        _client(azure_emulator, api_key="0" * 32).files.list()
    token = azure_emulator.issue_token()
    assert _client(azure_emulator, azure_ad_token=token).files.list().data == []
    with pytest.raises(openai.AuthenticationError):
        _client(azure_emulator, azure_ad_token=azure_emulator.issue_token(expires_in=-1)).files.list()
    azure_emulator.expire_tokens()
    with pytest.raises(openai.AuthenticationError, match="expired"):
        _client(azure_emulator, azure_ad_token=token).files.list()


def test_file_import_from_url(azure_emulator: AzureOpenAIEmulator) -> None:
    client = _client(azure_emulator)
    azure_emulator.serve_url("https://blob.example/train.jsonl?sig=secret", chat_lines())
    body = {
        "purpose": "fine-tune",
        "filename": "train.jsonl",
        "content_url": "https://blob.example/train.jsonl?sig=secret",
    }
    imported = client.post("/files/import", body=body, cast_to=httpx.Response)
    assert imported.status_code == 201 and imported.headers["location"].endswith(imported.json()["id"])
    assert client.files.retrieve(imported.json()["id"]).status == "processed"
    missing = client.post(
        "/files/import",
        body={**body, "content_url": "https://blob.example/missing.jsonl?sig=s"},
        cast_to=httpx.Response,
    )
    failed = client.files.retrieve(missing.json()["id"])
    assert failed.status == "error" and "sig=" not in (failed.status_details or "")


def test_arm_deployment_lifecycle_and_chat(azure_emulator: AzureOpenAIEmulator) -> None:
    client = _client(azure_emulator)
    model = _tuned_model(azure_emulator, client)
    arm = _arm(azure_emulator)
    path = f"{azure_emulator.deployments_path}/geo"
    body = {"sku": {"name": "Standard", "capacity": 1}, "properties": {"model": {"format": "OpenAI", "name": model}}}
    created = arm.put(path, json=body)
    assert created.status_code == 201 and created.json()["properties"]["provisioningState"] == "Creating"
    operation = created.headers["azure-asyncoperation"]
    assert arm.get(operation).json()["status"] == "Succeeded"
    assert arm.get(path).json()["properties"]["provisioningState"] == "Succeeded"
    assert arm.put(path, json=body).status_code == 200

    taken = {**body, "properties": {"model": {"format": "OpenAI", "name": "gpt-4o"}}}
    conflict = arm.put(path, json=taken)
    assert conflict.status_code == 409

    answer = client.chat.completions.create(
        model="geo", messages=[{"role": "user", "content": "What is the capital of country 2?"}]
    )
    assert answer.choices[0].message.content == "The capital of country 2 is City2."
    assert answer.model == "gpt-4o-mini-2024-07-18"
    v1 = openai.OpenAI(base_url=azure_emulator.base_url, api_key=azure_emulator.api_key, max_retries=0)
    assert v1.chat.completions.create(model="geo", messages=[{"role": "user", "content": "x"}]).choices

    deleted = arm.delete(path)
    assert deleted.status_code == 202
    assert arm.get(deleted.headers["azure-asyncoperation"]).json()["status"] == "Succeeded"
    assert arm.get(path).status_code == 404
    assert arm.delete(path).status_code == 204
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="geo", messages=[{"role": "user", "content": "x"}])


@pytest.mark.azure_emulator(lifecycle="manual")
def test_arm_conflicts_failures_and_faults(azure_emulator: AzureOpenAIEmulator) -> None:
    arm = _arm(azure_emulator)
    path = f"{azure_emulator.deployments_path}/base"
    body = {"sku": {"name": "GlobalStandard", "capacity": 2}, "properties": {"model": {"name": "gpt-4o-mini"}}}
    assert arm.put(path, json=body).status_code == 201
    busy = arm.put(path, json=body)
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "RequestConflict"
    azure_emulator.fail_deployment("base", "quota exhausted")
    failed = arm.get(path).json()["properties"]
    assert failed["provisioningState"] == "Failed" and failed["error"]["message"] == "quota exhausted"

    azure_emulator.inject(f"PUT {path}", Fault.status(429, retry_after=1), first_n=1)
    assert arm.put(f"{azure_emulator.deployments_path}/other", json=body).status_code == 201
    assert arm.put(path, json=body).status_code == 429

    assert arm.put(path, json={**body, "properties": {"model": {"name": "no-such-model"}}}).status_code == 400
    assert arm.get(path, params={"api-version": "1999-01-01"}).json()["error"]["code"] == "NoRegisteredProviderFound"
    assert httpx.get(f"{azure_emulator.arm_url}{path}", params={"api-version": ARM_VERSION}).status_code == 401
    assert arm.get(path.replace(azure_emulator.resource_group, "other-rg")).status_code == 404


@pytest.mark.azure_emulator(lifecycle="manual")
def test_http_control_for_tokens_deployments_and_imports(azure_emulator: AzureOpenAIEmulator) -> None:
    control = httpx.Client(base_url=f"{azure_emulator.url}/_emulator")
    token = control.post("/tokens", json={"expires_in": 600}).json()["access_token"]
    arm = httpx.Client(
        base_url=azure_emulator.arm_url,
        headers={"Authorization": f"Bearer {token}"},
        params={"api-version": ARM_VERSION},
    )
    path = f"{azure_emulator.deployments_path}/chat"
    body = {"sku": {"name": "Standard", "capacity": 1}, "properties": {"model": {"name": "gpt-4o"}}}
    assert arm.put(path, json=body).json()["properties"]["provisioningState"] == "Creating"
    assert arm.get(path).json()["properties"]["provisioningState"] == "Creating"
    assert control.post("/deployments/chat/advance").json()["properties"]["provisioningState"] == "Succeeded"
    assert control.put("/deployments/direct", json={"model": "gpt-4o-mini"}).status_code == 200
    assert control.put("/deployments/bad", json={"model": "nope"}).status_code == 400
    assert {d["name"] for d in control.get("/deployments").json()["value"]} == {"chat", "direct"}
    client = _client(azure_emulator)
    assert client.chat.completions.create(model="direct", messages=[{"role": "user", "content": "hi"}]).choices

    served = control.post("/imports", json={"url": "https://blob.example/a.jsonl", "content_base64": "e30K"})
    assert served.status_code == 200
    assert azure_emulator.imports["https://blob.example/a.jsonl"] == b"{}\n"
    control.post("/tokens/expire")
    assert arm.get(path).json()["error"]["code"] == "ExpiredAuthenticationToken"


@pytest.mark.azure_emulator(file_lifecycle="manual")
def test_jobs_need_a_processed_file(azure_emulator: AzureOpenAIEmulator) -> None:
    client = _client(azure_emulator)
    file = client.files.create(file=("train.jsonl", chat_lines()), purpose="fine-tune")
    assert client.files.retrieve(file.id).status == "pending"
    with pytest.raises(openai.BadRequestError) as info:
        client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=file.id)
    assert info.value.code == "invalidPayload"
    azure_emulator.advance_file(file.id)
    assert client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=file.id).status == "pending"
