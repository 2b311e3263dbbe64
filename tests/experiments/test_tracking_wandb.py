"""Runs tracked in W&B offline, with no key and no network: W&B's own reader finds the ledger's data in its files."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tunekit import JobStatus, Tuner
from tunekit.config import load_config
from tunekit.errors import ConfigError
from tunekit.evaluate import evaluate_run
from tunekit.sweep import Sweep
from tunekit.tracking import metric_key, tracking_problems
from tunekit_emulators.conformance import ConfigWriter, ledger_series, wandb_offline_run
from tunekit_emulators.openai import OpenAIEmulator


@pytest.mark.azure_emulator(lifecycle="timed", step_seconds=0.3)  # metrics arrive over several polls
def test_wandb_offline_holds_the_ledgers_metric_series(azure_config: ConfigWriter, wandb_offline: Path) -> None:
    """Azure has no W&B integration of its own: tunekit logs every metric point, and no key is asked for."""
    config = azure_config(tracking={"backend": "wandb", "project": "recipes", "tags": {"team": "nlp"}})
    tuner = Tuner.from_config(config)
    job = tuner.submit()
    assert job.wait(poll_interval=0.01, timeout=30).status == JobStatus.SUCCEEDED

    ledger = ledger_series(job)
    assert ledger and len(ledger["train_loss"]) > 3
    tracked = wandb_offline_run(wandb_offline, job.run_id)
    assert tracked.series == ledger
    assert tracked.config["hyperparameters.epochs"] == "2"
    assert not any("api_key" in key for key in tracked.config)
    assert {f"tunekit.run_id:{job.run_id}", "tunekit.provider:azure", "team:nlp"} <= set(tracked.tags)
    assert tracked.exit_codes == [0]
    # Where the run went, for `tunekit run`'s "tracked in …" line: the folder `wandb sync` uploads.
    assert job.tracking is not None
    where = job.tracking.tracker.where
    assert where.startswith("wandb (offline, ") and str(tracked.folders[0]) in where and "wandb sync" in where


@pytest.mark.openai_emulator(lifecycle="timed", step_seconds=0.2)
def test_wandb_offline_holds_params_and_evaluation_beside_openais_integration(
    openai_config: ConfigWriter, openai_emulator: OpenAIEmulator, wandb_offline: Path
) -> None:
    """OpenAI logs the training metrics to W&B itself; tunekit's run holds the parameters and the evaluation."""
    evaluation = {"data": "valid.jsonl", "max_examples": 2, "few_shot": 1, "metrics": ["exact_match"]}
    tuner = Tuner.from_config(openai_config(tracking={"backend": "wandb", "project": "capitals"}, eval=evaluation))
    job = tuner.submit()
    assert job.wait(poll_interval=0.01, timeout=30).status == JobStatus.SUCCEEDED
    [created] = openai_emulator.jobs()
    assert created["integrations"][0]["wandb"]["project"] == "capitals"

    report = evaluate_run(tuner, job)
    tracked = wandb_offline_run(wandb_offline, job.run_id)
    assert tracked.series == {}, "training metrics are left to OpenAI's integration, not logged twice"
    assert tracked.config["hyperparameters.epochs"] == "2"
    for candidate in report.candidates:
        key = metric_key("eval", candidate.name, "exact_match")
        assert tracked.summary[key] == pytest.approx(candidate.score("exact_match"))
    folder = Path(report.paths["json"]).parent
    [artifact] = tracked.artifacts
    assert artifact["type"] == "evaluation" and folder.name in artifact["name"]
    files = {entry["path"] for entry in artifact["manifest"]["contents"]}
    assert {"report.md", "report.html", "report.json", "predictions.jsonl"} <= files
    # Opened once while following the job and once for the evaluation: two folders, one W&B run id.
    assert len(tracked.folders) == 2 and tracked.exit_codes == [0, 0]


def test_wandb_offline_by_settings_file_needs_no_key(
    openai_config: ConfigWriter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`wandb offline` (a settings file, no variable) is offline too; online without a key is refused up front."""
    for name in ("WANDB_API_KEY", "WANDB_IDENTITY_TOKEN_FILE", "WANDB_MODE", "WANDB_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb-config"))
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    monkeypatch.chdir(tmp_path)
    settings = load_config(openai_config(tracking={"backend": "wandb"})).tracking
    assert tracking_problems(settings) == [
        "tracking.backend: wandb needs a key: set WANDB_API_KEY or run `wandb login` "
        "(or work offline: WANDB_MODE=offline, or `wandb offline`)"
    ]
    (tmp_path / "wandb").mkdir()
    (tmp_path / "wandb" / "settings").write_text("[default]\nmode = offline\n", encoding="utf-8")  # `wandb offline`
    assert tracking_problems(settings) == []


def test_wandb_not_installed_is_refused_before_anything_is_sent(
    openai_config: ConfigWriter, openai_emulator: OpenAIEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "wandb", None)  # as on a machine without it: the import fails
    tuner = Tuner.from_config(openai_config(tracking={"backend": "wandb", "project": "capitals"}))
    with pytest.raises(ConfigError) as caught:
        tuner.submit()
    assert "tracking.backend: wandb is not installed: pip install 'tunekit[wandb]'" in caught.value.problems
    assert openai_emulator.jobs() == [] and tuner.ledger.runs() == []


@pytest.mark.azure_emulator(lifecycle="timed", step_seconds=0.3)
def test_wandb_offline_run_continues_after_a_restarted_watch(azure_config: ConfigWriter, wandb_offline: Path) -> None:
    """A watch stopped mid-job and started again sends each point once: the folders together hold the series."""
    tuner = Tuner.from_config(azure_config(tracking={"backend": "wandb", "project": "recipes"}))
    job = tuner.submit()
    for _ in job.watch(poll_interval=0.01, timeout=30):
        print("the terminal is the program's, not the run's")  # W&B's console capture would copy it
        if ledger_series(job).get("train_loss"):
            break
    assert job.tracking is not None
    job.tracking.close()
    again = tuner.job(job.run_id)
    assert again.wait(poll_interval=0.01, timeout=30).status == JobStatus.SUCCEEDED
    tracked = wandb_offline_run(wandb_offline, job.run_id)
    assert len(tracked.folders) >= 2
    assert tracked.series == ledger_series(again)
    assert tracked.console == []


@pytest.mark.azure_emulator(lifecycle="timed", step_seconds=0.2)
def test_a_parallel_sweep_makes_one_wandb_run_per_child_and_prints_nothing(
    azure_config: ConfigWriter, wandb_offline: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Children followed side by side each get their own W&B run; W&B's banner and notices stay off the terminal."""
    config = load_config(azure_config(sweep={"seeds": [1, 2, 3], "parallel": 3}, tracking={"backend": "wandb"}))
    outcomes = Sweep(config).run(evaluate=False, poll_interval=0.01, timeout=60)
    assert [o.status for o in outcomes] == ["succeeded"] * 3
    tuner = Tuner(config)
    sweeps = set()
    for outcome in outcomes:
        tracked = wandb_offline_run(wandb_offline, outcome.run_id)
        assert tracked.series == ledger_series(tuner.job(outcome.run_id))
        sweeps |= {tag for tag in tracked.tags if tag.startswith("tunekit.sweep_id:")}
    assert len(sweeps) == 1
    printed = capfd.readouterr()
    assert "wandb:" not in printed.out + printed.err
