"""A real tuned run to serve and export: the tiny Llama with a LoRA adapter the local provider trained."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from serve_helpers import TunedRun


@pytest.fixture(scope="session")
def tuned_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TunedRun]:
    pytest.importorskip("tunekit_local")
    from tunekit.ledger import Ledger
    from tunekit.tuner import Tuner
    from tunekit_emulators.conformance.data import write_jsonl
    from tunekit_local.testing import build_tiny_chat_model, sample_conversations

    root = tmp_path_factory.mktemp("tuned-run")
    home = root / "home"
    previous = os.environ.get("TUNEKIT_HOME")
    os.environ["TUNEKIT_HOME"] = str(home)
    try:
        base = build_tiny_chat_model(root / "base")
        data = write_jsonl(root / "train.jsonl", [{"messages": chat} for chat in sample_conversations(32)])
        tuner = Tuner(
            provider="local",
            model=str(base),
            data={"train": str(data)},
            hyperparameters={"learning_rate": 1e-2, "batch_size": 4},
            lora={"r": 8, "alpha": 16, "dropout": 0.0},
            provider_options={"device": "cpu", "max_steps": 6},
            ledger=Ledger(home / "runs.db"),
        )
        job = tuner.submit()
        job.wait()
        model = job.result()
        assert model.path is not None
        yield TunedRun(home, job.run_id, base, Path(model.path))
    finally:
        if previous is None:
            os.environ.pop("TUNEKIT_HOME", None)
        else:
            os.environ["TUNEKIT_HOME"] = previous


@pytest.fixture
def run_home(tuned_run: TunedRun, monkeypatch: pytest.MonkeyPatch) -> TunedRun:
    """The tuned run, with TUNEKIT_HOME pointing at its ledger for this test."""
    monkeypatch.setenv("TUNEKIT_HOME", str(tuned_run.home))
    return tuned_run
