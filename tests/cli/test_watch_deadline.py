"""`tunekit watch --timeout` holds its deadline while the service is down (retries included)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tunekit.cli.output import EXIT_FAILURE
from tunekit.ledger import Ledger
from tunekit_emulators.faults import Fault

RECIPES = Path(__file__).resolve().parents[2] / "examples" / "recipes"
TUNEKIT = str(Path(sys.executable).with_name("tunekit"))


@pytest.mark.openai_emulator(lifecycle="manual")
def test_watch_timeout_holds_while_the_service_is_down(
    openai_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(RECIPES / "data", tmp_path / "data")
    config = shutil.copy(RECIPES / "openai.yaml", tmp_path / "openai.yaml")
    env = {**os.environ, "OPENAI_API_KEY": openai_emulator.api_key, "OPENAI_BASE_URL": openai_emulator.base_url}
    env["COLUMNS"] = "200"
    submitted = subprocess.run(
        [TUNEKIT, "submit", str(config), "--yes"], capture_output=True, text=True, env=env, timeout=120
    )
    assert submitted.returncode == 0, submitted.stderr
    (run,) = Ledger().runs()

    openai_emulator.inject("*", Fault.status(503))  # every route answers 503 from now on
    start = time.monotonic()
    watched = subprocess.run(
        [TUNEKIT, "watch", run.run_id, "--timeout", "6", "--interval", "0.5"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    elapsed = time.monotonic() - start

    retried = [r for r in openai_emulator.requests if r.fault == "status"]
    assert len(retried) >= 2  # it did keep trying within the budget
    # Polling (retries included) stops within the six seconds asked, however slowly the interpreter started.
    assert retried[-1].at - retried[0].at < 6.5, [r.at for r in retried]
    assert elapsed < 60, (elapsed, watched.stderr)  # before: minutes of backoff while the service was down
    assert watched.returncode == EXIT_FAILURE, watched.stderr
    assert "stopped watching after 6.0 s: the service did not answer" in watched.stderr
    assert "Traceback" not in watched.stderr


@pytest.mark.openai_emulator(lifecycle="manual")
def test_watch_timeout_holds_while_the_service_hangs(openai_emulator: Any, tmp_path: Path) -> None:
    shutil.copytree(RECIPES / "data", tmp_path / "data")
    config = shutil.copy(RECIPES / "openai.yaml", tmp_path / "openai.yaml")
    env = {**os.environ, "OPENAI_API_KEY": openai_emulator.api_key, "OPENAI_BASE_URL": openai_emulator.base_url}
    env["COLUMNS"] = "200"
    submitted = subprocess.run(
        [TUNEKIT, "submit", str(config), "--yes"], capture_output=True, text=True, env=env, timeout=120
    )
    assert submitted.returncode == 0, submitted.stderr
    (run,) = Ledger().runs()

    openai_emulator.inject("*", Fault.timeout(30))  # every answer comes 30 s late
    start = time.monotonic()
    watched = subprocess.run(
        [TUNEKIT, "watch", run.run_id, "--timeout", "4", "--interval", "0.5"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    elapsed = time.monotonic() - start
    # No single request outlasts the deadline: before, the first poll alone waited the whole 30 s.
    assert elapsed < 25, (elapsed, watched.stderr)
    assert "Traceback" not in watched.stderr
