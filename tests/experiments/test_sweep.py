"""`tunekit sweep` on the OpenAI emulator: a 2x2 grid makes 4 runs, a killed sweep resumes without duplicates,
a cap below the estimate exits 2 with nothing submitted, and the summary ranks the children."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tunekit.cli.app import app
from tunekit.config import load_config
from tunekit.errors import ConfigError
from tunekit.evaluate.report import CandidateSummary, EvalReport, ItemResult
from tunekit.ledger import Ledger
from tunekit.sweep import ChildOutcome, Sweep, SweepChild, plan_sweep, summarize
from tunekit_emulators.conformance import ConfigWriter
from tunekit_emulators.openai import OpenAIEmulator

GRID = {"parameters": {"hyperparameters.learning_rate_multiplier": [0.5, 2.0]}, "seeds": [1, 2], "max_runs": 4}
EVAL = {"data": "valid.jsonl", "max_examples": 4, "few_shot": 1, "baselines": ["zero-shot"]}


def _tunekit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tunekit.cli", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_killed_2x2_sweep_resumes_to_exactly_four_runs(
    openai_config: ConfigWriter, openai_emulator: OpenAIEmulator, tunekit_home: Path
) -> None:
    config = openai_config(sweep=GRID, eval=EVAL)
    # Killed (SIGKILL) right after the sweep recorded its second child.
    killed = _tunekit(
        "sweep", str(config), "--yes", "--poll-interval", "0.01", env={"TUNEKIT_CRASH_AT": "sweep:child-1:after"}
    )
    assert killed.returncode == -9, killed.stderr[-2000:]
    sweep = Sweep(load_config(config))
    ledger = Ledger()
    assert len(ledger.runs()) == 2 and len(openai_emulator.jobs()) == 2

    done = _tunekit("sweep", str(config), "--yes", "--poll-interval", "0.01", "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    runs = ledger.runs()
    assert len(runs) == 4 and len(openai_emulator.jobs()) == 4  # no child submitted twice
    assert {r.status.value for r in runs} == {"succeeded"}
    summary = json.loads(done.stdout[done.stdout.index("{") :])
    assert summary["sweep_id"] == sweep.id
    rows = summary["rows"]
    assert [r["rank"] for r in rows] == [1, 2, 3, 4]
    assert {(r["point"]["hyperparameters.learning_rate_multiplier"], r["point"]["seed"]) for r in rows} == {
        (0.5, 1),
        (0.5, 2),
        (2.0, 1),
        (2.0, 2),
    }
    assert all(r["metric"] == "exact_match" and r["ci_low"] is not None for r in rows)
    values = [r["value"] for r in rows]
    assert values == sorted(values, reverse=True)
    for row in rows[1:]:  # the emulator's tuned models all answer right: no child is better than noise
        assert row["difference"] == 0 and row["within_noise"] is True
    folder = tunekit_home / "sweeps" / sweep.id
    assert (folder / "sweep.png").read_bytes().startswith(b"\x89PNG")
    assert "sweep.png" in (folder / "summary.md").read_text()

    listed = CliRunner().invoke(app, ["runs", "--sweep", sweep.id, "--json"], catch_exceptions=False)
    assert listed.exit_code == 0
    children = json.loads(listed.stdout)
    assert sorted(r["run_id"] for r in children) == sorted(r.run_id for r in runs)
    # The jobs carry what each point asked for.
    multipliers = sorted(
        j["method"]["supervised"]["hyperparameters"]["learning_rate_multiplier"] for j in openai_emulator.jobs()
    )
    assert multipliers == [0.5, 0.5, 2.0, 2.0]


def test_a_cap_below_the_estimate_exits_2_with_nothing_submitted(
    openai_config: ConfigWriter, openai_emulator: OpenAIEmulator
) -> None:
    config = openai_config(sweep={**GRID, "max_usd": 0.000001})
    refused = _tunekit("sweep", str(config), "--yes")
    assert refused.returncode == 2, refused.stderr[-2000:]
    assert "sweep.max_usd: the sweep is estimated at" in refused.stderr
    assert "one run alone is estimated at" in refused.stderr
    assert openai_emulator.jobs() == [] and openai_emulator.files() == []
    assert Ledger().runs() == []


def test_bad_sweeps_are_refused_before_anything_runs(openai_config: ConfigWriter) -> None:
    def problems(sweep: dict[str, Any]) -> list[str]:
        with pytest.raises(ConfigError) as caught:
            plan_sweep(load_config(openai_config(sweep=sweep)))
        return caught.value.problems

    assert problems({**GRID, "max_runs": 3}) == [
        "sweep.max_runs: the grid has 4 points (2 x 2) but max_runs is 3; "
        "raise max_runs, trim the values, or use method: random"
    ]
    assert problems({"parameters": {"hyperparameters.epocs": [1, 2]}}) == [
        "sweep.parameters.hyperparameters.epocs: the config has no such field"
    ]
    [bad] = problems({"parameters": {"hyperparameters.epochs": [0, 2]}})
    assert bad.startswith("sweep.parameters (hyperparameters.epochs=0): ") and "epochs must be positive" in bad
    drawn = plan_sweep(load_config(openai_config(sweep={**GRID, "method": "random", "max_runs": 3})))
    assert len(drawn) == 3 and len({tuple(c.point.values()) for c in drawn}) == 3


def _outcome(index: int, correct: list[int]) -> ChildOutcome:
    """A child whose tuned model got the items marked 1 right (out of len(correct))."""
    items = [ItemResult(prediction="", scores={"exact_match": float(ok)}) for ok in correct]
    tuned = CandidateSummary(name="tuned", kind="tuned", model=f"ft-{index}", items=items)
    report = EvalReport(candidates=[tuned], metrics=["exact_match"], items=[])
    child = SweepChild(index, {"seed": index}, None)  # type: ignore[arg-type]  # the ranking reads the point only
    return ChildOutcome(child, run_id=f"run-{index}", status="succeeded", report=report)


def test_the_ranking_marks_what_is_within_noise_of_the_best() -> None:
    best = [1] * 20
    close = [1] * 19 + [0]  # one item apart: a paired interval that contains zero
    far = [1] * 5 + [0] * 15  # 75 points worse on the same items
    rows = summarize([_outcome(0, far), _outcome(1, close), _outcome(2, best)])
    assert [r.run_id for r in rows] == ["run-2", "run-1", "run-0"]
    top, second, third = rows
    assert (top.value, top.within_noise) == (100.0, False)
    assert second.within_noise and second.difference == pytest.approx(-5.0)
    assert not third.within_noise and third.difference == pytest.approx(-75.0)
    assert third.ci_low is not None and third.ci_high is not None and third.ci_low < 25.0 < third.ci_high


def test_children_run_in_parallel_as_ordinary_runs(
    openai_config: ConfigWriter, openai_emulator: OpenAIEmulator
) -> None:
    config = load_config(openai_config(sweep={"seeds": [1, 2, 3], "parallel": 3}))
    sweep = Sweep(config)
    sweep.check_budget()
    outcomes = sweep.run(evaluate=False, poll_interval=0.01, timeout=60)
    assert [o.status for o in outcomes] == ["succeeded"] * 3
    assert sorted(j["seed"] for j in openai_emulator.jobs()) == [1, 2, 3]
    # Without an evaluation the ranking falls back to the loss, lower first.
    rows = summarize(outcomes)
    assert rows[0].metric in ("valid_loss", "train_loss")
    assert [r.value for r in rows] == sorted(r.value for r in rows if r.value is not None)
    # Run again: every child is found, nothing is submitted.
    again = Sweep(config).run(evaluate=False, poll_interval=0.01, timeout=60)
    assert all(o.reused for o in again) and len(openai_emulator.jobs()) == 3
