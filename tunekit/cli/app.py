"""The typer application and how errors become exit codes.

Each command group lives in its own module with a ``register(app)``
function, listed in ``COMMAND_MODULES``. Modules import their heavy
dependencies inside the command functions, so ``tunekit --help`` stays fast.

Plugins (providers, the emulators) contribute commands the same way: a
``register(app)`` function named in the ``tunekit.cli`` entry-point group::

    [project.entry-points."tunekit.cli"]
    myprovider = "my_package.cli:register"

A plugin whose commands fail to load is reported on stderr, never fatal to
the rest of the CLI.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from typing import Annotated

import typer

from tunekit.cli.output import (
    EXIT_DATA_INVALID,
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_JOB_FAILED,
    EXIT_NOT_FINISHED,
    EXIT_USAGE,
    err_console,
)

COMMAND_MODULES = (
    "tunekit.cli.runs",
    "tunekit.cli.retirements",
    "tunekit.cli.run",
    "tunekit.cli.deploy",
    "tunekit.cli.serve",
    "tunekit.cli.export",
    "tunekit.cli.jobs",
    "tunekit.cli.eval",
    "tunekit.cli.migrate",
    "tunekit.cli.sweep",
    "tunekit.cli.data",
)

app = typer.Typer(
    name="tunekit",
    help="Fine-tune language models on OpenAI, Azure OpenAI, Hugging Face AutoTrain or a local GPU, from one config.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        from tunekit import __version__

        typer.echo(f"tunekit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="Log more (-v info, -vv debug).")] = 0,
) -> None:
    """tunekit: one config, any provider."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    if os.environ.get("TUNEKIT_LOG_LEVEL"):
        level = getattr(logging, os.environ["TUNEKIT_LOG_LEVEL"].upper(), level)
    from rich.logging import RichHandler

    from tunekit.secrets import RedactingFilter

    handler = RichHandler(console=err_console, show_path=False, rich_tracebacks=False)
    handler.addFilter(RedactingFilter())
    logging.basicConfig(level=level, format="%(message)s", handlers=[handler], force=True)


CLI_GROUP = "tunekit.cli"


def _register_plugin_commands(target: typer.Typer) -> None:
    from importlib import metadata

    for ep in sorted(metadata.entry_points(group=CLI_GROUP), key=lambda e: e.name):
        try:
            ep.load()(target)
        except Exception as exc:  # one broken plugin must not take the whole CLI down
            err_console.print(f"[yellow]warning:[/] commands of plugin {ep.name!r} not loaded: {exc}", highlight=False)


for _module in COMMAND_MODULES:
    importlib.import_module(_module).register(app)
_register_plugin_commands(app)


def main() -> None:
    """Entry point: run the app and turn tunekit errors into one clear line and an exit code."""
    from rich.markup import escape

    from tunekit.errors import (
        ConfigError,
        DataError,
        JobCancelledError,
        JobFailedError,
        JobNotFinishedError,
        RunNotFoundError,
        TunekitError,
    )
    from tunekit.inference.loading import prepare_cpu_threads
    from tunekit.secrets import redact

    prepare_cpu_threads()  # local models may run torch in this process; OpenMP reads its settings once, at import
    # The CLI draws its own progress; transformers' "Loading weights" bars would interleave with it.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        app()
    except DataError as exc:
        err_console.print(f"[bold red]data invalid:[/] {escape(redact(str(exc)))}", highlight=False)
        sys.exit(EXIT_DATA_INVALID)
    except ConfigError as exc:
        err_console.print(f"[bold red]config error:[/] {escape(redact(str(exc)))}", highlight=False)
        sys.exit(EXIT_USAGE)
    except RunNotFoundError as exc:  # a RUN argument that names no run: nothing was started
        err_console.print(f"[bold red]error:[/] {escape(redact(str(exc)))}", highlight=False)
        sys.exit(EXIT_USAGE)
    except JobNotFinishedError as exc:  # no model *yet*: not a failure of the job
        err_console.print(f"[bold yellow]not finished:[/] {escape(redact(str(exc)))}", highlight=False)
        sys.exit(EXIT_NOT_FINISHED)
    except JobFailedError as exc:
        err_console.print(f"[bold red]job failed:[/] {escape(redact(str(exc)))}", highlight=False)
        sys.exit(EXIT_JOB_FAILED)
    except JobCancelledError as exc:
        err_console.print(f"[bold yellow]job cancelled:[/] {escape(redact(str(exc)))}", highlight=False)
        sys.exit(EXIT_JOB_FAILED)
    except TunekitError as exc:
        err_console.print(f"[bold red]error:[/] {escape(redact(str(exc)))}", highlight=False)
        sys.exit(EXIT_FAILURE)
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]")
        sys.exit(EXIT_INTERRUPTED)
