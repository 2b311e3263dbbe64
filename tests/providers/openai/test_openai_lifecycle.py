"""A job's life after submit: failure with the API's reason, cancel, pause and resume, checkpoints, events."""

from __future__ import annotations

import pytest
from openai_helpers import ConfigFactory

from tunekit import JobCancelledError, JobFailedError, JobStatus, Tuner
from tunekit_emulators.openai import OpenAIEmulator

manual = pytest.mark.openai_emulator(lifecycle="manual")


@manual
def test_a_failing_job_surfaces_the_api_message(openai_emulator: OpenAIEmulator, make_config: ConfigFactory) -> None:
    job = Tuner.from_config(make_config(openai_emulator)).submit()
    reason = "Training file has 2 examples with a missing assistant message (line 7)."
    openai_emulator.fail_job(job.job_id, message=reason, code="invalid_training_file", param="training_file")

    state = job.wait(poll_interval=0.01, timeout=10)
    assert state.status == JobStatus.FAILED and state.raw_status == "failed"
    assert reason in (state.message or "") and "invalid_training_file" in (state.message or "")
    assert reason in (job.record.error or "")
    with pytest.raises(JobFailedError, match="line 7"):
        job.result()
    # The service's error event reached the ledger as well.
    assert any(reason in e.message and e.level == "error" for e in job.history())


@pytest.mark.openai_emulator(min_examples=20)
def test_a_job_the_service_rejects_fails_with_its_words(
    openai_emulator: OpenAIEmulator, make_config: ConfigFactory
) -> None:
    job = Tuner.from_config(make_config(openai_emulator)).submit()
    state = job.wait(poll_interval=0.01, timeout=10)
    assert state.status == JobStatus.FAILED
    remote_error = openai_emulator.job(job.job_id)["error"]
    assert remote_error["message"] in (state.message or "")


@manual
def test_a_cancelled_job_ends_cancelled(openai_emulator: OpenAIEmulator, make_config: ConfigFactory) -> None:
    job = Tuner.from_config(make_config(openai_emulator)).submit()
    openai_emulator.advance(job.job_id, to="running")
    assert job.status().status == JobStatus.RUNNING

    job.cancel()
    assert openai_emulator.job(job.job_id)["status"] == "cancelled"
    state = job.wait(poll_interval=0.01, timeout=10)
    assert state.status == JobStatus.CANCELLED
    assert job.record.status == JobStatus.CANCELLED
    with pytest.raises(JobCancelledError):
        job.result()
    job.cancel()  # cancelling twice (a retried request) is not an error when the job is cancelled


@manual
def test_a_paused_job_resumes_and_finishes(openai_emulator: OpenAIEmulator, make_config: ConfigFactory) -> None:
    job = Tuner.from_config(make_config(openai_emulator)).submit()
    openai_emulator.advance(job.job_id, to="running")

    job.pause()
    state = job.status()
    assert (state.status, state.raw_status) == (JobStatus.PAUSED, "paused")
    assert not state.is_terminal
    job.pause()  # already paused: fine

    job.resume()
    assert job.status().status in (JobStatus.QUEUED, JobStatus.RUNNING)  # the service may requeue it first
    openai_emulator.advance(job.job_id, to="succeeded")
    assert job.wait(poll_interval=0.01, timeout=10).status == JobStatus.SUCCEEDED
    assert job.result().model_id == openai_emulator.job(job.job_id)["fine_tuned_model"]
    messages = [e.message for e in job.history()]
    assert any("paused" in m for m in messages) and any("resumed" in m for m in messages)


def test_events_metrics_and_checkpoints(openai_emulator: OpenAIEmulator, make_config: ConfigFactory) -> None:
    job = Tuner.from_config(make_config(openai_emulator)).submit()
    job.wait(poll_interval=0.01, timeout=10)

    history = job.history()
    remote_events = openai_emulator.events(job.job_id)
    assert [e.id for e in history] == [e["id"] for e in remote_events]  # oldest first, each once
    assert list(job.events()) == []  # nothing new: re-reading adds no duplicates

    metrics = job.metrics()
    assert metrics and all("train_loss" in e.metrics for e in metrics)
    assert [e.step for e in metrics] == sorted(e.step for e in metrics if e.step is not None)
    assert metrics[-1].total_steps == metrics[-1].step

    checkpoints = job.checkpoints()
    assert checkpoints and [c.step for c in checkpoints] == sorted(c.step for c in checkpoints)
    assert all(c.model_id and c.model_id.startswith("ft:") for c in checkpoints)

    first = checkpoints[0]
    model = job.use_checkpoint(first.step)
    assert (model.model_id, model.checkpoint) == (first.model_id, first.id)
    assert job.record.result is not None and job.record.result["checkpoint"] == first.id
    assert model.client().model == first.model_id


@manual
def test_events_are_paged_and_read_once_across_polls(
    openai_emulator: OpenAIEmulator, make_config: ConfigFactory
) -> None:
    job = Tuner.from_config(make_config(openai_emulator)).submit()
    points = [{"step": s, "train_loss": 3.0 / s, "total_steps": 250} for s in range(1, 251)]
    openai_emulator.seed_metrics(job.job_id, points)
    openai_emulator.advance(job.job_id, to="running")
    first = list(job.events())  # before success: only the early events
    openai_emulator.advance(job.job_id, to="succeeded")
    rest = list(job.events())

    remote = openai_emulator.events(job.job_id)
    assert len(remote) > 250  # several pages of 100
    assert [e.id for e in first + rest] == [e["id"] for e in remote]
    steps = [e.step for e in job.metrics()]
    assert steps == list(range(1, 251))
    assert job.status().step == 250
