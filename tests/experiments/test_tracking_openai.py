"""An emulated OpenAI run tracked in MLflow and Trackio: the tracker holds the ledger's own metric series.

W&B (offline) is in test_tracking_wandb.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tunekit import JobStatus, Tuner
from tunekit.config import load_config
from tunekit.errors import ConfigError
from tunekit.evaluate import evaluate_run
from tunekit.states import JobEvent
from tunekit.tracking import metric_key
from tunekit_emulators.conformance import ConfigWriter, ledger_series, mlflow_series
from tunekit_emulators.openai import OpenAIEmulator

# Timed: the job runs for a while and its metrics arrive over several polls, as a real job's do.
timed = pytest.mark.openai_emulator(lifecycle="timed", step_seconds=0.3)


@timed
def test_mlflow_holds_the_ledgers_metric_series(openai_config: ConfigWriter, tmp_path: Path) -> None:
    store = (tmp_path / "mlruns").as_uri()
    evaluation = {"data": "valid.jsonl", "max_examples": 2, "few_shot": 1, "metrics": ["exact_match", "token_f1"]}
    tuner = Tuner.from_config(openai_config(tracking={"backend": "mlflow", "uri": store}, eval=evaluation))
    job = tuner.submit()
    assert job.wait(poll_interval=0.01, timeout=30).status == JobStatus.SUCCEEDED

    ledger = ledger_series(job)
    assert ledger and "train_loss" in ledger and len(ledger["train_loss"]) > 3
    tracked, run = mlflow_series(store, job.run_id)
    assert tracked == ledger
    assert run.info.status == "FINISHED"
    assert run.data.params["hyperparameters.epochs"] == "2"
    assert run.data.tags["tunekit.provider"] == "openai"

    # The evaluation adds every candidate's scores and the report's files.
    report = evaluate_run(tuner, job)
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=store)
    scores = client.get_run(run.info.run_id).data.metrics
    for candidate in report.candidates:
        for metric in ("exact_match", "token_f1"):
            assert scores[metric_key("eval", candidate.name, metric)] == pytest.approx(candidate.score(metric))
    assert "eval/base few-shot k1/exact_match" in scores
    folder = Path(report.paths["json"]).parent
    [uploaded] = client.list_artifacts(run.info.run_id, "evaluation")
    names = {Path(a.path).name for a in client.list_artifacts(run.info.run_id, uploaded.path)}
    assert {"report.md", "report.html", "report.json", "predictions.jsonl"} <= names
    assert uploaded.path == f"evaluation/{folder.name}"
    assert client.get_run(run.info.run_id).info.status == "FINISHED"


@timed
def test_mlflow_sqlite_store_holds_the_ledgers_metric_series(openai_config: ConfigWriter, tmp_path: Path) -> None:
    """``uri: sqlite:///…`` works with tunekit[mlflow] alone: the store is created, and artifacts go beside it."""
    database = tmp_path / "store" / "mlflow.db"
    database.parent.mkdir()
    uri = f"sqlite:///{database}"
    evaluation = {"data": "valid.jsonl", "max_examples": 1, "metrics": ["exact_match"]}
    tuner = Tuner.from_config(openai_config(tracking={"backend": "mlflow", "uri": uri}, eval=evaluation))
    job = tuner.submit()
    assert job.wait(poll_interval=0.01, timeout=30).status == JobStatus.SUCCEEDED

    ledger = ledger_series(job)
    assert ledger and len(ledger["train_loss"]) > 3
    tracked, run = mlflow_series(uri, job.run_id)
    assert tracked == ledger
    assert run.info.status == "FINISHED"
    assert run.data.params["hyperparameters.epochs"] == "2"
    assert database.is_file()

    report = evaluate_run(tuner, job)
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    scores = client.get_run(run.info.run_id).data.metrics
    tuned = next(c for c in report.candidates if c.name == "tuned")
    assert scores["eval/tuned/exact_match"] == pytest.approx(tuned.score("exact_match"))
    folder = Path(report.paths["json"]).parent
    stored = database.parent / "mlartifacts"
    assert list(stored.rglob(f"evaluation/{folder.name}/report.json")), "artifacts beside the database"


