"""init_from on Together: the job continues the earlier run's job (or one of its checkpoints) through
``from_checkpoint``, once; a parent of another base model is refused before anything is uploaded."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
import together
from typer.testing import CliRunner

from tunekit import ConfigError, JobStatus, Ledger, Tuner
from tunekit.cli.app import app
from tunekit_emulators.together import TogetherEmulator

runner = CliRunner()
ConfigFactory = Callable[..., Path]


def _parent(emu: TogetherEmulator, make_config: ConfigFactory, **fields: object) -> tuple[str, str, str]:
    """A succeeded SFT run with two checkpoints: its run id, job id and tuned model name."""
    config = make_config(emu, name="sft.yaml", provider_options={"n_checkpoints": 2}, **fields)
    job = Tuner.from_config(config).submit()
    assert job.wait(poll_interval=0.02, timeout=30).status == JobStatus.SUCCEEDED
    return job.run_id, job.job_id, job.result().model_id


def test_dpo_continues_the_sft_job_once_and_shows_its_lineage(
    together_emulator: TogetherEmulator, make_config: ConfigFactory, caplog: pytest.LogCaptureFixture
) -> None:
    parent_run, parent_job, parent_model = _parent(together_emulator, make_config)
    config = make_config(together_emulator, name="dpo.yaml", method="dpo", init_from="../sft/sft.yaml")
    with caplog.at_level(logging.WARNING, logger="tunekit"):
        Tuner.from_config(config).parent  # noqa: B018  # resolved before anything is sent
    assert "serverless" not in caplog.text  # the same adapter shape: the model stays serverless
    for _ in range(2):  # the same config after the same parent is the same job
        result = runner.invoke(app, ["submit", str(config), "--yes", "--json"])
        assert result.exit_code == 0, result.output
    child = json.loads(result.stdout)
    jobs = together_emulator.jobs()
    assert len(jobs) == 2 and together_emulator.request_count("POST", "/v1/fine-tunes") == 2
    assert jobs[1]["id"] == child["job_id"] and jobs[1]["from_checkpoint"] == parent_job
    assert (
        jobs[1]["model"] == "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
    )  # Together continues on the parent's base model
    assert jobs[1]["training_method"]["method"] == "dpo"

    record = Ledger().get(child["run_id"])
    assert record.parent is not None
    assert (record.parent.run_id, record.parent.model_id, record.parent.start) == (
        parent_run,
        parent_model,
        parent_job,
    )
    shown = runner.invoke(app, ["show", child["run_id"]], env={"COLUMNS": "250"})
    assert f"started from {parent_run} ({parent_model})" in shown.output, shown.output
    listed = runner.invoke(app, ["runs"], env={"COLUMNS": "250"})
    assert parent_run in next(line for line in listed.output.splitlines() if child["run_id"] in line)


def test_a_step_continues_that_checkpoint(
    together_emulator: TogetherEmulator, make_config: ConfigFactory, caplog: pytest.LogCaptureFixture
) -> None:
    parent_run, parent_job, _ = _parent(together_emulator, make_config)
    config = make_config(together_emulator, name="more.yaml", init_from=f"{parent_run}@5", lora={"r": 8, "alpha": 16})
    with caplog.at_level(logging.WARNING, logger="tunekit"):
        early = Tuner.from_config(config).submit()
    assert together_emulator.jobs()[-1]["from_checkpoint"] == f"{parent_job}:5"
    # Another adapter shape: Together merges the parent's adapter, and the new model is not served serverless.
    assert (
        f"init_from: {parent_run} was trained with lora r=16, alpha=32, target_modules=all-linear, this run with "
        "lora r=8, alpha=16" in caplog.text
    )
    parent = early.record.parent
    assert parent is not None and (parent.step, parent.checkpoint, parent.start) == (5, *[f"{parent_job}:5"] * 2)
    with pytest.raises(ConfigError, match=f"init_from: run {parent_run}: no usable checkpoint '7'"):
        Tuner.from_config(make_config(together_emulator, name="more.yaml", init_from=f"{parent_run}@7")).submit()
    assert len(together_emulator.jobs()) == 2


def test_a_parent_of_another_base_model_is_refused_before_any_upload(
    together_emulator: TogetherEmulator, make_config: ConfigFactory
) -> None:
    parent_run, _, _ = _parent(together_emulator, make_config)
    uploads, runs = together_emulator.request_count("POST", "/v1/files"), len(Ledger().runs())
    other = make_config(together_emulator, name="other.yaml", model="Qwen/Qwen2.5-7B-Instruct", init_from=parent_run)
    with pytest.raises(
        ConfigError, match=f"init_from: run {parent_run} was tuned from meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
    ):
        Tuner.from_config(other).submit()
    both = make_config(
        together_emulator, name="both.yaml", init_from=parent_run, provider_options={"from_checkpoint": "ft-1"}
    )
    with pytest.raises(ConfigError, match=r"provider_options\.from_checkpoint: init_from names what the job starts"):
        Tuner.from_config(both).submit()
    assert together_emulator.request_count("POST", "/v1/files") == uploads  # nothing uploaded
    assert len(together_emulator.jobs()) == 1 and len(Ledger().runs()) == runs  # no job, no run


def test_the_emulator_refuses_a_checkpoint_the_service_would_not_know(
    together_emulator: TogetherEmulator, make_config: ConfigFactory, tmp_path: Path
) -> None:
    _, parent_job, parent_model = _parent(together_emulator, make_config)
    client = together.Together(api_key=together_emulator.api_key, base_url=together_emulator.url, max_retries=0)
    train = together_emulator.files()[0]["id"]
    assert [c.step for c in client.fine_tuning.list_checkpoints(parent_job).data] == [10, 5]
    with pytest.raises(together.BadRequestError, match="has no checkpoint at step 7"):
        client.fine_tuning.create(training_file=train, from_checkpoint=f"{parent_job}:7")
    with pytest.raises(together.BadRequestError, match="no fine-tuning job or model ft-nosuch"):
        limits = client.fine_tuning.model_limits(
            model_name="meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
        )  # the SDK would ask them of ft-nosuch
        client.fine_tuning.create(training_file=train, from_checkpoint="ft-nosuch", model_limits=limits)
    job = client.fine_tuning.create(training_file=train, from_checkpoint=parent_model)  # by the output name
    assert (
        job.model == "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
        and together_emulator.jobs()[-1]["from_checkpoint"] == parent_model
    )
