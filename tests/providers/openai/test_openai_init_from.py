"""init_from on OpenAI: a run tunes an earlier run's ``ft:`` model (or checkpoint) further, once, and says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openai_helpers import BASE_MODEL, ConfigFactory
from typer.testing import CliRunner

from tunekit import ConfigError, JobStatus, Ledger, Tuner
from tunekit.cli.app import app
from tunekit_emulators.openai import OpenAIEmulator

runner = CliRunner()


def _parent(emu: OpenAIEmulator, make_config: ConfigFactory) -> tuple[Path, str, str]:
    """A succeeded SFT run: its config, run id and tuned model id."""
    config = make_config(emu, name="sft.yaml")
    job = Tuner.from_config(config).submit()
    assert job.wait(poll_interval=0.01, timeout=30).status == JobStatus.SUCCEEDED
    return config, job.run_id, job.result().model_id


def _submit(config: Path) -> dict[str, object]:
    result = runner.invoke(app, ["submit", str(config), "--yes", "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_dpo_on_top_of_sft_tunes_the_ft_model_once_and_shows_its_lineage(
    openai_emulator: OpenAIEmulator, make_config: ConfigFactory
) -> None:
    _, parent_run, parent_model = _parent(openai_emulator, make_config)
    # The parent named by its config file, relative to the child's config.
    child_config = make_config(openai_emulator, name="dpo.yaml", method="dpo", init_from="../sft/sft.yaml")

    child = _submit(child_config)
    jobs = openai_emulator.jobs()
    assert len(jobs) == 2
    assert jobs[1]["id"] == child["job_id"]
    assert jobs[1]["model"] == parent_model  # the service was asked to tune the ft: model, not the base
    assert jobs[1]["method"]["type"] == "dpo"
    job = Tuner.from_config(child_config).job(str(child["run_id"]))
    assert job.wait(poll_interval=0.01, timeout=30).status == JobStatus.SUCCEEDED

    # The same config with the same parent is the same job: a re-run starts nothing.
    again = _submit(child_config)
    assert (again["run_id"], again.get("reused")) == (child["run_id"], True)
    assert len(openai_emulator.jobs()) == 2

    # The lineage, in the Python API and on the command line.
    ledger = Ledger()
    record = ledger.get(str(child["run_id"]))
    assert record.parent is not None
    assert (record.parent.run_id, record.parent.model_id, record.parent.start) == (
        parent_run,
        parent_model,
        parent_model,
    )
    assert record.parent.base_model == BASE_MODEL
    assert [r.run_id for r in ledger.children(parent_run)] == [child["run_id"]]
    assert [r.run_id for r in ledger.ancestors(str(child["run_id"]))] == [parent_run]
    shown = runner.invoke(app, ["show", str(child["run_id"])], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert f"started from {parent_run} ({parent_model})" in shown.output, shown.output
    assert f"continued by {child['run_id']}" in runner.invoke(app, ["show", parent_run], env={"COLUMNS": "200"}).output
    data = json.loads(runner.invoke(app, ["show", str(child["run_id"]), "--json"]).stdout)
    assert data["parent"]["run_id"] == parent_run and data["ancestors"] == [parent_run]
    listed = runner.invoke(app, ["runs"], env={"COLUMNS": "250"})
    row = next(line for line in listed.output.splitlines() if str(child["run_id"]) in line)
    assert parent_run in row


def test_a_checkpoint_step_starts_from_that_checkpoint_and_is_another_job(
    openai_emulator: OpenAIEmulator, make_config: ConfigFactory
) -> None:
    _, parent_run, parent_model = _parent(openai_emulator, make_config)
    checkpoints = Tuner.for_run(parent_run).job(parent_run).checkpoints()
    early = next(c for c in checkpoints if c.model_id != parent_model)

    from_final = Tuner.from_config(make_config(openai_emulator, name="more.yaml", init_from=parent_run)).submit()
    from_early = Tuner.from_config(
        make_config(openai_emulator, name="more.yaml", init_from=f"{parent_run}@{early.step}")
    ).submit()
    assert from_early.run_id != from_final.run_id
    models = {job["id"]: job["model"] for job in openai_emulator.jobs()}
    assert models[from_final.job_id] == parent_model
    assert models[from_early.job_id] == early.model_id
    parent = from_early.record.parent
    assert parent is not None and (parent.step, parent.checkpoint) == (early.step, early.id)


def test_latest_keeps_naming_the_same_parent_once_the_child_is_the_newest_run(
    openai_emulator: OpenAIEmulator, make_config: ConfigFactory
) -> None:
    _, parent_run, parent_model = _parent(openai_emulator, make_config)
    config = make_config(openai_emulator, name="next.yaml", init_from="latest")
    child = Tuner.from_config(config).submit()
    assert child.wait(poll_interval=0.01, timeout=30).status == JobStatus.SUCCEEDED
    assert Ledger().runs()[0].run_id == child.run_id  # the child is now the newest run
    again = Tuner.from_config(config).submit()  # latest: the newest run of another config, still the parent
    assert again.run_id == child.run_id
    assert [job["model"] for job in openai_emulator.jobs()] == [BASE_MODEL, parent_model]
    assert child.record.parent is not None and child.record.parent.run_id == parent_run


def test_a_different_base_model_is_refused_before_any_upload(
    openai_emulator: OpenAIEmulator, make_config: ConfigFactory
) -> None:
    _, parent_run, _ = _parent(openai_emulator, make_config)
    uploads = openai_emulator.request_count("POST", "/v1/files")
    runs = len(Ledger().runs())
    config = make_config(openai_emulator, name="other.yaml", model="gpt-4.1-mini-2025-04-14", init_from=parent_run)

    with pytest.raises(ConfigError, match=f"init_from: run {parent_run} was tuned from {BASE_MODEL}"):
        Tuner.from_config(config).submit()
    result = runner.invoke(app, ["submit", str(config), "--yes"])  # `tunekit` turns a ConfigError into exit 2
    assert isinstance(result.exception, ConfigError), result.output
    assert "gpt-4.1-mini-2025-04-14" in str(result.exception) and BASE_MODEL in str(result.exception)

    assert openai_emulator.request_count("POST", "/v1/files") == uploads  # nothing uploaded
    assert len(openai_emulator.jobs()) == 1 and len(Ledger().runs()) == runs  # no job, no run


def test_an_unfinished_or_unknown_parent_is_refused(
    openai_emulator: OpenAIEmulator, make_config: ConfigFactory
) -> None:
    with pytest.raises(ConfigError, match="init_from: no run 'nosuchrun'"):
        Tuner.from_config(make_config(openai_emulator, name="a.yaml", init_from="nosuchrun")).submit()
    openai_emulator.lifecycle.mode = "manual"
    pending = Tuner.from_config(make_config(openai_emulator, name="sft.yaml")).submit()
    with pytest.raises(ConfigError, match=f"run {pending.run_id} is queued: only a succeeded run"):
        Tuner.from_config(make_config(openai_emulator, name="b.yaml", init_from=pending.run_id)).submit()
    assert len(openai_emulator.jobs()) == 1
