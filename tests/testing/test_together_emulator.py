"""The Together emulator, driven by the official together SDK: routes, lifecycle, refusals, faults, control API."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import together

from tunekit_emulators import Fault
from tunekit_emulators.together import TogetherEmulator

MODEL = "Qwen/Qwen3-8B"
ROWS = b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}\n' * 3


def _client(emu: TogetherEmulator) -> together.Together:
    return together.Together(api_key=emu.api_key, base_url=emu.url, max_retries=0)


@pytest.fixture
def uploaded(together_emulator: TogetherEmulator, tmp_path: Path) -> str:
    path = tmp_path / "train.jsonl"
    path.write_bytes(ROWS)
    return _client(together_emulator).files.upload(file=path, purpose="fine-tune", check=False).id


def test_the_same_bytes_are_stored_once(together_emulator: TogetherEmulator, uploaded: str, tmp_path: Path) -> None:
    again = tmp_path / "copy.jsonl"
    again.write_bytes(ROWS)
    # The service answers a known checksum with 409 and the stored file's id; the SDK returns that file.
    assert _client(together_emulator).files.upload(file=again, purpose="fine-tune", check=False).id == uploaded
    assert len(together_emulator.files()) == 1
    assert together_emulator.files()[0]["processing_status"] == "COMPLETED"


@pytest.mark.together_emulator(lifecycle="manual")
def test_a_job_moves_only_when_told(together_emulator: TogetherEmulator, uploaded: str) -> None:
    client = _client(together_emulator)
    job = client.fine_tuning.create(training_file=uploaded, model=MODEL, suffix="caps", lora=True)
    assert job.status == "pending" and client.fine_tuning.retrieve(job.id).status == "pending"
    url = f"{together_emulator.url}/_emulator/fine-tunes/{job.id}/advance"
    assert httpx.post(url, json={"to": "running"}).json()["status"] == "running"
    assert httpx.post(url, json={"to": "queued"}).status_code == 400  # never backwards
    together_emulator.advance(job.id, "completed")
    done = client.fine_tuning.retrieve(job.id)
    assert done.status == "completed" and done.x_model_output_name and "caps" in done.x_model_output_name
    types = [e.type for e in client.fine_tuning.list_events(job.id).data]
    assert types[0] == "job_pending" and types[-1] == "job_complete"
    assert [m["global_step"] for m in client.fine_tuning.list_metrics(job.id).metrics or []][-1] == 10
    [listed] = client.fine_tuning.list().data
    assert listed.suffix == "caps"


def test_refusals_have_the_services_shape(together_emulator: TogetherEmulator, uploaded: str) -> None:
    client = _client(together_emulator)
    with pytest.raises(together.NotFoundError, match="not available for fine-tuning"):
        client.fine_tuning.create(training_file=uploaded, model="meta-llama/Llama-2-7b-hf")
    with pytest.raises(together.BadRequestError, match="suffix must be at most 40"):
        client.fine_tuning.create(training_file=uploaded, model=MODEL, suffix="s" * 41)
    # The SDK reads the model's limits from the emulator and refuses full training of a LoRA-only model itself.
    with pytest.raises(ValueError, match="Full training is not supported"):
        client.fine_tuning.create(
            training_file=uploaded, model="meta-llama/Llama-3.3-70B-Instruct-Reference", lora=False
        )
    with pytest.raises(together.AuthenticationError):
        together.Together(api_key="tgp_v1_wrong", base_url=together_emulator.url, max_retries=0).files.list()
    assert together_emulator.jobs() == []


def test_cancel_and_a_download_of_a_finished_job(together_emulator: TogetherEmulator, uploaded: str) -> None:
    client = _client(together_emulator)
    job = client.fine_tuning.create(training_file=uploaded, model=MODEL, lora=True)
    archive = client.fine_tuning.content(ft_id=job.id, checkpoint="adapter").read()
    assert archive[:4] == b"\x28\xb5\x2f\xfd"  # .tar.zst, as Together sends it
    with pytest.raises(together.BadRequestError, match="cannot be cancelled"):
        client.fine_tuning.cancel(job.id)  # immediate lifecycle: already completed


def test_faults_are_injected_on_the_sdks_routes(together_emulator: TogetherEmulator, uploaded: str) -> None:
    together_emulator.inject("GET /v1/fine-tunes", Fault.status(503), first_n=1)
    client = _client(together_emulator)
    with pytest.raises(together.InternalServerError):
        client.fine_tuning.list()
    assert client.fine_tuning.list().data == []


@pytest.mark.slow
def test_tunekit_emulate_together_serves_the_sdk() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tunekit.cli", "emulate", "together", "--port", "0", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        details = json.loads(process.stdout.readline())
        client = together.Together(api_key=details["api_key"], base_url=details["base_url"], max_retries=0)
        assert client.fine_tuning.model_limits(model_name=MODEL).supports_full_training
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0 and "/v1/fine-tunes/models/limits" in stderr
