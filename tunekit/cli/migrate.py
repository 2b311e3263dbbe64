"""`tunekit migrate SOURCE --to CONFIG`: move a tuned workload to another provider and certify it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from tunekit.cli.output import console, err_console, print_json

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    app.command("migrate")(migrate)


def migrate(
    source: Annotated[
        str,
        typer.Argument(
            help="A run (its id, a unique prefix, `latest`, or a config file), or a model id tunekit did not train."
        ),
    ],
    to: Annotated[Path, typer.Option("--to", help="The target config (another provider or model).")],
    from_provider: Annotated[
        str | None, typer.Option("--from", help="Where a model id SOURCE is served (ft: ids default to openai).")
    ] = None,
    data: Annotated[
        Path | None, typer.Option("--data", help="Prompts (chat JSONL, e.g. a stored-completions export) to distil.")
    ] = None,
    distill: Annotated[
        bool | None,
        typer.Option(
            "--distill/--no-distill",
            help="Train on the source model's answers instead of its original data (default: original when known).",
        ),
    ] = None,
    eval_data: Annotated[
        Path | None, typer.Option("--eval", help="Held-out data (default: the source run's evaluation split).")
    ] = None,
    margin: Annotated[
        float, typer.Option("--margin", help="Points of the primary metric the target may trail by.", min=0)
    ] = 2.0,
    metric: Annotated[
        str | None, typer.Option("--metric", help="Primary metric (default: the config's first).")
    ] = None,
    max_examples: Annotated[int | None, typer.Option("--max-examples", "-n", help="Judge on at most N items.")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before training or deploying.")] = False,
    reevaluate: Annotated[
        bool, typer.Option("--reevaluate", help="Judge again even when a certificate is stored.")
    ] = False,
    poll_interval: Annotated[
        float | None, typer.Option("--poll-interval", help="Seconds between status polls (default: the provider's).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the certificate as JSON.")] = False,
) -> None:
    """Dataset → train the target → judge both on the same held-out items; says migrate, not yet, or worse."""
    from rich.markup import escape

    from tunekit.migration import migrate as run_migration

    def ask(question: str) -> bool:
        if yes:
            return True
        if not sys.stdin.isatty():
            err_console.print(f"{escape(question)} This bills: pass --yes to confirm without a prompt.")
            raise typer.Exit(2)
        return typer.confirm(question, default=False)

    def say(message: str) -> None:
        err_console.print(escape(message), soft_wrap=True)

    certificate = run_migration(
        _run_or_model(source, from_provider),
        to,
        provider=from_provider,
        data=data,
        distill=distill,
        eval_data=eval_data,
        margin=margin,
        metric=metric,
        max_examples=max_examples,
        confirm=ask,
        say=say,
        poll_interval=poll_interval,
        reevaluate=reevaluate,
    )
    if as_json:
        print_json(certificate.to_dict())
        return
    console.print(certificate.to_markdown(), markup=False, soft_wrap=True)


def _run_or_model(source: str, from_provider: str | None) -> str:
    """A run the ledger resolves (prefix, `latest`, config file), else the text itself: a model id."""
    from tunekit.cli.runref import AmbiguousRunError, resolve_run
    from tunekit.errors import RunNotFoundError

    if from_provider is not None or source.startswith("ft:"):
        return source
    try:
        return resolve_run(source)
    except AmbiguousRunError:
        raise
    except RunNotFoundError:
        return source  # not a run: the migration says what it needs for a model id
