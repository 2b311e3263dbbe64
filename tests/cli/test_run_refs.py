"""Naming a run: `tunekit runs` shows whole ids, and every RUN argument takes an id, a prefix, `latest` or a config."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tunekit.cli.output import EXIT_USAGE
from tunekit.config import config_hash, load_config
from tunekit.ledger import Ledger

TUNEKIT = str(Path(sys.executable).with_name("tunekit"))
MODEL = "gpt-4.1-mini-2025-04-14"
IDS = ["openai-20261203-080102-5f2a1c", "openai-20261203-091544-a07e9b", "azure-20261203-101010-c0ffee"]


def tunekit(*args: str, columns: int = 200) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": str(columns)}
    return subprocess.run([TUNEKIT, *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    """Three runs with real-looking ids, long model names and results, oldest first."""
    ledger = Ledger()
    for n, run_id in enumerate(IDS):
        provider = run_id.split("-")[0]
        config = {"provider": provider, "model": MODEL, "data": {"train": str(tmp_path / "train.jsonl")}}
        ledger.create_run(run_id, provider=provider, model=MODEL, config_hash=f"hash-{n}", config=config)
        result = {"model_id": f"ft:{MODEL}:personal:recipe-assistant:{run_id[-6:]}ABCDEF", "kind": "model_id"}
        ledger.update(run_id, result=result)
    return ledger


@pytest.mark.parametrize("columns", [80, 120])
def test_runs_never_truncates_a_run_id(ledger: Ledger, columns: int) -> None:
    listed = tunekit("runs", columns=columns)
    assert listed.returncode == 0, listed.stderr
    for run_id in IDS:
        assert run_id in listed.stdout, listed.stdout
    assert max(len(line) for line in listed.stdout.splitlines()) <= columns
    assert "status" in listed.stdout.splitlines()[1]  # the status column is kept; wider ones give way first


def test_a_unique_prefix_names_the_run(ledger: Ledger) -> None:
    shown = tunekit("show", "openai-20261203-09", "--json")
    assert shown.returncode == 0, shown.stderr
    assert '"run_id": "openai-20261203-091544-a07e9b"' in shown.stdout


def test_an_ambiguous_prefix_lists_the_candidates_and_exits_2(ledger: Ledger) -> None:
    shown = tunekit("show", "openai-2026")
    assert shown.returncode == EXIT_USAGE
    assert IDS[0] in shown.stderr and IDS[1] in shown.stderr and "matches 2 runs" in shown.stderr
    assert "Traceback" not in shown.stderr


def test_latest_is_the_newest_run(ledger: Ledger) -> None:
    shown = tunekit("show", "latest", "--json")
    assert shown.returncode == 0, shown.stderr
    assert f'"run_id": "{IDS[-1]}"' in shown.stdout


def test_a_config_file_names_its_newest_run(tmp_path: Path, ledger: Ledger) -> None:
    config = tmp_path / "tune.yaml"
    config.write_text(f"provider: openai\nmodel: {MODEL}\ndata:\n  train: train.jsonl\n")
    digest = config_hash(load_config(config))
    for run_id in ("openai-20261204-000001-111111", "openai-20261204-000002-222222"):
        ledger.create_run(run_id, provider="openai", model=MODEL, config_hash=digest, config={"provider": "openai"})
    shown = tunekit("show", str(config), "--json")
    assert shown.returncode == 0, shown.stderr
    assert '"run_id": "openai-20261204-000002-222222"' in shown.stdout


def test_an_unknown_run_is_a_usage_error_on_every_command(ledger: Ledger) -> None:
    for command in ("show", "status", "watch", "result", "cancel", "chat", "deploy", "undeploy", "checkpoints"):
        done = tunekit(command, "nope-no-such-run")
        assert done.returncode == EXIT_USAGE, (command, done.stderr)
        assert "no run 'nope-no-such-run'" in done.stderr, (command, done.stderr)
