"""Every emulator response carries an x-request-id; the Azure emulator refuses a suffix over 18 characters."""

from __future__ import annotations

import httpx
import openai
import pytest
from emulator_data import chat_lines
from huggingface_hub import HfApi

from tunekit_emulators import AzureOpenAIEmulator, Fault, OpenAIEmulator
from tunekit_emulators.hub import HubEmulator


def test_openai_responses_carry_a_request_id(openai_emulator: OpenAIEmulator) -> None:
    client = openai.OpenAI(base_url=openai_emulator.base_url, api_key=openai_emulator.api_key, max_retries=0)
    models = client.models.list()
    assert (models._request_id or "").startswith("req_")  # type: ignore[attr-defined]
    with pytest.raises(openai.NotFoundError) as missing:
        client.fine_tuning.jobs.retrieve("ftjob-nope")
    openai_emulator.inject("GET /v1/files", Fault.status(503))
    with pytest.raises(openai.InternalServerError) as faulted:
        client.files.list()
    ids = {models._request_id, missing.value.request_id, faulted.value.request_id}  # type: ignore[attr-defined]
    assert None not in ids and len(ids) == 3
    assert httpx.get(f"{openai_emulator.url}/_emulator/health").headers["x-request-id"]


def test_azure_and_hub_responses_carry_a_request_id(
    azure_emulator: AzureOpenAIEmulator, hub_emulator: HubEmulator
) -> None:
    headers = {"api-key": azure_emulator.api_key}
    assert httpx.get(f"{azure_emulator.base_url}/files", headers=headers).headers["x-request-id"]
    arm = httpx.get(f"{azure_emulator.arm_url}/subscriptions/{azure_emulator.subscription_id}")
    assert arm.headers["x-request-id"]
    assert HfApi(endpoint=hub_emulator.endpoint, token=hub_emulator.token).whoami()["name"]
    assert httpx.get(f"{hub_emulator.endpoint}/api/whoami-v2").headers["x-request-id"]


def test_azure_suffix_is_at_most_18_characters(azure_emulator: AzureOpenAIEmulator) -> None:
    client = openai.AzureOpenAI(
        azure_endpoint=azure_emulator.endpoint,
        api_key=azure_emulator.api_key,
        api_version=azure_emulator.api_version,
        max_retries=0,
    )
    file = client.files.create(file=("train.jsonl", chat_lines()), purpose="fine-tune")
    with pytest.raises(openai.BadRequestError, match="maximum length 18"):
        client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=file.id, suffix="s" * 19)
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=file.id, suffix="s" * 18)
    assert (client.fine_tuning.jobs.retrieve(job.id).fine_tuned_model or "").endswith("-" + "s" * 18)
