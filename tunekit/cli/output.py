"""Consoles, exit codes and small printing helpers shared by the commands."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console

__all__ = [
    "EXIT_DATA_INVALID",
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_JOB_FAILED",
    "EXIT_NOT_FINISHED",
    "EXIT_OK",
    "EXIT_USAGE",
    "console",
    "err_console",
    "print_json",
]

EXIT_OK = 0
EXIT_FAILURE = 1
"""The tool failed: a service error, a ledger error, a bug."""
EXIT_USAGE = 2
"""Bad arguments or config, an unknown run, a spend not confirmed: nothing was started (typer uses 2 too)."""
EXIT_DATA_INVALID = 3
"""The data is invalid; nothing was uploaded or spent."""
EXIT_JOB_FAILED = 4
"""The training job failed or was cancelled."""
EXIT_NOT_FINISHED = 5
"""The job has not finished yet, so there is no model to show or chat with: try again when it has."""
EXIT_INTERRUPTED = 130
"""Ctrl-C: the shell's 128 + SIGINT."""

console = Console(highlight=False, emoji=False)
err_console = Console(stderr=True, highlight=False, emoji=False)


def print_json(data: Any) -> None:
    """Print JSON to stdout without rich markup, for scripts."""
    from tunekit.secrets import redact_data

    print(json.dumps(redact_data(data), indent=2, default=str))
