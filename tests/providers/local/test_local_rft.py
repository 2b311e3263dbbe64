"""Reinforcement fine-tuning (GRPO) on the local provider: rewards per step, the check before training, resume."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tunekit.errors import ConfigError
from tunekit.jobs import JobStatus
from tunekit.tuner import Tuner
from tunekit_emulators.conformance.data import write_jsonl
from tunekit_local import launch
from tunekit_local.runfolder import RunFolder
from tunekit_local.testing import sample_conversations, wait_for_job

REWARDS = '''
def length(prediction, reference, colour):
    """Longer answers score more (a random model's samples differ in length), so the reward varies."""
    assert isinstance(colour, str)
    return min(len(prediction), 40) / 40


def constant(prediction, reference):
    return 0.5
'''


def rft_data(tmp_path: Path, n: int = 16) -> tuple[Path, Path]:
    """Chats with an extra ``colour`` column (not trained on; the reward asks for it by name), and the rewards file."""
    rows = []
    for chat in sample_conversations(n):
        colour = chat[-1]["content"].rstrip(".").split()[-1]
        rows.append({"messages": chat, "colour": colour})
    rewards = tmp_path / "rewards.py"
    rewards.write_text(REWARDS, encoding="utf-8")
    return write_jsonl(tmp_path / "train.jsonl", rows), rewards


def rft_tuner(model: Path, data: Path, reward: list[str], **options: Any) -> Tuner:
    return Tuner(
        provider="local",
        model=str(model),
        method="grpo",  # the alias
        reward=reward,
        data={"train": str(data)},
        hyperparameters={"learning_rate": 1e-3},
        lora={"r": 8, "alpha": 16, "dropout": 0.0},
        provider_options={"device": "cpu", **options},
    )


@pytest.mark.slow
def test_grpo_two_steps_logs_rewards_and_writes_an_adapter(tiny_model: Path, tmp_path: Path) -> None:
    data, rewards = rft_data(tmp_path)
    job = rft_tuner(tiny_model, data, [f"{rewards}:length"], max_steps=2).submit()
    assert job.record.config["method"] == "rft"
    state = job.wait(poll_interval=0.5, timeout=600)
    folder = RunFolder(job.record.run_dir)
    assert state.status == JobStatus.SUCCEEDED, (state.message, folder.log.read_text()[-3000:])

    per_step = [e for e in job.metrics() if "reward" in e.metrics]
    assert [e.step for e in per_step] == [1, 2]
    for event in per_step:  # the reward and its spread, per step, under the reward's own name
        assert {"reward", "reward_std", "rewards/length/mean", "rewards/length/std"} <= set(event.metrics)
    checked = [e for e in job.history() if "reward_check" in e.data]
    assert checked and checked[0].data["reward_check"][0]["prompts_with_spread"] > 0

    assert (folder.adapter / "adapter_model.safetensors").is_file()
    plan = json.loads(folder.plan.read_text())
    assert plan["plan"]["num_generations"] == 4 and plan["trainer_args"]["num_generations"] == 4
    assert plan["plan"]["batch_size"] % 4 == 0
    result = job.result()
    assert result.kind == "adapter" and "final_reward" in result.metadata


@pytest.mark.slow
def test_a_constant_reward_is_refused_before_training(tiny_model: Path, tmp_path: Path) -> None:
    data, rewards = rft_data(tmp_path)
    job = rft_tuner(tiny_model, data, [f"{rewards}:constant"], max_steps=2).submit()
    state = job.wait(poll_interval=0.5, timeout=600)
    assert state.status == JobStatus.FAILED
    assert "reward constant: gave 0.5 to every completion" in (state.message or "")
    folder = RunFolder(job.record.run_dir)
    assert not any(e.type == "metrics" for e in job.history())  # not one training step
    assert not folder.checkpoints.exists() or not any(folder.checkpoints.iterdir())
    assert not folder.adapter.exists()


def test_a_reward_needing_a_column_the_data_lacks_is_refused_before_the_job(tiny_model: Path, tmp_path: Path) -> None:
    rewards = tmp_path / "rewards.py"
    rewards.write_text(REWARDS, encoding="utf-8")
    data = write_jsonl(tmp_path / "train.jsonl", [{"messages": chat} for chat in sample_conversations(4)])
    tuner = rft_tuner(tiny_model, data, [f"{rewards}:length"], max_steps=2)
    with pytest.raises(ConfigError, match=r"reward length: needs the column 'colour', which 4 of 4 examples lack"):
        tuner.submit()
    (run,) = tuner.ledger.runs()
    assert run.status == "failed" and not run.has_job  # refused before a training process started


@pytest.mark.slow
def test_rft_resumes_after_sigkill_to_the_final_step(tiny_model: Path, tmp_path: Path) -> None:
    data, rewards = rft_data(tmp_path)
    job = rft_tuner(tiny_model, data, [f"{rewards}:length"], max_steps=4, checkpoint_every=1).submit()
    folder = RunFolder(job.record.run_dir)
    info = launch.ProcessInfo.read(folder)
    assert info is not None
    while folder.last_checkpoint() is None:
        assert launch.is_alive(info), folder.log.read_text()[-3000:]
        time.sleep(0.02)
    launch.kill(info)
    state = wait_for_job(job.provider, job.ref, timeout=30)
    assert state.status == JobStatus.FAILED and state.raw_status == "interrupted"
    interrupted_at = folder.last_checkpoint()
    assert interrupted_at is not None

    job.resume()
    state = job.wait(poll_interval=0.5, timeout=600)
    assert state.status == JobStatus.SUCCEEDED, (state.message, folder.log.read_text()[-3000:])
    assert state.step == 4
    assert f"resuming from {interrupted_at.name}" in [e.message for e in job.history()]
    resumed_steps = {e.step for e in job.metrics() if "reward" in e.metrics}
    assert 4 in resumed_steps
    assert (folder.adapter / "adapter_model.safetensors").is_file()
