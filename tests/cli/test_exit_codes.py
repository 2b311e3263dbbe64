"""Every exit code docs/cli.md documents, produced by the installed `tunekit` against the OpenAI emulator."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tunekit.cli import output
from tunekit.ledger import Ledger

ROOT = Path(__file__).resolve().parents[2]
RECIPES = ROOT / "examples" / "recipes"
TUNEKIT = str(Path(sys.executable).with_name("tunekit"))


def tunekit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI as a user's script runs it: no terminal on stdin, wide output so messages stay on one line."""
    import os

    full = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [TUNEKIT, *args], capture_output=True, text=True, stdin=subprocess.DEVNULL, env=full, timeout=300
    )


@pytest.fixture
def config(tmp_path: Path, openai_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(RECIPES / "data", tmp_path / "data")
    path = Path(shutil.copy(RECIPES / "openai.yaml", tmp_path / "openai.yaml"))
    monkeypatch.setenv("OPENAI_API_KEY", openai_emulator.api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", openai_emulator.base_url)
    return path


def submitted(config: Path) -> str:
    done = tunekit("submit", str(config), "--json", "--yes")
    assert done.returncode == 0, done.stderr
    (run,) = Ledger().runs()
    return run.run_id


def documented_codes() -> dict[int, str]:
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    section = text[text.index("## Exit codes") :]
    return {int(m.group(1)): m.group(2) for m in re.finditer(r"^\| (\d+) \| (.+) \|$", section, re.M)}


def test_the_documented_codes_are_the_cli_codes() -> None:
    constants = {value for name, value in vars(output).items() if name.startswith("EXIT_")}
    assert set(documented_codes()) == constants


def test_0_success(config: Path) -> None:
    assert tunekit("runs").returncode == output.EXIT_OK


def test_1_a_provider_refusal(config: Path, openai_emulator: Any) -> None:
    openai_emulator.reject_keys(openai_emulator.api_key)
    done = tunekit("submit", str(config), "--yes")
    assert done.returncode == output.EXIT_FAILURE, done.stderr
    assert "Traceback" not in done.stderr


def test_2_an_unknown_run(config: Path) -> None:
    done = tunekit("show", "no-such-run")
    assert done.returncode == output.EXIT_USAGE
    assert "no run 'no-such-run'" in done.stderr


def test_2_a_run_that_spends_without_yes_and_no_terminal(config: Path, openai_emulator: Any) -> None:
    done = tunekit("run", str(config))
    assert done.returncode == output.EXIT_USAGE, done.stderr
    assert "pass --yes" in done.stderr
    assert openai_emulator.jobs() == [] and openai_emulator.files() == []


def test_2_a_config_error(config: Path, openai_emulator: Any) -> None:
    config.write_text(config.read_text() + "\nnot_a_key: 1\n")
    done = tunekit("run", str(config), "--yes")
    assert done.returncode == output.EXIT_USAGE
    assert "not_a_key" in done.stderr
    assert openai_emulator.jobs() == [] and Ledger().runs() == []


def test_3_invalid_data(config: Path) -> None:
    train = config.parent / "data" / "train.jsonl"
    train.write_text(train.read_text() + "{not json\n")
    done = tunekit("validate", str(train))
    assert done.returncode == output.EXIT_DATA_INVALID, done.stdout + done.stderr
    assert "train.jsonl:" in done.stdout


@pytest.mark.openai_emulator(lifecycle="manual")
def test_4_a_failed_job(config: Path, openai_emulator: Any) -> None:
    run_id = submitted(config)
    (job,) = openai_emulator.jobs()
    openai_emulator.fail_job(job["id"], "The training file has too few examples.")
    done = tunekit("result", run_id)
    assert done.returncode == output.EXIT_JOB_FAILED
    assert "job failed" in done.stderr and "too few examples" in done.stderr


@pytest.mark.openai_emulator(lifecycle="manual")
def test_4_a_cancelled_job(config: Path, openai_emulator: Any) -> None:
    run_id = submitted(config)
    (job,) = openai_emulator.jobs()
    openai_emulator.advance(job["id"], "cancelled")
    done = tunekit("result", run_id)
    assert done.returncode == output.EXIT_JOB_FAILED
    assert "cancelled" in done.stderr


@pytest.mark.openai_emulator(lifecycle="manual")
def test_5_result_and_chat_of_an_unfinished_job(config: Path, openai_emulator: Any) -> None:
    run_id = submitted(config)
    (job,) = openai_emulator.jobs()
    openai_emulator.advance(job["id"], "running")
    for command in (["result", run_id], ["chat", run_id, "-m", "hello"]):
        done = tunekit(*command)
        assert done.returncode == output.EXIT_NOT_FINISHED, (command, done.stderr)
        assert "still running" in done.stderr and "job failed" not in done.stderr, done.stderr


def test_130_is_tested_where_ctrl_c_is() -> None:
    # Ctrl-C needs a live watch to interrupt: tests/cli/test_interrupt.py sends SIGINT and expects this code.
    source = (Path(__file__).parent / "test_interrupt.py").read_text(encoding="utf-8")
    assert "EXIT_INTERRUPTED" in source and output.EXIT_INTERRUPTED == 130
