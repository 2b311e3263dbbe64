"""The local provider driven by the Tuner: prepare with the shared data layer, submit, follow, resume, use."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tunekit.jobs import JobStatus
from tunekit.tuner import Tuner
from tunekit_emulators.conformance.data import write_jsonl
from tunekit_local import launch
from tunekit_local.runfolder import RunFolder
from tunekit_local.testing import sample_conversations, wait_for_job

pytestmark = pytest.mark.slow


def openai_chat_file(path: Path, n: int = 32) -> Path:
    return write_jsonl(path, [{"messages": chat} for chat in sample_conversations(n, system=True)])


def tuner(model: Path, data: Path, **options: Any) -> Tuner:
    return Tuner(
        provider="local",
        model=str(model),
        data={"train": str(data)},
        hyperparameters={"learning_rate": 1e-2, "batch_size": 4},
        lora={"r": 8, "alpha": 16, "dropout": 0.0},
        provider_options={"device": "cpu", **options},
    )


def test_tuner_prepares_trl_data_trains_and_chats(tiny_model: Path, tmp_path: Path) -> None:
    t = tuner(tiny_model, openai_chat_file(tmp_path / "train.jsonl"), max_steps=4)
    job = t.submit()
    assert t.submit().job_id == job.job_id  # submitting the same config again re-attaches
    folder = RunFolder(job.record.run_dir)
    rows = [json.loads(line) for line in (folder.data / "train.jsonl").read_text().splitlines()]
    assert len(rows) == 32 and rows[0]["messages"][0]["role"] == "system"  # TRL conversational rows
    state = job.wait(poll_interval=0.5, timeout=600)
    assert state.status == JobStatus.SUCCEEDED, state.message
    assert [e.step for e in job.metrics() if "train_loss" in e.metrics] == [1, 2, 3, 4]
    model = job.result()
    assert model.kind == "adapter" and model.run_id == job.run_id
    reply = model.client().chat([{"role": "user", "content": "The cup is red. What colour is the cup?"}], max_tokens=6)
    assert reply.usage.completion_tokens > 0


def test_resume_after_sigkill_reaches_the_same_final_step(tiny_model: Path, tmp_path: Path) -> None:
    steps = 24
    data = openai_chat_file(tmp_path / "train.jsonl", 48)
    t = tuner(tiny_model, data, max_steps=steps, checkpoint_every=3)
    job = t.submit()
    folder = RunFolder(job.record.run_dir)
    info = launch.ProcessInfo.read(folder)
    assert info is not None
    while folder.last_checkpoint() is None:
        assert launch.is_alive(info), folder.log.read_text()[-3000:]
        time.sleep(0.02)
    launch.kill(info)  # what the OOM killer or a power cut does: no chance to clean up
    state = wait_for_job(job.provider, job.ref, timeout=30)
    assert state.status == JobStatus.FAILED and state.raw_status == "interrupted"
    assert "resume" in (state.message or "")
    interrupted_at = folder.last_checkpoint()
    assert interrupted_at is not None

    job.resume()
    state = job.wait(poll_interval=0.5, timeout=600)
    assert state.status == JobStatus.SUCCEEDED, (state.message, folder.log.read_text()[-3000:])
    assert state.step == steps
    trainer_state = json.loads((folder.checkpoints / f"checkpoint-{steps}" / "trainer_state.json").read_text())
    assert trainer_state["global_step"] == steps
    messages = [e.message for e in job.history()]
    assert f"resuming from {interrupted_at.name}" in messages

    # The resumed run takes the same steps as one never interrupted (same data order, RNG and optimizer state).
    reference = tuner(tiny_model, data, max_steps=steps, checkpoint_every=3).submit(new=True)
    assert reference.wait(poll_interval=0.5, timeout=600).status == JobStatus.SUCCEEDED

    def last_loss(j: Any) -> float:
        return [e.metrics["train_loss"] for e in j.history() if e.step == steps and "train_loss" in e.metrics][-1]

    assert last_loss(job) == pytest.approx(last_loss(reference), abs=1e-4)


def test_cancel_stops_the_training_process(tiny_model: Path, tmp_path: Path) -> None:
    t = tuner(tiny_model, openai_chat_file(tmp_path / "train.jsonl"), max_steps=100000, checkpoint_every=100000)
    job = t.submit()
    folder = RunFolder(job.record.run_dir)
    while not any(e.type == "metrics" for e in job.provider.events(job.ref)):
        assert not job.status().is_terminal, folder.log.read_text()[-3000:]
        time.sleep(0.2)
    job.cancel()
    info = launch.ProcessInfo.read(folder)
    assert info is not None and not launch.is_alive(info)
    state = job.status()
    assert state.status == JobStatus.CANCELLED
    assert not folder.adapter.exists()
