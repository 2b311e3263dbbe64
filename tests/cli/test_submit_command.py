"""`tunekit submit`: one paid job per intent, asked for before it bills, against the OpenAI emulator over real HTTP."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tunekit import Tuner
from tunekit.cli.app import app
from tunekit.cli.output import EXIT_JOB_FAILED, EXIT_USAGE
from tunekit.errors import ConfigError
from tunekit.ledger import Ledger
from tunekit.states import JobStatus

RECIPES = Path(__file__).resolve().parents[2] / "examples" / "recipes"
runner = CliRunner()


@pytest.fixture
def recipe(tmp_path: Path, openai_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The OpenAI recipe example, aimed at the emulator."""
    folder = tmp_path / "recipes"
    shutil.copytree(RECIPES / "data", folder / "data")
    shutil.copy(RECIPES / "openai.yaml", folder / "openai.yaml")
    monkeypatch.setenv("OPENAI_API_KEY", openai_emulator.api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", openai_emulator.base_url)
    return folder / "openai.yaml"


def _submit(*args: str) -> Any:
    return runner.invoke(app, ["submit", *args], catch_exceptions=False)


def _fine_tune_files(emulator: Any) -> int:
    return len([f for f in emulator.files() if f.get("purpose") == "fine-tune"])


def test_a_job_that_bills_needs_yes_without_a_terminal(recipe: Path, openai_emulator: Any) -> None:
    refused = _submit(str(recipe))
    assert refused.exit_code == EXIT_USAGE
    assert "--yes" in refused.output and "bills" in refused.output
    assert openai_emulator.files() == [] and openai_emulator.jobs() == [] and Ledger().runs() == []


def test_submitting_a_finished_job_again_trains_nothing(recipe: Path, openai_emulator: Any) -> None:
    first = _submit(str(recipe), "--yes", "--json")
    assert first.exit_code == 0, first.output
    run_id, job_id = json.loads(first.stdout)["run_id"], json.loads(first.stdout)["job_id"]
    watched = runner.invoke(app, ["watch", run_id, "--interval", "0"])
    assert watched.exit_code == 0 and Ledger().get(run_id).status is JobStatus.SUCCEEDED

    # No --yes needed: nothing will bill. The finished run is shown, and how to train again.
    again = _submit(str(recipe))
    assert again.exit_code == 0, again.output
    assert run_id in again.output and "already succeeded" in again.output and "--new" in again.output
    assert [j["id"] for j in openai_emulator.jobs()] == [job_id] and _fine_tune_files(openai_emulator) == 2

    # --new is a new paid job: asked for like any other.
    assert _submit(str(recipe), "--new").exit_code == EXIT_USAGE
    assert len(openai_emulator.jobs()) == 1
    fresh = _submit(str(recipe), "--new", "--yes", "--json")
    assert fresh.exit_code == 0, fresh.output
    assert json.loads(fresh.stdout)["run_id"] != run_id and len(openai_emulator.jobs()) == 2


def test_an_unfinished_run_is_resumed_without_asking(recipe: Path, openai_emulator: Any) -> None:
    first = json.loads(_submit(str(recipe), "--yes", "--json").stdout)
    again = _submit(str(recipe), "--json")  # its job exists: resuming starts nothing that bills
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["run_id"] == first["run_id"] and len(openai_emulator.jobs()) == 1


def test_a_job_gone_from_the_service_is_said_and_new_is_offered(recipe: Path, openai_emulator: Any) -> None:
    first = json.loads(_submit(str(recipe), "--yes", "--json").stdout)
    openai_emulator.reset_state()  # the job no longer exists there (deleted, or the key is another account's)
    again = _submit(str(recipe))
    assert again.exit_code == EXIT_JOB_FAILED, again.output
    text = " ".join(again.output.split())
    assert f"job {first['job_id']}" in text and "no longer exists" in text and "--new" in text
    assert "validating" not in text
    record = Ledger().get(first["run_id"])
    assert record.status is JobStatus.FAILED and "no longer exists" in (record.error or "")
    assert openai_emulator.jobs() == []


def test_a_refused_submit_leaves_a_failed_run_not_a_pending_one(recipe: Path, openai_emulator: Any) -> None:
    openai_emulator.deny_fine_tuning()
    refused = runner.invoke(app, ["submit", str(recipe), "--yes"])
    assert refused.exit_code != 0
    [run] = Ledger().runs()
    assert run.status is JobStatus.FAILED and "fine-tuning" in (run.error or "")
    openai_emulator.allow_fine_tuning()
    accepted = _submit(str(recipe), "--yes", "--json")
    assert json.loads(accepted.stdout)["run_id"] != run.run_id  # the refused run is not resumed
    assert len(openai_emulator.jobs()) == 1


def test_a_missing_key_leaves_no_pending_run(
    recipe: Path, openai_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml

    config = yaml.safe_load(recipe.read_text())
    config["provider_options"].pop("api_key", None)  # the key would come from the environment: it is not there
    recipe.write_text(yaml.safe_dump(config))
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(ConfigError, match="no OpenAI API key"):
        Tuner.from_config(recipe).submit()
    assert [r.status for r in Ledger().runs() if r.status is not JobStatus.FAILED] == []
    refused = runner.invoke(app, ["submit", str(recipe), "--yes"])
    assert isinstance(refused.exception, ConfigError) and "OPENAI_API_KEY" in str(refused.exception)
    assert [r.status for r in Ledger().runs() if r.status is not JobStatus.FAILED] == []
    assert openai_emulator.files() == [] and openai_emulator.jobs() == []
