"""Asking before money is spent: the one prompt `tunekit run` and `tunekit submit` show before a job that bills."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from tunekit.cli.output import EXIT_DATA_INVALID, EXIT_FAILURE, EXIT_USAGE, console, err_console

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.console import Console

    from tunekit.tuner import Tuner

__all__ = ["confirm_new_job"]


def confirm_new_job(
    tuner: Tuner, *, yes: bool, out: Console | None = None, preflight: Callable[[], None] | None = None
) -> None:
    """Validate the data, show the report and the estimate, and ask before starting a job that bills.

    ``preflight`` runs once the data is valid, before the question (the
    evaluation's models are asked one question there). Exits 3 when the data
    is invalid (nothing was uploaded or spent), and 2
    when the job would bill, ``--yes`` was not given and no terminal can
    answer the question (a script or CI must say ``--yes`` on purpose).
    """
    report = tuner.validate()
    (out or console).print(report.summary(), soft_wrap=True, markup=False)
    if not report.ok:
        err_console.print("[bold red]data invalid:[/] fix the errors above; nothing was uploaded or spent")
        raise typer.Exit(EXIT_DATA_INVALID)
    if preflight is not None:
        preflight()
    if not tuner.provider.spends_money or yes:
        return
    if not sys.stdin.isatty():
        err_console.print(f"this starts a {tuner.provider.name} job that bills; pass --yes to confirm without a prompt")
        raise typer.Exit(EXIT_USAGE)
    if not typer.confirm(f"Start a {tuner.provider.name} job (it bills)?", default=False):
        raise typer.Exit(EXIT_FAILURE)
