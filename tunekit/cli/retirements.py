"""`tunekit retirements`: when base models shut down, and which recorded runs must move before then."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated

import typer

from tunekit.cli.output import console, err_console, print_json

if TYPE_CHECKING:
    from tunekit.ledger import RunRecord

__all__ = ["model_warning", "register", "retirement_warnings"]


def register(app: typer.Typer) -> None:
    app.command("retirements")(retirements)


def retirements(
    provider: Annotated[str | None, typer.Option("--provider", help="Only this provider's table.")] = None,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Ask each provider's API for its shutdown dates (needs credentials).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List known base-model shutdown dates per provider, with their source and the day they were checked."""
    from tunekit.registry import get_provider_class, installed_providers, model_retirement
    from tunekit.retirement import cached_retirements, save_cached_retirements

    names = [provider] if provider else [info.name for info in installed_providers() if info.ok]
    if refresh:
        from tunekit.errors import TunekitError, UnsupportedOperationError
        from tunekit.registry import create_provider

        for name in names:
            try:
                fresh = create_provider(name).refresh_retirements()
            except UnsupportedOperationError:
                continue
            except TunekitError as exc:
                err_console.print(f"[yellow]warning:[/] {name}: could not refresh shutdown dates: {exc}")
                continue
            path = save_cached_retirements(name, fresh)
            err_console.print(f"{name}: {len(fresh)} shutdown dates from the API, kept in {path}")
    rows = []
    for name in names:
        cls = get_provider_class(name)
        for row in [*cached_retirements(name), *cls.retirements()]:
            if model_retirement(name, row.model) == row:  # the row a lookup would answer with
                rows.append(row)
    if as_json:
        print_json([row.to_json() for row in rows])
        return
    if not rows:
        console.print("no provider installed here announces shutdown dates")
        return
    from rich.table import Table

    table = Table("provider", "model", "new jobs until", "shuts down", "replacement", "checked", "source")
    for row in rows:
        prefix = "not before " if row.not_before else ""
        table.add_row(
            row.provider,
            row.model,
            f"{prefix}{row.training_ends}" if row.training_ends else "-",
            f"{prefix}{row.shutdown}" if row.shutdown else "-",
            row.replacement or "-",
            str(row.checked or "-"),
            row.source,
        )
    console.print(table)


def retirement_warnings(records: Iterable[RunRecord]) -> list[str]:
    """One line per succeeded run whose model shuts down within 60 days, with the command that moves it."""
    from tunekit.registry import model_retirement
    from tunekit.retirement import retirement_notice
    from tunekit.states import JobStatus

    lines = []
    for record in records:
        if record.status != JobStatus.SUCCEEDED:
            continue
        tuned = (record.result or {}).get("model_id") or record.model
        row = model_retirement(record.provider, tuned)
        notice = retirement_notice(row) if row else None
        if notice:
            lines.append(f"{record.run_id}: {notice}. Move it: tunekit migrate {record.run_id} --to CONFIG")
    return lines


def model_warning(provider: str, model: str) -> str | None:
    """Why tuning ``model`` at ``provider`` now is short-lived or impossible; ``None`` when nothing is known."""
    from datetime import datetime, timezone

    from tunekit.registry import model_retirement
    from tunekit.retirement import retirement_notice

    row = model_retirement(provider, model)
    if row is None:
        return None
    today = datetime.now(timezone.utc).date()
    if row.training_ends and not row.not_before and row.training_ends < today:
        return f"{provider} starts no new fine-tuning job on {row.model} since {row.training_ends}"
    notice = retirement_notice(row, today=today)
    if notice and row.training_ends and not row.not_before:
        notice += f"; new jobs only until {row.training_ends}"
    return notice
