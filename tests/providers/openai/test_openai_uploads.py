"""Training files: reused by content hash, sent in parts above the threshold, waited on until processed."""

from __future__ import annotations

import pytest
from openai_helpers import ConfigFactory, chat_rows

from tunekit import JobStatus, Ledger, ServiceUnavailableError, Tuner
from tunekit_emulators import Fault
from tunekit_emulators.conformance.data import write_jsonl
from tunekit_emulators.openai import OpenAIEmulator


def _training_files(emu: OpenAIEmulator) -> list[dict[str, object]]:
    return [f for f in emu.files() if f["purpose"] == "fine-tune"]


def _uploads(run_id: str) -> dict[str, dict[str, object]]:
    return {e.step or "": e.data for e in Ledger().events(run_id) if e.kind == "outcome" and "upload" in (e.step or "")}


def test_identical_data_is_uploaded_once(openai_emulator: OpenAIEmulator, make_config: ConfigFactory) -> None:
    config = make_config(openai_emulator)
    first = Tuner.from_config(config).submit()
    files = _training_files(openai_emulator)
    assert len(files) == 2
    assert all(str(f["filename"]).startswith("tunekit-") for f in files)
    assert {u["reused"] for u in _uploads(first.run_id).values()} == {False}

    second = Tuner.from_config(config).submit(new=True)
    assert second.run_id != first.run_id
    assert _training_files(openai_emulator) == files  # nothing new uploaded
    reused = _uploads(second.run_id)
    assert {u["reused"] for u in reused.values()} == {True}
    assert reused["upload_train"]["file_id"] == openai_emulator.job(first.job_id)["training_file"]
    assert len(openai_emulator.jobs()) == 2

    # Different bytes, a different file.
    write_jsonl(config.parent / "train.jsonl", chat_rows(13))
    Tuner.from_config(config).submit(new=True)
    assert len(_training_files(openai_emulator)) == 3


def test_large_files_go_through_the_uploads_api_in_parts(
    openai_emulator: OpenAIEmulator, make_config: ConfigFactory
) -> None:
    config = make_config(openai_emulator, provider_options={"multipart_threshold": 1000, "part_size": 512})
    openai_emulator.inject("POST /v1/uploads/*/parts", Fault.status(503), first_n=2)
    openai_emulator.inject("POST /v1/uploads/*/complete", Fault.reset(after_processing=True), first_n=1)
    job = Tuner.from_config(config).submit()
    assert job.wait(poll_interval=0.01, timeout=30).status == JobStatus.SUCCEEDED

    train_id = openai_emulator.job(job.job_id)["training_file"]
    [train] = [f for f in _training_files(openai_emulator) if f["id"] == train_id]
    size = (job.record.run_dir / "train.jsonl").stat().st_size
    assert size > 1000 and train["bytes"] == size
    assert openai_emulator.file_content(str(train["id"])) == (job.record.run_dir / "train.jsonl").read_bytes()
    assert openai_emulator.request_count("POST", "/v1/uploads") == 1  # validation (< 1000 bytes) used /v1/files
    assert len(_training_files(openai_emulator)) == 2
    reply = job.result().client().chat([{"role": "user", "content": "What is the capital of country 5?"}])
    assert reply.text == "The capital of country 5 is City5."


@pytest.mark.openai_emulator(file_lifecycle="timed", step_seconds=0.3)
def test_submit_waits_until_files_are_processed(openai_emulator: OpenAIEmulator, make_config: ConfigFactory) -> None:
    job = Tuner.from_config(make_config(openai_emulator)).submit()
    assert all(f["status"] == "processed" for f in _training_files(openai_emulator))
    retrievals = [r for r in openai_emulator.requests if r.method == "GET" and r.path.startswith("/v1/files/")]
    assert len(retrievals) > 2  # it polled
    assert job.wait(poll_interval=0.01, timeout=30).status == JobStatus.SUCCEEDED


@pytest.mark.openai_emulator(file_lifecycle="manual")
def test_processing_deadline_then_reuse(openai_emulator: OpenAIEmulator, make_config: ConfigFactory) -> None:
    config = make_config(openai_emulator, provider_options={"file_processing_timeout": 0.3})
    with pytest.raises(ServiceUnavailableError, match=r"still uploaded after 0.3 s.*reused, not repeated"):
        Tuner.from_config(config).submit()
    [train] = _training_files(openai_emulator)
    openai_emulator.advance_file(str(train["id"]))

    with pytest.raises(ServiceUnavailableError):  # the same run goes on: train reused, validation now pending
        Tuner.from_config(config).submit()
    [validation] = [f for f in _training_files(openai_emulator) if f["id"] != train["id"]]
    openai_emulator.advance_file(str(validation["id"]))

    job = Tuner.from_config(config).submit()
    assert len(Ledger().runs()) == 1
    assert (job.record.remote["train_file"], job.record.remote["validation_file"]) == (train["id"], validation["id"])
    assert len(_training_files(openai_emulator)) == 2 and len(openai_emulator.jobs()) == 1
