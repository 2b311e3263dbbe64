"""From a config to a chat reply from the tuned model, through the real SDK and the emulator."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openai_helpers import BASE_MODEL, ConfigFactory

from tunekit import JobStatus, Tuner
from tunekit_emulators.openai import OpenAIEmulator


def test_sft_from_config_to_a_tuned_reply(openai_emulator: OpenAIEmulator, make_config: ConfigFactory) -> None:
    tuner = Tuner.from_config(make_config(openai_emulator))
    job = tuner.submit()
    state = job.wait(poll_interval=0.01, timeout=30)
    assert state.status == JobStatus.SUCCEEDED

    [remote] = openai_emulator.jobs()
    assert remote["id"] == job.job_id
    assert remote["metadata"]["tunekit_run_id"] == job.run_id
    assert remote["metadata"]["tunekit_config_hash"] == tuner.config_hash
    assert remote["method"]["type"] == "supervised"
    assert remote["method"]["supervised"]["hyperparameters"]["n_epochs"] == 2
    assert remote["validation_file"] is not None

    model = job.result()
    assert model.kind == "model_id"
    assert model.model_id == remote["fine_tuned_model"]
    assert model.model_id.startswith(f"ft:{BASE_MODEL}:") and "capitals" in model.model_id
    assert model.base_model == BASE_MODEL

    question = [{"role": "user", "content": "What is the capital of country 3?"}]
    tuned = model.client().chat(question)
    assert tuned.text == "The capital of country 3 is City3."
    base = tuner.provider.base_client(BASE_MODEL).chat(question)
    assert base.text != tuned.text

    # The run folder keeps the result file (read by header name) and the loss curve.
    run_dir = job.record.run_dir
    with (run_dir / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert rows and "train_loss" in rows[0]
    curve = Path(model.metadata["loss_curve"])
    assert curve == run_dir / "loss_curve.png"
    assert curve.read_bytes().startswith(b"\x89PNG")
    assert model.metadata["final_metrics"]["train_loss"] == pytest.approx(float(rows[-1]["train_loss"]))


def test_dpo_from_config_to_a_tuned_reply(openai_emulator: OpenAIEmulator, make_config: ConfigFactory) -> None:
    config = make_config(openai_emulator, method="dpo", hyperparameters={"epochs": 1, "beta": 0.2})
    job = Tuner.from_config(config).submit()
    assert job.wait(poll_interval=0.01, timeout=30).status == JobStatus.SUCCEEDED

    [remote] = openai_emulator.jobs()
    assert remote["method"]["type"] == "dpo"
    hyperparameters = remote["method"]["dpo"]["hyperparameters"]
    assert (hyperparameters["n_epochs"], hyperparameters["beta"]) == (1, 0.2)

    reply = job.result().client().chat([{"role": "user", "content": "Greet guest number 7"}])
    assert reply.text == "Welcome, guest 7!"


def test_reinforcement_with_a_grader_and_wandb(openai_emulator: OpenAIEmulator, make_config: ConfigFactory) -> None:
    grader = {
        "type": "string_check",
        "name": "exact answer",
        "input": "{{sample.output_text}}",
        "reference": "{{item.answer}}",
        "operation": "eq",
    }
    config = make_config(
        openai_emulator,
        model="o4-mini-2025-04-16",
        hyperparameters={"epochs": 1},
        provider_options={
            "grader": grader,
            "reinforcement": {"reasoning_effort": "low", "eval_interval": 5},
            "wandb": {"project": "capitals", "tags": ["tunekit"]},
        },
    )
    job = Tuner.from_config(config).submit()
    assert job.wait(poll_interval=0.01, timeout=30).status == JobStatus.SUCCEEDED

    [remote] = openai_emulator.jobs()
    method = remote["method"]
    assert method["type"] == "reinforcement"
    assert method["reinforcement"]["grader"] == grader
    hyper = method["reinforcement"]["hyperparameters"]
    assert (hyper["n_epochs"], hyper["reasoning_effort"], hyper["eval_interval"]) == (1, "low", 5)
    [integration] = remote["integrations"]
    assert integration["type"] == "wandb" and integration["wandb"]["project"] == "capitals"
    assert integration["wandb"]["tags"] == ["tunekit"]
