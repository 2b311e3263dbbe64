"""A local training run tracked in MLflow: the callbacks' metrics reach the store as the ledger records them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunekit.jobs import JobStatus
from tunekit.tuner import Tuner
from tunekit_emulators.conformance import ledger_series, mlflow_series, write_jsonl

pytestmark = pytest.mark.slow


def test_local_run_metrics_reach_mlflow_as_the_ledger_has_them(tiny_model: Path, tmp_path: Path) -> None:
    from tunekit_local.testing import sample_conversations

    data = write_jsonl(tmp_path / "train.jsonl", [{"messages": chat} for chat in sample_conversations(24)])
    store = (tmp_path / "mlruns").as_uri()
    tuner = Tuner(
        provider="local",
        model=str(tiny_model),
        data={"train": str(data), "validation_split": 0.25},
        hyperparameters={"learning_rate": 1e-2, "batch_size": 4},
        lora={"r": 8, "alpha": 16, "dropout": 0.0},
        provider_options={"device": "cpu", "max_steps": 4, "eval_every": 2},
        tracking={"backend": "mlflow", "uri": store, "project": "local-check"},
    )
    job = tuner.submit()
    assert job.wait(poll_interval=0.2, timeout=600).status == JobStatus.SUCCEEDED

    ledger = ledger_series(job)
    assert [step for step, _ in ledger["train_loss"]] == [1, 2, 3, 4]
    tracked, run = mlflow_series(store, job.run_id)
    assert tracked == ledger
    assert run.info.status == "FINISHED"
    assert run.data.params["provider_options.max_steps"] == "4"
