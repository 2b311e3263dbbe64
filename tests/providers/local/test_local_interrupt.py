"""Ctrl-C during `tunekit run` on the local provider stops training, as it would stop a training script."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tunekit.cli.output import EXIT_INTERRUPTED
from tunekit_emulators.conformance.data import write_jsonl
from tunekit_local import launch
from tunekit_local.runfolder import RunFolder
from tunekit_local.testing import sample_conversations

pytestmark = pytest.mark.slow

TUNEKIT = str(Path(sys.executable).with_name("tunekit"))


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TUNEKIT, *args], capture_output=True, text=True, timeout=300, check=False)


def _status(run_id: str) -> dict[str, object]:
    done = _cli("status", run_id, "--json")
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_ctrl_c_cancels_local_training_and_resume_continues(
    tiny_model: Path, tmp_path: Path, tunekit_home: Path
) -> None:
    data = write_jsonl(tmp_path / "train.jsonl", [{"messages": chat} for chat in sample_conversations(32, system=True)])
    config = {
        "provider": "local",
        "model": str(tiny_model),
        "data": {"train": str(data)},
        "hyperparameters": {"learning_rate": 1e-2, "batch_size": 4},
        "provider_options": {"device": "cpu", "max_steps": 100_000, "checkpoint_every": 2},
    }
    path = tmp_path / "config.yaml"
    path.write_text(json.dumps(config), encoding="utf-8")  # JSON is YAML
    out, err = tmp_path / "run.out", tmp_path / "run.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        cli = subprocess.Popen(
            [TUNEKIT, "run", str(path), "--yes", "--poll-interval", "0.2"], stdout=stdout, stderr=stderr
        )
        try:
            deadline = time.monotonic() + 300
            while not any(tunekit_home.glob("runs/*/checkpoints/checkpoint-*")):
                assert cli.poll() is None, err.read_text()
                assert time.monotonic() < deadline, "no checkpoint within 300 s"
                time.sleep(0.1)
            cli.send_signal(signal.SIGINT)  # what Ctrl-C in the terminal sends to the CLI
            assert cli.wait(timeout=120) == EXIT_INTERRUPTED
        finally:
            if cli.poll() is None:
                cli.kill()

    run_dir = next(tunekit_home.glob("runs/*/checkpoints")).parent
    run_id = run_dir.name
    message = err.read_text()
    assert "stopping the training process" in message and f"tunekit resume {run_id}" in message
    assert "Traceback" not in message
    folder = RunFolder(run_dir)
    info = launch.ProcessInfo.read(folder)
    assert info is not None and not launch.is_alive(info)  # nothing keeps training behind the user's back
    assert _status(run_id)["status"] == "cancelled"
    last = folder.last_checkpoint()
    assert last is not None

    resumed = _cli("resume", run_id)
    assert resumed.returncode == 0, resumed.stderr
    try:
        info = launch.ProcessInfo.read(folder)
        assert info is not None and info.attempt == 2
        deadline = time.monotonic() + 120
        while not any(e.get("message") == f"resuming from {last.name}" for e in folder.read_events()):
            assert launch.is_alive(info), folder.log.read_text()[-3000:]
            assert time.monotonic() < deadline, folder.log.read_text()[-3000:]
            time.sleep(0.2)
    finally:
        assert _cli("cancel", run_id).returncode == 0
    assert not launch.is_alive(info)
