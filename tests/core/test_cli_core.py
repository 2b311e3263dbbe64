from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

import tunekit
from tunekit.cli.app import app
from tunekit.ledger import Ledger

runner = CliRunner()


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"tunekit {tunekit.__version__}"


def test_providers_json_lists_builtins() -> None:
    result = runner.invoke(app, ["providers", "--json"])
    assert result.exit_code == 0
    names = {p["name"] for p in json.loads(result.stdout)}
    assert {"openai", "azure", "autotrain", "local", "memo"} <= names


def test_schema_is_json_schema_of_the_config() -> None:
    result = runner.invoke(app, ["schema"])
    schema = json.loads(result.stdout)
    assert schema["title"] == "TuneConfig"
    assert {"provider", "model", "data", "hyperparameters", "provider_options"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False


def test_runs_and_show(memo_config: Path) -> None:
    empty = runner.invoke(app, ["runs"])
    assert "no runs yet" in empty.stdout
    ledger = Ledger()
    ledger.create_run("memo-run-1", provider="memo", model="memo-base", config_hash="h", config={"provider": "memo"})
    ledger.update("memo-run-1", remote={"job_id": "memo-42"})
    listed = json.loads(runner.invoke(app, ["runs", "--json"]).stdout)
    assert [r["run_id"] for r in listed] == ["memo-run-1"]
    shown = json.loads(runner.invoke(app, ["show", "memo-run-1", "--json"]).stdout)
    assert shown["remote"]["job_id"] == "memo-42" and shown["events"][0]["kind"] == "created"
    text = runner.invoke(app, ["show", "memo-run-1"]).stdout
    assert "memo-42" in text


def test_unknown_run_is_one_clear_line_and_exit_code(tunekit_home: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "tunekit.cli", "show", "nope"], capture_output=True, text=True)
    assert proc.returncode == 2  # a usage error, as docs/cli.md says
    assert "no run 'nope' in the ledger" in proc.stderr
    assert "Traceback" not in proc.stderr
