"""`tunekit sweep CONFIG`: grid or random search over a config's hyperparameters and seeds, under a cap.

The summed cost estimate of every child run must fit ``sweep.max_usd`` before
anything is submitted (exit 2 otherwise). Child runs are ordinary runs: a
sweep run again (after a crash, a Ctrl-C, a kill) finds the ones it made and
starts only the rest. The summary ranks the children by the primary
evaluation metric with 95% intervals, marks those within noise of the best,
and draws the metric against each varied parameter.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tunekit.cli.output import EXIT_FAILURE, EXIT_USAGE, console, err_console, print_json

if TYPE_CHECKING:
    from tunekit.sweep import ChildOutcome, Sweep, SweepEstimate, SweepRow


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep)


def sweep(
    config: Annotated[Path, typer.Argument(help="A tunekit config with a sweep: section.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before spending money.")] = False,
    skip_eval: Annotated[bool, typer.Option("--skip-eval", help="Train the children; do not evaluate them.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan and estimate the sweep; submit nothing.")] = False,
    poll_interval: Annotated[
        float | None, typer.Option("--poll-interval", help="Seconds between status polls (default: the provider's).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the ranking as JSON.")] = False,
) -> None:
    """Run a hyperparameter sweep: every child run estimated first, the sum held to max_usd, then ranked."""
    from rich.markup import escape

    from tunekit.config import load_config
    from tunekit.sweep import Sweep

    plan = Sweep(load_config(config))
    plan.check()
    settings = plan.settings
    console.print(
        f"[bold]{plan.id}[/]: {len(plan.children)} child run(s), {settings.method}, {settings.parallel} at a time",
        highlight=False,
    )
    estimate = plan.estimate()
    _print_plan(plan, estimate)
    plan.check_budget(estimate)  # a ConfigError: exit 2, nothing submitted
    if dry_run:
        return
    _confirm(plan, estimate, yes=yes)

    def said(outcome: ChildOutcome) -> None:
        verb = "found" if outcome.reused else "ran"
        note = f": {escape(outcome.error)}" if outcome.error else ""
        console.print(
            f"child {outcome.child.index} ({escape(outcome.child.label)}) {verb} run {outcome.run_id or '-'}: "
            f"{outcome.status}{note}",
            highlight=False,
        )

    outcomes = plan.run(evaluate=not skip_eval, poll_interval=poll_interval, on_child=said)
    _summarize(plan, outcomes, as_json=as_json)
    if any(o.status != "succeeded" for o in outcomes):
        raise typer.Exit(EXIT_FAILURE)


def _print_plan(plan: Sweep, estimate: SweepEstimate) -> None:
    from rich.table import Table

    table = Table("child", *plan.children[0].point.keys(), "estimate (USD)")
    for child, cost in zip(plan.children, estimate.per_child, strict=True):
        shown = "unknown" if cost is None else f"{cost:.2f}"
        table.add_row(str(child.index), *(str(v) for v in child.point.values()), shown)
    console.print(table)
    cap = plan.settings.max_usd
    limit = f" (cap {cap:.2f})" if cap is not None else ""
    console.print(f"estimated total: {estimate.total:.2f} USD{limit}", highlight=False)


def _confirm(plan: Sweep, estimate: SweepEstimate, *, yes: bool) -> None:
    if not estimate.spends_money or yes:
        return
    if not sys.stdin.isatty():
        err_console.print(
            f"this starts up to {len(plan.children)} jobs that bill (about {estimate.total:.2f} USD); "
            "pass --yes to confirm without a prompt"
        )
        raise typer.Exit(EXIT_USAGE)
    if not typer.confirm(f"Start {len(plan.children)} jobs (about {estimate.total:.2f} USD)?", default=False):
        raise typer.Exit(EXIT_FAILURE)


def _summarize(plan: Sweep, outcomes: list[ChildOutcome], *, as_json: bool) -> None:
    from dataclasses import asdict

    from tunekit.sweep import summarize, write_summary

    rows = summarize(outcomes)
    paths = write_summary(plan.report_dir(), plan.id, rows)
    if as_json:
        print_json({"sweep_id": plan.id, "rows": [asdict(r) for r in rows], "files": paths})
        return
    console.print(_table(rows))
    console.print(f"summary: {paths['markdown']}", highlight=False)


def _table(rows: list[SweepRow]) -> object:
    from rich.table import Table

    metric = next((r.metric for r in rows if r.metric), None) or "metric"
    params = list(rows[0].point) if rows else []
    table = Table("rank", *params, "run", metric, "95% interval", "vs best")
    for row in rows:
        interval = f"{row.ci_low:.1f}-{row.ci_high:.1f}" if row.ci_low is not None and row.ci_high is not None else ""
        versus = "best" if row.rank == 1 and row.value is not None else ""
        if row.rank > 1 and row.value is not None:
            versus = "within noise" if row.within_noise else "worse"
        value = "" if row.value is None else f"{row.value:.4g}"
        table.add_row(
            str(row.rank), *(str(row.point.get(p)) for p in params), row.run_id or "-", value, interval, versus
        )
    return table
