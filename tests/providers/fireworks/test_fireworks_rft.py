"""Reinforcement fine-tuning on Fireworks: the rewards `tunekit eval` uses become the job's evaluator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fireworks_helpers import BASE_MODEL, ConfigFactory
from typer.testing import CliRunner

from tunekit import Tuner
from tunekit.cli.app import app
from tunekit.errors import ConfigError, JobFailedError
from tunekit.states import JobStatus
from tunekit_emulators.fireworks import FireworksEmulator

runner = CliRunner()

REWARDS = '''
def mentions(prediction, reference, city):
    """The answer names the example's city."""
    return float(city in prediction)


def picky(prediction, reference):
    raise ValueError("cannot score " + reference)
'''


def city_rows(n: int) -> list[dict[str, Any]]:
    return [
        {
            "messages": [
                {"role": "user", "content": f"Name the capital of country {i}: City{i}"},
                {"role": "assistant", "content": f"City{i}"},
            ],
            "city": f"City{i}",
        }
        for i in range(n)
    ]


def rft_config(make_config: ConfigFactory, emu: FireworksEmulator, reward: list[str], **fields: Any) -> Path:
    hyper = {"epochs": 1, "generations": 4, "max_completion_length": 64, "beta": 0.05}
    config = make_config(emu, rows=city_rows(6), method="rft", reward=reward, hyperparameters=hyper, **fields)
    (config.parent / "rewards.py").write_text(REWARDS, encoding="utf-8")
    return config


def test_rft_runs_the_rewards_as_one_evaluator_and_one_job_per_run(
    fireworks: FireworksEmulator, make_config: ConfigFactory
) -> None:
    config = rft_config(make_config, fireworks, ["exact_match", "rewards.py:mentions"])
    shown = runner.invoke(app, ["estimate", str(config), "--json"])
    [row] = [r for r in json.loads(shown.stdout)["estimates"] if r["provider"] == "fireworks"]
    assert row["training_cost"] is None  # never the SFT token price: Fireworks lists no RFT rate here
    assert any("no price for rft" in note for note in row["notes"]), row
    for _ in range(2):  # a re-run after success finds the job (and the evaluator) instead of making new ones
        # exact_match gives the echoing base model 0 on every sample: this test is about the evaluator, not that.
        done = runner.invoke(app, ["run", str(config), "--yes", "--skip-eval", "--skip-reward-check"])
        assert done.exit_code == 0, done.output
    [job] = fireworks.jobs("rft")
    [evaluator] = fireworks.evaluators()
    assert job["state"] == "JOB_STATE_COMPLETED" and job["evaluator"] == evaluator["name"]
    assert job["trainingConfig"]["baseModel"] == BASE_MODEL and job["trainingConfig"]["epochs"] == 1
    assert job["inferenceParameters"] == {"responseCandidatesCount": 4, "maxOutputTokens": 64}
    assert job["lossConfig"] == {"klBeta": 0.05}
    account = f"/v1/accounts/{fireworks.account_id}"
    assert fireworks.request_count("POST", f"{account}/reinforcementFineTuningJobs") == 1
    assert fireworks.request_count("POST", f"{account}/evaluatorsV2") == 1

    # The evaluator is the rewards' own source behind reward-kit's entry point.
    [criterion] = evaluator["criteria"]
    code = criterion["codeSnippets"]
    assert (code["entryFile"], code["entryFunc"]) == ("main.py", "evaluate")
    assert "def mentions(prediction, reference, city):" in code["fileContents"]["main.py"]
    assert "def exact_match(" in code["fileContents"]["main.py"]
    # The rows hold the prompt, the reference as ground_truth, and the other columns by name.
    [dataset] = fireworks.datasets()
    assert dataset["format"] == "RL"
    content = fireworks.store.contents[dataset["name"].rsplit("/", 1)[-1]]
    rows = {row["city"]: row for row in map(json.loads, content.splitlines())}
    assert rows["City2"] == {
        "messages": [{"role": "user", "content": "Name the capital of country 2: City2"}],
        "ground_truth": "City2",
        "city": "City2",
    }
    # The emulator ran that code on every row: the echo answer "... answers: City<i>" names the city (1)
    # and is not exactly the reference (0), so each row scores their mean.
    assert json.loads(job["outputMetrics"]) == {"reward_mean": 0.5}

    tuner = Tuner.from_config(config)
    again = tuner.submit(new=True)  # another run with the same rewards shares the evaluator
    assert again.wait(poll_interval=0.02, timeout=30).status == JobStatus.SUCCEEDED
    assert len(fireworks.jobs("rft")) == 2 and len(fireworks.evaluators()) == 1
    assert again.result().model_id == fireworks.jobs("rft")[1]["trainingConfig"]["outputModel"]
    [checkpoint] = again.checkpoints()
    assert checkpoint.model_id == again.result().model_id


def test_init_from_warm_starts_rft_from_the_sft_runs_adapter(
    fireworks: FireworksEmulator, make_config: ConfigFactory
) -> None:
    sft = Tuner.from_config(make_config(fireworks, rows=city_rows(6))).submit()
    assert sft.wait(poll_interval=0.02, timeout=30).status == JobStatus.SUCCEEDED
    config = rft_config(make_config, fireworks, ["rewards.py:mentions"], init_from=sft.run_id)
    rft = Tuner.from_config(config).submit()
    assert rft.wait(poll_interval=0.02, timeout=30).status == JobStatus.SUCCEEDED
    [job] = fireworks.jobs("rft")
    assert job["trainingConfig"]["warmStartFrom"] == sft.result().model_id
    assert "baseModel" not in job["trainingConfig"]
    assert rft.result().base_model == sft.result().model_id


def test_an_evaluator_that_raises_fails_the_job_and_a_running_job_cancels(
    fireworks: FireworksEmulator, make_config: ConfigFactory
) -> None:
    tuner = Tuner.from_config(rft_config(make_config, fireworks, ["rewards.py:picky"]))
    job = tuner.submit()
    assert job.wait(poll_interval=0.02, timeout=30).status == JobStatus.FAILED
    failed = r"evaluator accounts/.*/evaluators/tk-reward-\w+ failed: row 1: ValueError: cannot score City"
    with pytest.raises(JobFailedError, match=failed):
        job.result()

    fireworks.lifecycle.mode = "manual"
    other = tuner.submit(new=True)
    assert other.status().status == JobStatus.VALIDATING
    other.cancel()
    assert other.status().status == JobStatus.CANCELLED


@pytest.mark.parametrize(
    ("module", "why"),
    [
        ("import yaml\n\n\ndef mentions(prediction, reference, city):\n    return 1.0\n", "its module imports yaml"),
        ("mentions = lambda prediction, reference, city: 1.0\n", "only a plain top-level function"),
    ],
)
def test_a_reward_that_cannot_run_on_the_service_is_refused_before_upload(
    fireworks: FireworksEmulator, make_config: ConfigFactory, module: str, why: str
) -> None:
    config = rft_config(make_config, fireworks, ["rewards.py:mentions"])
    (config.parent / "rewards.py").write_text(module, encoding="utf-8")
    with pytest.raises(ConfigError, match=f"reward mentions: {why}"):
        Tuner.from_config(config).submit()
    assert fireworks.datasets() == [] and fireworks.evaluators() == [] and fireworks.requests == []
