"""The ``RUN`` argument of every command that acts on a recorded run.

A command accepts the whole run id, a unique prefix of one, ``latest``, or a
config file (its newest run): :func:`tunekit.runref.resolve_run`, the rules
``init_from`` follows too. Every failure is a usage error (exit 2): nothing
was started.
"""

from __future__ import annotations

from typing import Annotated

import typer

from tunekit.runref import LATEST, AmbiguousRunError, resolve_run

__all__ = ["LATEST", "AmbiguousRunError", "RunArg", "resolve_run"]

RUN_HELP = "Run id, a unique prefix of one, `latest`, or a config file (its newest run); see `tunekit runs`."


def _callback(value: str) -> str:
    from tunekit.errors import TunekitError
    from tunekit.secrets import redact

    try:
        return resolve_run(value)
    except TunekitError as exc:  # usage errors: click prints them with the usage line, exit 2
        raise typer.BadParameter(redact(str(exc))) from None


RunArg = Annotated[str, typer.Argument(metavar="RUN", help=RUN_HELP, callback=_callback, show_default=False)]
"""The ``RUN`` argument of every command that acts on a recorded run."""
