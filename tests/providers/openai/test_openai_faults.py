"""Rate limits, server errors and lost responses: the run completes and exactly one job exists."""

from __future__ import annotations

import time

import pytest
from openai_helpers import ConfigFactory

from tunekit import JobStatus, RateLimitedError, Tuner
from tunekit_emulators import Fault
from tunekit_emulators.openai import OpenAIEmulator

CREATE_JOB = "POST /v1/fine_tuning/jobs"
UPLOAD = "POST /v1/files"
POLL = "GET /v1/fine_tuning/jobs/*"


def _training_files(emu: OpenAIEmulator) -> list[str]:
    return [f["filename"] for f in emu.files() if f["purpose"] == "fine-tune"]


def _run_to_success(config: object) -> Tuner:
    tuner = Tuner.from_config(config)  # type: ignore[arg-type]
    job = tuner.submit()
    assert job.wait(poll_interval=0.01, timeout=60).status == JobStatus.SUCCEEDED
    assert job.result().model_id.startswith("ft:")
    return tuner


@pytest.mark.parametrize("status", [429, 500, 503])
def test_storms_on_upload_create_and_polling(
    status: int, openai_emulator: OpenAIEmulator, make_config: ConfigFactory
) -> None:
    fault = Fault.status(status, retry_after=0.01 if status == 429 else None)
    for route in (UPLOAD, CREATE_JOB, POLL, "GET /v1/files*", "GET /v1/fine_tuning/jobs"):
        openai_emulator.inject(route, fault, first_n=3)
    _run_to_success(make_config(openai_emulator))
    assert len(openai_emulator.jobs()) == 1
    assert len(_training_files(openai_emulator)) == 2  # train and validation, each once
    assert openai_emulator.request_count("POST", "/v1/fine_tuning/jobs") == 4


def test_random_faults_everywhere_still_one_job(openai_emulator: OpenAIEmulator, make_config: ConfigFactory) -> None:
    openai_emulator.inject("*", Fault.status(503), probability=0.25)
    openai_emulator.inject("*", Fault.status(429, retry_after=0.01), probability=0.15)
    _run_to_success(make_config(openai_emulator, provider_options={"max_retries": 10, "create_attempts": 12}))
    assert len(openai_emulator.jobs()) == 1


@pytest.mark.parametrize(
    "fault", [Fault.timeout(3.0, after_processing=True), Fault.reset(after_processing=True)], ids=["timeout", "reset"]
)
def test_lost_create_response_is_adopted_not_repeated(
    fault: Fault, openai_emulator: OpenAIEmulator, make_config: ConfigFactory
) -> None:
    # The service creates the job, then its response never reaches the client.
    openai_emulator.inject(CREATE_JOB, fault, first_n=1)
    tuner = _run_to_success(make_config(openai_emulator, provider_options={"timeout": 0.5}))
    [remote] = openai_emulator.jobs()
    [job] = tuner.jobs()
    assert remote["id"] == job.job_id
    steps = [(e.kind, e.step) for e in tuner.ledger.events(job.run_id) if e.step == "create_job"]
    assert steps == [("intent", "create_job"), ("outcome", "create_job")]


def test_lost_upload_response_does_not_upload_twice(
    openai_emulator: OpenAIEmulator, make_config: ConfigFactory
) -> None:
    openai_emulator.inject(UPLOAD, Fault.reset(after_processing=True), first_n=1)
    _run_to_success(make_config(openai_emulator))
    assert len(_training_files(openai_emulator)) == 2
    assert len(openai_emulator.jobs()) == 1


def test_retry_after_is_honoured(openai_emulator: OpenAIEmulator, make_config: ConfigFactory) -> None:
    openai_emulator.inject(CREATE_JOB, Fault.status(429, retry_after=0.6), first_n=1)
    tuner = Tuner.from_config(make_config(openai_emulator))
    started = time.monotonic()
    tuner.submit()
    assert time.monotonic() - started >= 0.6
    assert len(openai_emulator.jobs()) == 1


def test_endless_rate_limit_gives_up_with_a_clear_error(
    openai_emulator: OpenAIEmulator, make_config: ConfigFactory
) -> None:
    openai_emulator.inject(CREATE_JOB, Fault.status(429, retry_after=0.01))
    tuner = Tuner.from_config(make_config(openai_emulator, provider_options={"create_attempts": 3}))
    with pytest.raises(RateLimitedError, match="after 3 attempts"):
        tuner.submit()
    assert openai_emulator.jobs() == []
    # Each retry first looked for a job carrying the run id.
    assert openai_emulator.request_count("POST", "/v1/fine_tuning/jobs") == 3
