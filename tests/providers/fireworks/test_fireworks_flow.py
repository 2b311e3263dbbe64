"""The Fireworks provider end to end against its emulator: one job per intent, deployments recorded and removed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fireworks_helpers import BASE_MODEL, ConfigFactory
from typer.testing import CliRunner

from tunekit import Ledger, Tuner
from tunekit.cli.app import app
from tunekit.config import load_config
from tunekit.errors import ConfigError, JobFailedError
from tunekit.registry import create_provider
from tunekit.states import JobStatus
from tunekit_emulators.fireworks import FireworksEmulator

runner = CliRunner()


def test_run_twice_makes_one_job_one_dataset_and_a_removable_deployment(
    fireworks: FireworksEmulator, make_config: ConfigFactory
) -> None:
    config = make_config(fireworks, hyperparameters={"epochs": 2}, deploy={"min_replicas": 0})
    first = runner.invoke(app, ["run", str(config), "--yes", "--skip-eval"])
    assert first.exit_code == 0, first.output
    again = runner.invoke(app, ["run", str(config), "--yes", "--skip-eval"])
    assert again.exit_code == 0, again.output
    [job] = fireworks.jobs()
    assert job["state"] == "JOB_STATE_COMPLETED" and job["epochs"] == 2 and job["baseModel"] == BASE_MODEL
    assert [d["state"] for d in fireworks.datasets()] == ["READY"]
    assert fireworks.request_count("POST", f"/v1/accounts/{fireworks.account_id}/supervisedFineTuningJobs") == 1

    [run] = Ledger().runs()
    [deployment] = fireworks.deployments()
    [recorded] = Tuner.from_config(config).deployments(run.run_id, billing=True)
    assert recorded.hourly_price == 3.89 and recorded.sku == "NVIDIA_A100_80GB"
    assert deployment["baseModel"] == job["outputModel"]

    model = Tuner.from_config(config).job(run.run_id).result()
    assert model.deployment == deployment["name"]
    assert model.client().chat([{"role": "user", "content": "say hello"}]).text.endswith("hello")

    gone = runner.invoke(app, ["undeploy", run.run_id])
    assert gone.exit_code == 0, gone.output
    assert fireworks.deployments() == []
    assert Tuner.from_config(config).deployments(run.run_id, billing=True) == []


def test_identical_data_is_uploaded_once(fireworks: FireworksEmulator, make_config: ConfigFactory) -> None:
    tuner = Tuner.from_config(make_config(fireworks))
    first, second = tuner.submit(), tuner.submit(new=True)
    assert first.job_id != second.job_id and len(fireworks.jobs()) == 2
    assert len(fireworks.datasets()) == 1
    uploads = [r for r in fireworks.requests if r.method == "POST" and r.path.endswith(":upload")]
    assert len(uploads) == 1


def test_dpo_runs_as_a_dpo_job_with_its_beta(fireworks: FireworksEmulator, make_config: ConfigFactory) -> None:
    rows = [
        {
            "input": {"messages": [{"role": "user", "content": f"Greet guest {i}"}]},
            "preferred_output": [{"role": "assistant", "content": f"Welcome, guest {i}!"}],
            "non_preferred_output": [{"role": "assistant", "content": "What?"}],
        }
        for i in range(6)
    ]
    config = make_config(fireworks, rows=rows, method="dpo", hyperparameters={"beta": 0.2, "epochs": 1})
    job = Tuner.from_config(config).submit()
    assert job.wait(poll_interval=0.02, timeout=30).status == JobStatus.SUCCEEDED
    [dpo] = fireworks.jobs("dpo")
    assert dpo["lossConfig"] == {"method": "DPO", "klBeta": 0.2}
    assert dpo["trainingConfig"]["baseModel"] == BASE_MODEL and fireworks.jobs("sft") == []
    assert job.result().model_id == dpo["trainingConfig"]["outputModel"]


def test_status_events_cancel_and_a_failure_explained(fireworks: FireworksEmulator, make_config: ConfigFactory) -> None:
    fireworks.lifecycle.mode = "manual"
    tuner = Tuner.from_config(make_config(fireworks))
    job = tuner.submit()
    assert job.status().status == JobStatus.VALIDATING
    fireworks.advance(job.job_id, "JOB_STATE_RUNNING")
    state = job.status()
    assert (state.status, state.raw_status, state.progress) == (JobStatus.RUNNING, "JOB_STATE_RUNNING", 0.5)
    events = list(job.events())
    assert [e.type for e in events] == ["status", "metrics"] and events[1].metrics == {"progress": 0.5}
    assert list(job.events()) == []  # each event is recorded once
    fireworks.fail(job.job_id, "CUDA out of memory on the trainer")
    with pytest.raises(JobFailedError, match="CUDA out of memory"):
        job.result()

    other = tuner.submit(new=True)
    other.cancel()
    other.cancel()  # a second cancel of a cancelled job is not an error
    assert other.status().status == JobStatus.CANCELLED


def test_checkpoints_and_the_adapter_download(
    fireworks: FireworksEmulator, make_config: ConfigFactory, tmp_path: Path
) -> None:
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 8}))
    (adapter / "adapter_model.safetensors").write_bytes(b"\x00" * 64)
    fireworks.adapter_dir = adapter
    config = make_config(fireworks)
    job = Tuner.from_config(config).submit()
    job.wait(poll_interval=0.02, timeout=30)
    [checkpoint] = job.checkpoints()
    assert checkpoint.model_id == job.result().model_id
    provider = create_provider("fireworks", load_config(config).options())
    folder = provider.local_files(job.result())
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == {p.name: p.read_bytes() for p in adapter.iterdir()}
    assert provider.local_files(job.result()) == folder  # downloaded once


def test_estimate_shows_the_fireworks_row_with_its_price_date(
    fireworks: FireworksEmulator, make_config: ConfigFactory
) -> None:
    shown = runner.invoke(app, ["estimate", str(make_config(fireworks, hyperparameters={"epochs": 2})), "--json"])
    assert shown.exit_code == 0, shown.output
    row = next(r for r in json.loads(shown.stdout)["estimates"] if r["provider"] == "fireworks")
    assert (row["billed_tokens"], row["price_per_1m_tokens"]) == (2 * row["tokens_per_epoch"], 0.5)
    assert row["prices_as_of"] == "2026-12-03" and row["prices_source"] == "https://fireworks.ai/pricing"
    assert row["hosting_per_hour"] == 3.89
    assert fireworks.requests == []  # estimating asks the service nothing


def test_init_from_warm_starts_from_the_earlier_runs_adapter(
    fireworks: FireworksEmulator, make_config: ConfigFactory
) -> None:
    first = Tuner.from_config(make_config(fireworks)).submit()
    first.wait(poll_interval=0.02, timeout=30)
    parent = first.result().model_id
    second = Tuner.from_config(make_config(fireworks, init_from=first.run_id, hyperparameters={"epochs": 1})).submit()
    second.wait(poll_interval=0.02, timeout=30)
    warm = fireworks.jobs()[1]
    assert warm["warmStartFrom"] == parent and "baseModel" not in warm
    assert second.result().base_model == parent  # continued from the first run's adapter


def test_full_weight_training_is_refused_before_upload(
    fireworks: FireworksEmulator, make_config: ConfigFactory
) -> None:
    with pytest.raises(ConfigError, match="Fireworks trains LoRA adapters only"):
        Tuner.from_config(make_config(fireworks, lora=None)).submit()
    assert fireworks.requests == []


def test_an_evaluation_without_a_deployment_is_refused_before_upload(
    fireworks: FireworksEmulator, make_config: ConfigFactory
) -> None:
    """Fireworks serves a tuned LoRA only on a deployment: an `eval:` with no `deploy:` would pay, then fail."""
    evaluation = {"data": "train.jsonl", "baselines": ["zero-shot"], "max_examples": 2, "max_new_tokens": 8}
    config = make_config(fireworks, eval=evaluation)
    refused = runner.invoke(app, ["run", str(config), "--yes", "--poll-interval", "0.02"])
    out = " ".join(refused.output.split())
    assert refused.exit_code == 1, out
    assert f"model: fireworks serves a model tuned from '{BASE_MODEL}' only on a dedicated deployment" in out
    assert "serves_tuned: none" in out and "deploy:" in out and "nothing was uploaded or spent" in out
    assert fireworks.datasets() == [] and fireworks.jobs() == [] and Ledger().runs() == []

    # With the deployment the evaluation calls, the same run trains, deploys and is evaluated.
    deployed = make_config(fireworks, eval=evaluation, deploy={"min_replicas": 0})
    ran = runner.invoke(app, ["run", str(deployed), "--yes", "--poll-interval", "0.02"])
    assert ran.exit_code == 0, ran.output
    assert len(fireworks.jobs()) == 1 and len(fireworks.deployments()) == 1


def test_a_deployment_that_never_becomes_ready_is_deleted(
    fireworks: FireworksEmulator, make_config: ConfigFactory
) -> None:
    config = make_config(fireworks, provider_options={"deploy_timeout": 0.2})
    job = Tuner.from_config(config).submit()
    assert job.wait(poll_interval=0.02, timeout=30).status == JobStatus.SUCCEEDED
    fireworks.lifecycle.mode = "manual"  # the deployment stays CREATING
    failed = runner.invoke(app, ["deploy", job.run_id, "--yes"])
    assert failed.exit_code != 0
    assert "is CREATING after 0.2 s; it was deleted, nothing bills" in str(failed.exception) + failed.output
    assert fireworks.deployments() == []
    assert [d.state for d in Tuner.from_config(config).deployments(job.run_id)] == ["deleted"]
