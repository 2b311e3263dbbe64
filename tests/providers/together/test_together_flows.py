"""The Together provider end to end against its emulator: the CLI's run, the job body, results and downloads."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tunekit import Ledger, Tuner
from tunekit.cli.app import app
from tunekit_emulators.together import TogetherEmulator

runner = CliRunner()
ConfigFactory = Callable[..., Path]


def test_one_config_run_twice_trains_once(together_emulator: TogetherEmulator, make_config: ConfigFactory) -> None:
    config = make_config(together_emulator)
    for _ in range(2):
        result = runner.invoke(app, ["run", str(config), "--yes", "--skip-eval", "--poll-interval", "0.02"])
        assert result.exit_code == 0, result.output
    [job] = together_emulator.jobs()
    assert len(together_emulator.files()) == 1  # the same bytes are uploaded once
    assert together_emulator.request_count("POST", "/v1/fine-tunes") == 1
    [record] = Ledger().runs()
    assert record.remote["job_id"] == job["id"] and record.status.value == "succeeded"
    assert record.result is not None and record.result["model_id"] == job["model_output_name"]
    # The suffix carries the user's suffix and the run's tag; the tuned model answers on the chat API.
    assert job["suffix"].startswith("capitals-tk") and job["suffix"] in job["model_output_name"]
    model = Tuner.for_run(record.run_id).job(record.run_id).result()
    assert model.client().chat([{"role": "user", "content": "the capital"}]).text.endswith("capital")


def test_settings_reach_the_job_in_togethers_names(
    together_emulator: TogetherEmulator,
    make_config: ConfigFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("WANDB_API_KEY", "wandb-key-0123456789")
    first = Tuner.from_config(make_config(together_emulator, name="first.yaml")).submit()
    first.wait(poll_interval=0.02, timeout=30)
    options = {"from_checkpoint": f"{first.job_id}:10", "n_checkpoints": 2, "wandb": {"project": "caps"}}
    hyper = {"epochs": 3, "learning_rate": 2e-4, "beta": 0.2, "batch_size": 8, "learning_rate_multiplier": 2.0}
    config = make_config(together_emulator, method="dpo", lora=None, hyperparameters=hyper, provider_options=options)
    with caplog.at_level(logging.WARNING, logger="tunekit"):
        Tuner.from_config(config).submit()
    job = together_emulator.jobs()[-1]
    assert (
        job["model"] == "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
    )  # continued from the first job's checkpoint, on its base model
    assert job["training_type"] == {"type": "Full"}
    assert job["training_method"]["method"] == "dpo" and job["training_method"]["dpo_beta"] == 0.2
    assert (job["n_epochs"], job["learning_rate"], job["batch_size"], job["n_checkpoints"]) == (3, 2e-4, 8, 2)
    assert job["from_checkpoint"] == f"{first.job_id}:10" and job["wandb_project_name"] == "caps"
    assert "learning_rate_multiplier is ignored on Together" in caplog.text


def test_lora_settings_and_the_checkpoints(together_emulator: TogetherEmulator, make_config: ConfigFactory) -> None:
    lora = {"r": 8, "alpha": 16, "dropout": 0.1, "target_modules": ["q_proj", "v_proj"]}
    config = make_config(together_emulator, lora=lora, provider_options={"n_checkpoints": 2})
    job = Tuner.from_config(config).submit()
    [remote] = together_emulator.jobs()
    assert remote["training_type"] == {
        "type": "Lora",
        "lora_r": 8,
        "lora_alpha": 16,
        "lora_dropout": 0.1,
        "lora_trainable_modules": "q_proj,v_proj",
    }
    job.wait(poll_interval=0.02, timeout=30)
    assert [c.step for c in job.checkpoints()] == [5, 10]
    model = job.result()
    assert model.metadata["lora"] is True and model.metadata["steps"] == 10


def test_a_failed_job_says_why(make_config: ConfigFactory) -> None:
    with TogetherEmulator(lifecycle="manual") as emu:
        job = Tuner.from_config(make_config(emu)).submit()
        emu.fail(job.job_id, "the training data holds no assistant turn")
        state = job.status()
    assert state.status.value == "failed" and state.message == "the training data holds no assistant turn"


def test_cancel_is_recorded_once(make_config: ConfigFactory) -> None:
    with TogetherEmulator(lifecycle="manual") as emu:
        job = Tuner.from_config(make_config(emu)).submit()
        job.cancel()
        job.cancel()  # a second cancel of a cancelled job is not an error
        assert job.status().status.value == "cancelled"


def test_estimate_shows_the_together_row(together_emulator: TogetherEmulator, make_config: ConfigFactory) -> None:
    result = runner.invoke(app, ["estimate", str(make_config(together_emulator)), "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["provider"]: row for row in json.loads(result.stdout)["estimates"]}
    row = rows["together"]
    assert row["price_per_1m_tokens"] == 0.48 and row["prices_as_of"] == "2026-12-03"
    assert row["training_cost"] == pytest.approx(row["billed_tokens"] * 0.48 / 1e6, abs=1e-4)
    assert together_emulator.requests == []  # estimating sends nothing


@pytest.mark.slow
def test_downloaded_weights_export(make_config: ConfigFactory, tmp_path: Path) -> None:
    pytest.importorskip("tunekit_local")
    from tunekit_local.testing import build_tiny_chat_model

    merged = build_tiny_chat_model(tmp_path / "weights")
    with TogetherEmulator(artifacts={"merged": merged}) as emu:
        config = make_config(emu, lora=None)
        job = Tuner.from_config(config).submit()
        job.wait(poll_interval=0.02, timeout=30)
        out = tmp_path / "export"
        result = runner.invoke(app, ["export", job.run_id, "--format", "merged", "--out", str(out), "--json"])
        assert result.exit_code == 0, result.output
    assert (out / "config.json").is_file() and any(out.glob("*.safetensors"))
