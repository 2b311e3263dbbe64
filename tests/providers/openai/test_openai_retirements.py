"""Model shutdown dates: OpenAI's dated table, the API's shutdown_date, and the runs that must move."""

from __future__ import annotations

from datetime import date, timedelta

import openai
import pytest
from typer.testing import CliRunner

from tunekit.cli.app import app
from tunekit.errors import FineTuningUnavailableError, InvalidRequestError
from tunekit.jobs import JobStatus
from tunekit.ledger import Ledger
from tunekit.registry import model_retirement
from tunekit.retirement import Retirement, lookup, retirement_notice
from tunekit_emulators.openai import OpenAIEmulator
from tunekit_openai.errors import explain_openai_error
from tunekit_openai.provider import OpenAIProvider

runner = CliRunner()


def test_tuned_ids_resolve_to_their_base_snapshot_and_its_shutdown() -> None:
    row = model_retirement("openai", "ft:gpt-4.1-mini-2025-04-14:acme::AbC123")
    assert row is not None and row.model == "gpt-4.1-mini"
    assert row.shutdown == date(2027, 1, 14) and row.training_ends == date(2027, 1, 6)
    # The longest key wins: gpt-4o-mini is not gpt-4o, and the 2024-05-13 snapshot went earlier.
    assert model_retirement("openai", "gpt-4o-mini-2024-07-18").model == "gpt-4o-mini"  # type: ignore[union-attr]
    assert model_retirement("openai", "gpt-4o-2024-05-13").shutdown == date(2026, 10, 23)  # type: ignore[union-attr]
    assert model_retirement("openai", "gpt-4.1-nano-2025-04-14").shutdown == date(2026, 10, 23)  # type: ignore[union-attr]
    assert model_retirement("openai", "my-own-model") is None
    assert model_retirement("not-installed", "gpt-4o") is None


def test_azure_no_earlier_than_dates_never_warn() -> None:
    row = model_retirement("azure", "gpt-4.1-mini-2025-04-14.ft-0123456789abcdef")
    assert row is not None and row.not_before
    assert retirement_notice(row, today=date(2030, 1, 1)) is None


def test_notice_inside_the_window_only() -> None:
    row = Retirement("openai", "gpt-4.1-mini", shutdown=date(2027, 1, 14), replacement="gpt-6-luna")
    assert retirement_notice(row, today=date(2026, 11, 14)) is None  # 61 days left
    notice = retirement_notice(row, today=date(2026, 12, 3))
    assert notice is not None and "2027-01-14" in notice and "42 days left" in notice and "gpt-6-luna" in notice
    assert "shut down on" in (retirement_notice(row, today=date(2027, 2, 1)) or "")
    assert lookup([row], "gpt-4.1-mini-2025-04-14") == row and lookup([row], "gpt-4.1-minimal") is None


def _succeeded_run(model: str, tuned: str) -> str:
    ledger = Ledger()
    run_id = "openai-20261201-000000-abcdef"
    ledger.create_run(run_id, provider="openai", model=model, config_hash="h", config={})
    ledger.update(run_id, status=JobStatus.SUCCEEDED, result={"model_id": tuned, "provider": "openai"})
    return run_id


def test_runs_and_show_flag_a_model_that_shuts_down_soon_with_the_migrate_command() -> None:
    today = date.today()
    run_id = _succeeded_run("gpt-4.1-mini-2025-04-14", "ft:gpt-4.1-mini-2025-04-14:acme::x1")
    shutdown = date(2027, 1, 14)
    for command in (["runs"], ["show", run_id]):
        result = runner.invoke(app, command, env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        text = " ".join(result.output.split())
        if (shutdown - today).days <= 60:
            assert f"tunekit migrate {run_id} --to CONFIG" in text
            assert "2027-01-14" in text
        else:  # before the window opens, nothing is flagged
            assert "tunekit migrate" not in text


def test_runs_stay_quiet_for_models_without_a_shutdown() -> None:
    _succeeded_run("gpt-9", "ft:gpt-9:acme::x1")
    result = runner.invoke(app, ["runs"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "tunekit migrate" not in result.output


def test_refusal_notice_says_no_organization_can_start_a_job_and_how_to_move() -> None:
    error = explain_openai_error(FineTuningUnavailableError("no access", provider="openai", status_code=403))
    text = str(error)
    assert "only organizations that kept access" not in text
    assert "no organization can start a new job after 2027-01-06" in text
    assert "tunekit migrate" in text


def test_model_hint_names_the_shutdown_of_every_snapshot_it_mentions() -> None:
    error = explain_openai_error(InvalidRequestError("bad model", provider="openai", status_code=400, param="model"))
    text = str(error)
    if date.today() <= date(2027, 1, 6):
        assert "2027-01-14" in text and "gpt-4.1-mini" in text
    assert "local, autotrain" in text


def test_refresh_reads_shutdown_date_from_the_models_api(openai_emulator: OpenAIEmulator) -> None:
    soon = (date.today() + timedelta(days=30)).isoformat()
    openai_emulator.announce_shutdown("gpt-4o-mini-2024-07-18", soon)
    options = {"api_key": openai_emulator.api_key, "base_url": openai_emulator.base_url}
    provider = OpenAIProvider(OpenAIProvider.Options.model_validate(options))
    rows = provider.refresh_retirements()
    assert [(r.model, r.shutdown.isoformat() if r.shutdown else None) for r in rows] == [
        ("gpt-4o-mini-2024-07-18", soon)
    ]


def test_cli_refresh_keeps_the_api_dates_and_they_win_over_the_shipped_table(
    openai_emulator: OpenAIEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", openai_emulator.api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", openai_emulator.base_url)
    openai_emulator.announce_shutdown("gpt-4o-mini-2024-07-18", "2027-03-01")
    result = runner.invoke(app, ["retirements", "--provider", "openai", "--refresh"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "2027-03-01" in result.output and "GET /v1/models" in result.output
    row = model_retirement("openai", "ft:gpt-4o-mini-2024-07-18:acme::y")
    assert row is not None and row.shutdown == date(2027, 3, 1)


def test_sdk_sees_shutdown_date_like_the_real_api(openai_emulator: OpenAIEmulator) -> None:
    openai_emulator.announce_shutdown("gpt-4.1-2025-04-14", "2027-01-14")
    client = openai.OpenAI(base_url=openai_emulator.base_url, api_key=openai_emulator.api_key, max_retries=0)
    models = {m.id: getattr(m, "shutdown_date", None) for m in client.models.list()}
    assert models["gpt-4.1-2025-04-14"] == "2027-01-14"
