"""AutoTrain end to end on the Hub emulator through the real HfApi: upload, launch, logs, verified result, chat."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from autotrain_helpers import BASE_MODEL, TunerFactory, write_pairs

from tunekit.errors import JobCancelledError, JobFailedError
from tunekit.jobs import JobStatus
from tunekit_autotrain.backends import label_value
from tunekit_emulators.hub import HubEmulator


@pytest.mark.hub_emulator(lifecycle="manual", log_idle_close_s=0.2)
def test_upload_launch_logs_success_and_chat(hub_emulator: HubEmulator, make_tuner: TunerFactory) -> None:
    tuner = make_tuner()
    job = tuner.submit()
    ref = job.ref
    dataset, model_repo = ref.extra["dataset_repo"], ref.extra["model_repo"]

    api = hub_emulator.api()
    assert api.dataset_info(dataset).private is True
    rows = [json.loads(line) for line in hub_emulator.files(dataset, "dataset")["train.jsonl"].splitlines()]
    assert len(rows) == 24 and rows[0]["text"][0] == {"role": "system", "content": "Answer with a number."}
    assert {row["text"][1]["content"] for row in rows} == {f"What is {i} plus {i}?" for i in range(24)}

    spec = hub_emulator.job(job.job_id)
    assert spec["labels"]["tunekit-run-id"] == label_value(job.run_id)
    assert spec["dockerImage"] == "huggingface/autotrain-advanced:latest" and spec["flavor"] == "a10g-small"
    assert list(spec["secrets"]) == ["HF_TOKEN"] and hub_emulator.token not in json.dumps(spec)
    assert spec["timeoutSeconds"] == 7200  # the default timeout, 2h
    params = json.loads(spec["environment"]["PARAMS"])
    assert params["trainer"] == "sft" and params["peft"] is True and params["chat_template"] == "tokenizer"
    assert params["text_column"] == "text" and params["data_path"] == dataset and params["repo_id"] == model_repo
    assert (params["lr"], params["epochs"], params["batch_size"], params["gradient_accumulation"]) == (3e-5, 1, 2, 4)
    assert params["quantization"] == "int4" and params["push_to_hub"] is True and "token" not in params

    assert job.status().status == JobStatus.QUEUED
    hub_emulator.advance(job.job_id)
    hub_emulator.advance(job.job_id, progress=0.5)
    seen = list(job.events())
    losses = [e for e in seen if "train_loss" in e.metrics]
    assert losses and losses[-1].step is not None and losses[-1].total_steps is not None
    assert losses[-1].step < losses[-1].total_steps
    running = job.status()
    assert running.status == JobStatus.RUNNING and running.step == losses[-1].step

    hub_emulator.advance(job.job_id)
    final = job.wait(poll_interval=0.05, timeout=30)
    assert final.status == JobStatus.SUCCEEDED and final.fine_tuned_model == model_repo
    assert len(job.metrics()) > len(losses)  # the rest of the curve was read after the job ended
    assert not [e for e in job.events()]  # nothing is read twice

    model = job.result()
    assert (model.kind, model.model_id, model.base_model) == ("hub_repo", model_repo, BASE_MODEL)
    assert model.metadata["adapter"] is True and "adapter_model.safetensors" in model.metadata["files"]
    assert "final_train_loss" in model.metadata["final_metrics"]
    reply = model.client().chat([{"role": "user", "content": "What is 2 plus 2?"}])
    assert reply.text == f"[{model_repo}] What is 2 plus 2?"

    steps = [(e.kind, e.step) for e in tuner.ledger.events(job.run_id, kinds=["intent", "outcome"])]
    for step in ("create_dataset_repo", "upload_data", "create_job"):
        assert ("intent", step) in steps and ("outcome", step) in steps
    ledger_bytes = b"".join(p.read_bytes() for p in tuner.ledger.path.parent.rglob("*") if p.is_file())
    assert hub_emulator.token.encode() not in ledger_bytes  # not in the ledger, the run folder or saved configs


def test_a_job_that_completes_without_model_files_fails_with_its_log_tail(
    hub_emulator: HubEmulator, make_tuner: TunerFactory
) -> None:
    hub_emulator.set_job_outcome("no_files", message="403 Forbidden: you may not create a model under this namespace")
    job = make_tuner().submit()
    state = job.wait(poll_interval=0.05, timeout=30)
    assert state.status == JobStatus.FAILED and state.raw_status == "COMPLETED"
    assert state.message is not None and "holds no adapter or model files" in state.message
    assert "train has failed due to an exception" in state.message
    assert state.message.rstrip().endswith("403 Forbidden: you may not create a model under this namespace")
    with pytest.raises(JobFailedError, match="403 Forbidden"):
        job.result()
    assert job.record.status == JobStatus.FAILED and "403 Forbidden" in (job.record.error or "")


def test_a_crashed_job_fails_with_its_message_and_log_tail(hub_emulator: HubEmulator, make_tuner: TunerFactory) -> None:
    hub_emulator.set_job_outcome("error")
    state = make_tuner().submit().wait(poll_interval=0.05, timeout=30)
    assert state.status == JobStatus.FAILED and state.raw_status == "ERROR"
    assert state.message is not None and state.message.startswith("Job failed with exit code: 1")
    assert "CUDA out of memory" in state.message


def test_files_left_by_an_earlier_run_do_not_count(hub_emulator: HubEmulator, make_tuner: TunerFactory) -> None:
    tuner = make_tuner(project_name="shared-project")
    first = tuner.submit()
    assert first.wait(poll_interval=0.05, timeout=30).status == JobStatus.SUCCEEDED
    hub_emulator.set_job_outcome("no_files")
    second = tuner.submit(new=True)
    assert second.ref.extra["model_repo"] == first.ref.extra["model_repo"]
    assert second.wait(poll_interval=0.05, timeout=30).status == JobStatus.FAILED


@pytest.mark.hub_emulator(lifecycle="manual", log_idle_close_s=0.2)
def test_cancel_a_running_job(hub_emulator: HubEmulator, make_tuner: TunerFactory) -> None:
    job = make_tuner().submit()
    hub_emulator.advance(job.job_id, to="RUNNING")
    job.cancel()
    assert hub_emulator.job(job.job_id)["status"]["stage"] == "CANCELED"
    assert job.status().status == JobStatus.CANCELLED
    with pytest.raises(JobCancelledError):
        job.result()
    assert hub_emulator.repos("model") == []


def test_preference_pairs_train_with_autotrain_dpo_columns(
    hub_emulator: HubEmulator, make_tuner: TunerFactory, tmp_path: Path
) -> None:
    job = make_tuner(data=write_pairs(tmp_path / "pairs.jsonl"), method="dpo").submit()
    params = json.loads(hub_emulator.job(job.job_id)["environment"]["PARAMS"])
    assert params["trainer"] == "dpo" and params["dpo_beta"] == 0.1 and params["max_prompt_length"] == 128
    assert (params["prompt_text_column"], params["text_column"], params["rejected_text_column"]) == (
        "prompt",
        "chosen",
        "rejected",
    )
    row = json.loads(hub_emulator.files(params["data_path"], "dataset")["train.jsonl"].splitlines()[0])
    assert sorted(row) == ["chosen", "prompt", "rejected"]
    assert job.wait(poll_interval=0.05, timeout=30).status == JobStatus.SUCCEEDED


def test_the_trl_runner_launches_trl_with_the_same_parameters(
    hub_emulator: HubEmulator, make_tuner: TunerFactory
) -> None:
    job = make_tuner(runner="trl", params={"mixed_precision": "bf16"}).submit()
    spec = hub_emulator.job(job.job_id)
    assert spec["dockerImage"] == "huggingface/trl:latest" and spec["command"][:2] == ["trl", "sft"]
    command = spec["command"]
    assert command[command.index("--hub_model_id") + 1] == job.ref.extra["model_repo"]
    assert command[command.index("--learning_rate") + 1] == "3e-05" and "--bf16" in command
    assert "--use_peft" in command and "--load_in_4bit" in command
    row = json.loads(hub_emulator.files(job.ref.extra["dataset_repo"], "dataset")["train.jsonl"].splitlines()[0])
    assert sorted(row) == ["messages"]
    assert job.wait(poll_interval=0.05, timeout=30).status == JobStatus.SUCCEEDED
    assert "adapter_config.json" in job.result().metadata["files"]
