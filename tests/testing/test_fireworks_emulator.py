"""The Fireworks emulator, driven by the official fireworks-ai SDK: its routes, limits, faults and control API."""

from __future__ import annotations

import fireworks
import httpx
import pytest

from tunekit_emulators import Fault
from tunekit_emulators.fireworks import FireworksEmulator

MODEL = "accounts/fireworks/models/llama-v3p1-8b-instruct"


def _client(emu: FireworksEmulator) -> fireworks.Fireworks:
    return fireworks.Fireworks(api_key=emu.api_key, account_id=emu.account_id, base_url=emu.url, max_retries=0)


def _dataset(client: fireworks.Fireworks, dataset_id: str = "tk-data") -> str:
    client.datasets.create(dataset_id=dataset_id, dataset={"format": "CHAT"})
    client.datasets.upload(dataset_id, file=("train.jsonl", b'{"messages": []}\n' * 3))
    return f"accounts/tunekit-test/datasets/{dataset_id}"


@pytest.mark.fireworks_emulator(lifecycle="manual")
def test_a_job_moves_only_when_told_and_a_second_create_with_its_id_is_refused(
    fireworks_emulator: FireworksEmulator,
) -> None:
    client = _client(fireworks_emulator)
    dataset = _dataset(client)
    job = client.supervised_fine_tuning_jobs.create(
        dataset=dataset, base_model=MODEL, supervised_fine_tuning_job_id="j1"
    )
    assert job.state == "JOB_STATE_CREATING" and job.output_model == "accounts/tunekit-test/models/j1"
    with pytest.raises(fireworks.ConflictError):
        client.supervised_fine_tuning_jobs.create(dataset=dataset, base_model=MODEL, supervised_fine_tuning_job_id="j1")
    moved = httpx.post(f"{fireworks_emulator.url}/_emulator/jobs/j1/advance", json={"to": "JOB_STATE_COMPLETED"})
    assert moved.json()["state"] == "JOB_STATE_COMPLETED"
    assert client.models.get("j1").peft_details.base_model == MODEL  # type: ignore[union-attr]
    backwards = httpx.post(f"{fireworks_emulator.url}/_emulator/jobs/j1/advance", json={"to": "JOB_STATE_RUNNING"})
    assert backwards.status_code == 400


def test_refusals_have_the_services_shape(fireworks_emulator: FireworksEmulator) -> None:
    client = _client(fireworks_emulator)
    with pytest.raises(fireworks.BadRequestError, match="does not support fine-tuning"):
        client.supervised_fine_tuning_jobs.create(dataset="x", base_model="accounts/fireworks/models/deepseek-v3")
    with pytest.raises(fireworks.NotFoundError) as missing:
        client.supervised_fine_tuning_jobs.create(dataset="accounts/tunekit-test/datasets/none", base_model=MODEL)
    assert missing.value.body == {
        "code": 5,
        "message": "dataset accounts/tunekit-test/datasets/none not found",
        "details": [],
    }
    client.datasets.create(dataset_id="empty", dataset={"format": "CHAT"})
    with pytest.raises(fireworks.APIStatusError, match="is not READY"):
        client.supervised_fine_tuning_jobs.create(dataset="accounts/tunekit-test/datasets/empty", base_model=MODEL)
    # A tuned LoRA answers only through a deployment; a serverless base model answers directly.
    with pytest.raises(fireworks.NotFoundError, match="not deployed"):
        client.chat.completions.create(
            model="accounts/tunekit-test/models/nope", messages=[{"role": "user", "content": "hi"}]
        )
    answer = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi there"}])
    assert answer.choices[0].message.content == "llama-v3p1-8b-instruct answers: there"  # type: ignore[union-attr]


@pytest.mark.fireworks_emulator(max_upload_bytes=100)
def test_an_upload_over_the_limit_is_refused(fireworks_emulator: FireworksEmulator) -> None:
    client = _client(fireworks_emulator)
    client.datasets.create(dataset_id="big", dataset={"format": "CHAT"})
    with pytest.raises(fireworks.APIStatusError, match="file too large") as refused:
        client.datasets.upload("big", file=("train.jsonl", b"x" * (200 * 1024)))
    assert refused.value.status_code == 413 and client.datasets.get("big").state == "UPLOADING"


@pytest.mark.fireworks_emulator(rpm=2)
def test_the_rate_limit_answers_429_with_retry_after(fireworks_emulator: FireworksEmulator) -> None:
    client = _client(fireworks_emulator)
    client.datasets.list()
    client.datasets.list()
    with pytest.raises(fireworks.RateLimitError) as limited:
        client.datasets.list()
    assert float(limited.value.response.headers["retry-after"]) > 0


def test_an_injected_fault_has_the_grpc_shape(fireworks_emulator: FireworksEmulator) -> None:
    fireworks_emulator.inject("GET /v1/accounts/*/datasets", Fault.status(503), first_n=1)
    with pytest.raises(fireworks.InternalServerError) as failed:
        _client(fireworks_emulator).datasets.list()
    assert failed.value.body["code"] == 14  # type: ignore[index]
    assert _client(fireworks_emulator).datasets.list().datasets == []


def test_an_evaluator_that_does_not_build_cannot_drive_an_rft_job(fireworks_emulator: FireworksEmulator) -> None:
    client = _client(fireworks_emulator)
    dataset = _dataset(client)
    code = {"language": "python", "entry_file": "main.py", "entry_func": "evaluate"}
    broken = client.evaluators.create(
        evaluator_id="broken",
        evaluator={
            "criteria": [{"type": "CODE_SNIPPETS", "code_snippets": {**code, "file_contents": {"main.py": "def ("}}}]
        },
    )
    assert broken.state == "BUILD_FAILED" and broken.status is not None
    assert (broken.status.message or "").startswith("main.py:1:")
    with pytest.raises(fireworks.APIStatusError, match="evaluators/broken is BUILD_FAILED"):
        client.reinforcement_fine_tuning_jobs.create(
            dataset=dataset, evaluator=str(broken.name), training_config={"base_model": MODEL}
        )
    with pytest.raises(fireworks.NotFoundError):
        client.evaluators.get("missing")
    assert fireworks_emulator.jobs("rft") == []
