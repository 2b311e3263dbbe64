"""Ctrl-C while `tunekit run` watches a remote job: the watch stops, the job goes on and can be followed again."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tunekit.cli.output import EXIT_INTERRUPTED

RECIPES = Path(__file__).resolve().parents[2] / "examples" / "recipes"
TUNEKIT = str(Path(sys.executable).with_name("tunekit"))


@pytest.mark.openai_emulator(lifecycle="manual")
def test_ctrl_c_leaves_a_remote_job_running(
    openai_emulator: Any, tmp_path: Path, tunekit_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(RECIPES / "data", tmp_path / "data")
    config = shutil.copy(RECIPES / "openai.yaml", tmp_path / "openai.yaml")
    monkeypatch.setenv("OPENAI_API_KEY", openai_emulator.api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", openai_emulator.base_url)
    err = tmp_path / "run.err"
    with err.open("wb") as stderr:
        cli = subprocess.Popen(
            [TUNEKIT, "run", str(config), "--yes", "--poll-interval", "0.2"], stdout=subprocess.DEVNULL, stderr=stderr
        )
        try:
            deadline = time.monotonic() + 120
            while not openai_emulator.jobs():
                assert cli.poll() is None, err.read_text()
                assert time.monotonic() < deadline, err.read_text()
                time.sleep(0.1)
            time.sleep(0.5)  # a few polls of the watch
            cli.send_signal(signal.SIGINT)
            assert cli.wait(timeout=60) == EXIT_INTERRUPTED
        finally:
            if cli.poll() is None:
                cli.kill()

    message = err.read_text()
    assert "stopped watching; the job goes on at openai" in message and "tunekit watch " in message
    assert "Traceback" not in message
    [job] = openai_emulator.jobs()
    assert job["status"] not in ("cancelled", "failed")  # nobody asked the service to stop it
