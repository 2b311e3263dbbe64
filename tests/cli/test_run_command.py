"""`tunekit run`: the whole path in one command, against the OpenAI emulator over real HTTP."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tunekit.cli.app import app
from tunekit.cli.output import EXIT_DATA_INVALID, EXIT_USAGE
from tunekit.ledger import Ledger

RECIPES = Path(__file__).resolve().parents[2] / "examples" / "recipes"
runner = CliRunner()


@pytest.fixture
def recipe(tmp_path: Path, openai_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The OpenAI recipe example, copied so tests may break its data, aimed at the emulator."""
    folder = tmp_path / "recipes"
    shutil.copytree(RECIPES / "data", folder / "data")
    shutil.copy(RECIPES / "openai.yaml", folder / "openai.yaml")
    monkeypatch.setenv("OPENAI_API_KEY", openai_emulator.api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", openai_emulator.base_url)
    return folder / "openai.yaml"


def _run(*args: str) -> Any:
    return runner.invoke(app, ["run", *args, "--poll-interval", "0"], catch_exceptions=False)


def test_run_trains_evaluates_and_reports(recipe: Path, openai_emulator: Any) -> None:
    result = _run(str(recipe), "--yes")
    assert result.exit_code == 0, result.output
    assert "data OK" in result.output
    assert "tuned model" in result.output and "ft:" in result.output
    # The verdict compares the tuned model with the prompting baselines, with numbers.
    assert "few-shot" in result.output and "zero-shot" in result.output
    # The report fits an 80-column log without truncating a name or a number to "…": a row per candidate.
    table = result.output[result.output.index("Evaluation: ") :]
    assert "…" not in table and "normalized_exact_match" in table and "in tok" in table and "$/1k req" in table
    assert max(len(line) for line in table.splitlines()) <= 80
    ladder = ("base zero-shot ", "base few-shot ", "base retrieval ", "tuned ")
    rows = [line for line in table.splitlines() if line.startswith(ladder) and "$" in line]
    assert len(rows) == 4 and all("n/a" not in row for row in rows)  # every number there, priced by the table
    assert "Break-even vs base" in table
    assert len(openai_emulator.jobs()) == 1

    (run,) = Ledger().runs()
    report = json.loads((run.run_dir / "eval" / "latest" / "report.json").read_text())
    names = [c["name"] for c in report["candidates"]]
    assert names == ["base zero-shot", "base few-shot (k=3)", "base retrieval (k=3)", "tuned"]
    steps = {(e.kind, e.step) for e in Ledger().events(run.run_id)}
    assert {("intent", "submit"), ("intent", "evaluate"), ("outcome", "evaluate"), ("outcome", "result")} <= steps


def test_running_again_resumes_instead_of_duplicating(recipe: Path, openai_emulator: Any) -> None:
    first = _run(str(recipe), "--yes", "--skip-eval")
    assert first.exit_code == 0, first.output
    second = _run(str(recipe), "--yes", "--skip-eval")
    assert second.exit_code == 0, second.output
    assert "already succeeded" in second.output
    assert len(Ledger().runs()) == 1
    assert len(openai_emulator.jobs()) == 1
    assert len([f for f in openai_emulator.files() if f.get("purpose") == "fine-tune"]) == 2  # train + validation


def test_spending_needs_confirmation_without_a_terminal(recipe: Path, openai_emulator: Any) -> None:
    result = _run(str(recipe))
    assert result.exit_code == EXIT_USAGE  # as docs/cli.md says: nothing was started
    assert "--yes" in result.output
    assert openai_emulator.files() == [] and openai_emulator.jobs() == []


def test_invalid_data_stops_before_any_upload(recipe: Path, openai_emulator: Any) -> None:
    train = recipe.parent / "data" / "train.jsonl"
    lines = train.read_text().splitlines()
    lines[6] = '{"messages": [{"role": "user", "content": "no answer here"}]}'
    train.write_text("\n".join(lines) + "\n")
    result = _run(str(recipe), "--yes")
    assert result.exit_code == EXIT_DATA_INVALID
    assert "train.jsonl:7" in result.output
    assert openai_emulator.files() == [] and openai_emulator.jobs() == []


def test_reports_are_kept_and_a_finished_run_shows_its_stored_report(recipe: Path, openai_emulator: Any) -> None:
    chats = ("POST", "/v1/chat/completions")
    first = _run(str(recipe), "--yes")
    assert first.exit_code == 0, first.output
    (run,) = Ledger().runs()
    root = run.run_dir / "eval"
    full = (root / "latest").resolve()
    assert json.loads((full / "report.json").read_text())["examples"] == 40

    # A quick 10-example check writes a report of its own: the 40-example one is kept.
    quick = runner.invoke(app, ["eval", run.run_id, "-n", "10", "--yes"], catch_exceptions=False)
    assert quick.exit_code == 0, quick.output
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink())
    assert len(folders) == 2 and full in folders
    assert json.loads((full / "report.json").read_text())["examples"] == 40
    assert json.loads((root / "latest" / "report.json").read_text())["examples"] == 10

    # Running the finished run again shows the stored report without asking any model again.
    sent = openai_emulator.request_count(*chats)
    again = _run(str(recipe), "--yes")
    assert again.exit_code == 0, again.output
    assert openai_emulator.request_count(*chats) == sent
    assert "showing that report" in again.output and "--re-evaluate" in again.output
    assert "10 held-out examples" in again.output and "The tuned model" in " ".join(again.output.split())

    # Asked to, it evaluates again, into a third folder.
    fresh = _run(str(recipe), "--yes", "--re-evaluate")
    assert fresh.exit_code == 0, fresh.output
    assert openai_emulator.request_count(*chats) == sent + 4 * 40  # four candidates, 40 examples each
    assert len([p for p in root.iterdir() if p.is_dir() and not p.is_symlink()]) == 3
    assert len(openai_emulator.jobs()) == 1
