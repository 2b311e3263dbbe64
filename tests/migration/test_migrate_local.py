"""An OpenAI run moves to the local provider (a tiny model trained here) and gets an honest verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunekit import Ledger, Tuner, migrate, parse_config
from tunekit_emulators.openai import OpenAIEmulator
from tunekit_local.testing import build_tiny_chat_model

from .conftest import ConfigWriter

pytestmark = pytest.mark.slow


def test_openai_run_to_a_local_tiny_model(
    openai_emulator: OpenAIEmulator, openai_config: ConfigWriter, tmp_path: Path
) -> None:
    job = Tuner.from_config(openai_config("source")).submit()
    job.wait(poll_interval=0.02)
    tiny = build_tiny_chat_model(tmp_path / "tiny")
    target = parse_config(
        {
            "provider": "local",
            "model": str(tiny),
            "data": {"train": str(tmp_path / "train.jsonl")},
            "hyperparameters": {"learning_rate": 1e-2, "batch_size": 4},
            "lora": {"r": 8, "alpha": 16, "dropout": 0.0},
            "eval": {"data": str(tmp_path / "eval.jsonl"), "metrics": ["exact_match"], "max_new_tokens": 8},
            "provider_options": {"device": "cpu", "max_steps": 3},
        }
    )
    certificate = migrate(job.run_id, target, poll_interval=0.5)
    # A random tiny model cannot name capitals: the replayed source answers win, and the verdict says so.
    assert certificate.source.score == 100.0 and certificate.target.score < 100.0
    assert certificate.verdict in ("worse", "not yet")
    assert certificate.verdict != "migrate"
    record = Ledger().get(certificate.target_run or "")
    assert record.provider == "local" and record.remote["migrated_from"] == job.run_id
    assert record.result is not None and record.result["kind"] == "adapter"
