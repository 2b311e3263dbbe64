"""`tunekit nearest memory RUN`: a command the plugin adds to the tunekit CLI (the `tunekit.cli` entry point)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from tunekit.plugin import console

nearest = typer.Typer(help="The nearest-neighbour provider's own commands.", no_args_is_help=True)


@nearest.command("memory")
def memory(run: str = typer.Argument(help="A run of the nearest provider (its id or `latest`).")) -> None:
    """How many question-answer pairs a run memorized."""
    from tunekit import Ledger

    ledger = Ledger()
    record = ledger.runs(limit=1)[0] if run == "latest" else ledger.get(run)
    if record.provider != "nearest" or record.result is None:
        raise typer.BadParameter(f"{record.run_id} is not a finished run of the nearest provider")
    pairs = json.loads(Path(str(record.result["path"])).read_text(encoding="utf-8"))["pairs"]
    console.print(f"{record.run_id} memorized {len(pairs)} question-answer pairs")


def register(app: typer.Typer) -> None:
    """Called by tunekit's CLI for every package in the `tunekit.cli` entry-point group."""
    app.add_typer(nearest, name="nearest")
