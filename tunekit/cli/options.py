"""Command-line options that more than one command takes, defined once so their flags and help agree."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["SkipRewardCheckOpt"]

SkipRewardCheckOpt = Annotated[
    bool,
    typer.Option(
        "--skip-reward-check",
        help="method rft on a hosted service: do not sample the base model to check the rewards first.",
    ),
]