def test_a_database_store_without_sqlalchemy_is_refused_before_anything_is_sent(
    openai_config: ConfigWriter, openai_emulator: OpenAIEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As on a machine with mlflow-skinny alone: Alembic cannot be imported.
    monkeypatch.setitem(sys.modules, "alembic", None)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tuner = Tuner.from_config(openai_config(tracking={"backend": "mlflow", "uri": uri}))
    with pytest.raises(ConfigError) as caught:
        tuner.submit()
    assert (
        "tracking.uri: a database store needs SQLAlchemy and Alembic: pip install 'tunekit[mlflow]'"
        in caught.value.problems
    )
    assert openai_emulator.jobs() == [] and not (tmp_path / "mlflow.db").exists()


def test_trackio_local_holds_the_ledgers_metric_series(
    openai_config: ConfigWriter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Trackio reads TRACKIO_DIR once, when first imported; in a session where an earlier test imported it,
    # its databases stay where that import put them, so the project name is this test's own.
    monkeypatch.setenv("TRACKIO_DIR", str(tmp_path / "trackio"))
    project = f"capitals-{tmp_path.name}"
    tuner = Tuner.from_config(openai_config(tracking={"backend": "trackio", "project": project}))
    job = tuner.submit()
    assert job.wait(poll_interval=0.01, timeout=30).status == JobStatus.SUCCEEDED

    from trackio.sqlite_storage import SQLiteStorage

    logs = SQLiteStorage.get_logs(project, job.run_id)
    tracked: dict[str, list[tuple[int, float]]] = {}
    for row in logs:
        for name, value in row.items():
            if name not in ("step", "timestamp") and isinstance(value, (int, float)):
                tracked.setdefault(name, []).append((row["step"], float(value)))
    assert tracked == ledger_series(job)
    from trackio.utils import TRACKIO_DIR

    assert (Path(TRACKIO_DIR) / f"{project}.db").is_file()


@pytest.mark.openai_emulator(lifecycle="timed", step_seconds=1.0)  # metrics spread over a second of polls
def test_a_tracker_down_mid_run_leaves_training_going_and_catches_up(
    openai_config: ConfigWriter, tmp_path: Path
) -> None:
    store = tmp_path / "mlruns"
    tuner = Tuner.from_config(openai_config(tracking={"backend": "mlflow", "uri": store.as_uri()}))
    job = tuner.submit()
    moved = tmp_path / "mlruns-away"
    broken = False
    for item in job.watch(poll_interval=0.01, timeout=30):
        if isinstance(item, JobEvent) and item.metrics and not broken:
            broken = True
            store.rename(moved)  # the store vanishes: every write fails until it is back
            store.write_text("not a store")
        if moved.exists() and any(e.step == "unavailable" for e in job.ledger.events(job.run_id, kinds=["tracking"])):
            store.unlink()
            moved.rename(store)
    if moved.exists():  # the job ended while the tracker was down: it catches up on the next call
        store.unlink()
        moved.rename(store)
        job.track()
    assert job.record.status == JobStatus.SUCCEEDED
    assert any(e.step == "unavailable" for e in job.ledger.events(job.run_id, kinds=["tracking"]))
    messages = [e.message for e in job.ledger.events(job.run_id, kinds=["tracking"])]
    assert "not yet logged to mlflow" in messages[0] and "metric point" in messages[0]
    assert messages[-1].endswith("caught up")
    tracked, run = mlflow_series(store.as_uri(), job.run_id)
    assert tracked == ledger_series(job)
    assert run.info.status == "FINISHED"
    assert job.tracking is not None and not job.tracking.pending()


def test_an_unknown_backend_names_the_field(openai_config: ConfigWriter) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(openai_config(tracking={"backend": "tensorboard"}))
    assert any(
        p.startswith("tracking.backend: Input should be 'mlflow', 'trackio' or 'wandb'") for p in caught.value.problems
    )


def test_a_uri_with_credentials_is_refused(openai_config: ConfigWriter) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(openai_config(tracking={"backend": "mlflow", "uri": "https://me:hunter2@mlflow.example.com"}))
    assert "hunter2" not in str(caught.value) and "MLFLOW_TRACKING_PASSWORD" in str(caught.value.problems)


def test_wandb_tracking_goes_through_openais_own_integration(openai_config: ConfigWriter) -> None:
    """OpenAI logs a job's metrics to W&B itself: the job carries the integration and tunekit skips the metrics."""
    from tunekit_openai.options import OpenAIOptions
    from tunekit_openai.params import build_create_params

    config = load_config(
        openai_config(tracking={"backend": "wandb", "project": "capitals", "entity": "team", "tags": {"team": "nlp"}})
    )
    assert config.tracking is not None and Tuner(config).provider.native_tracking(config.tracking)
    options = config.options()
    assert isinstance(options, OpenAIOptions)
    params = build_create_params(
        config, options, training_file="file-1", validation_file=None, run_id="r1", config_hash="h", wandb_tracking=True
    )
    assert params["integrations"] == [
        {
            "type": "wandb",
            "wandb": {"project": "capitals", "name": "r1", "entity": "team", "tags": ["tunekit.run_id:r1", "team:nlp"]},
        }
    ]
    plain = build_create_params(
        config, options, training_file="file-1", validation_file=None, run_id="r1", config_hash="h"
    )
    assert "integrations" not in plain
