"""Commands that read the ledger and the installation: runs, show, providers, schema."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from tunekit.cli.output import console, print_json
from tunekit.cli.runref import RunArg

if TYPE_CHECKING:
    from rich.table import Table

    from tunekit.ledger import Ledger, RunRecord


def register(app: typer.Typer) -> None:
    app.command("providers")(providers)
    app.command("schema")(schema)
    app.command("runs")(runs)
    app.command("show")(show)


def providers(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List installed providers, their packages and versions."""
    from tunekit.registry import installed_providers

    infos = installed_providers()
    if as_json:
        print_json([info.__dict__ for info in infos])
        return
    from rich.table import Table

    table = Table("provider", "package", "version", "status")
    for info in infos:
        status = "[green]ok[/]" if info.ok else f"[red]broken[/]: {info.error}"
        table.add_row(info.name, info.package or "-", info.version or "-", status)
    console.print(table)


def schema(
    provider: Annotated[
        str | None, typer.Option("--provider", help="Also describe this provider's provider_options.")
    ] = None,
) -> None:
    """Print the JSON Schema of the config file (for editor completion)."""
    from tunekit.config import TuneConfig

    document = TuneConfig.model_json_schema()
    if provider:
        from tunekit.registry import get_provider_class

        options = get_provider_class(provider).Options.model_json_schema()
        document["properties"]["provider_options"] = options
    print(json.dumps(document, indent=2))


def runs(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    provider: Annotated[str | None, typer.Option("--provider", help="Only runs of this provider.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many runs.")] = 50,
    sweep: Annotated[str | None, typer.Option("--sweep", help="Only the child runs of this sweep (its id).")] = None,
) -> None:
    """List runs in the ledger, newest first (a sweep's children in the order of its points)."""
    from tunekit.ledger import Ledger

    ledger = Ledger()
    if sweep is not None:
        from tunekit.sweep import sweep_runs

        records = [r for r in sweep_runs(ledger, sweep) if provider is None or r.provider == provider][:limit]
    else:
        records = ledger.runs(provider=provider, limit=limit)
    if as_json:
        print_json([r.to_json() for r in records])
        return
    if not records:
        if sweep is not None:
            console.print(f"no runs of sweep {sweep} (its id is printed by `tunekit sweep`)", highlight=False)
            return
        console.print("no runs yet: start one with [bold]tunekit run CONFIG[/]")
        return
    console.print(_runs_table(records, width=console.width))
    _print_retirements(records)


_DROP_FIRST = ("from", "result", "created", "model", "provider")
"""Columns given up, in this order, when the table is wider than the terminal; the run id never is."""


def _runs_table(records: list[RunRecord], *, width: int) -> Table:
    """The runs as a table that fits ``width`` columns with every run id whole (other commands need it)."""
    from rich.table import Table

    rows = [
        {
            "run": r.run_id,
            "provider": r.provider,
            "model": r.model,
            "status": r.status.value,
            "created": r.created_at.strftime("%Y-%m-%d %H:%M"),
            "result": ((r.result or {}).get("model_id") or "") if r.result else (r.error or ""),
            "from": _parent_label(r),
        }
        for r in records
    ]
    columns = ["run", "provider", "model", "status", "created", "result"]
    if any(row["from"] for row in rows):
        columns.append("from")

    def natural(names: list[str]) -> int:  # rich's default box: a border and two padding cells per column
        return 1 + sum(3 + max(len(name), *(len(row[name]) for row in rows)) for name in names)

    for name in _DROP_FIRST:
        if natural(columns) <= width:
            break
        if name in columns:
            columns.remove(name)
    table = Table(*columns)
    run_width = max(len("run"), *(len(row["run"]) for row in rows))
    table.columns[0].min_width = run_width
    table.columns[0].no_wrap = True
    for row in rows:
        table.add_row(*(_status(row[c]) if c == "status" else row[c] for c in columns))
    return table


def _parent_label(record: RunRecord) -> str:
    """The run it started from (``init_from``), with the checkpoint's step when it named one."""
    parent = record.parent
    if parent is None:
        return ""
    return parent.run_id + (f"@{parent.step}" if parent.step is not None else "")


def show(
    run_id: RunArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show one run: its config, remote ids, status, result and ledger events."""
    from rich.markup import escape

    from tunekit.ledger import Ledger

    ledger = Ledger()
    record = ledger.get(run_id)
    events = ledger.events(run_id)
    deployments = ledger.deployments(run_id)
    if as_json:
        data = record.to_json()
        data["deployments"] = [d.to_json() for d in deployments]
        data["ancestors"] = [r.run_id for r in ledger.ancestors(run_id)]
        data["children"] = [r.run_id for r in ledger.children(run_id)]
        data["events"] = [
            {"seq": e.seq, "ts": e.ts.isoformat(), "kind": e.kind, "step": e.step, "message": e.message, "data": e.data}
            for e in events
        ]
        print_json(data)
        return
    console.print(f"[bold]{record.run_id}[/]  {_status(record.status.value)}  ({record.raw_status or '-'})")
    console.print(f"provider {record.provider}   model {record.model}   created {record.created_at:%Y-%m-%d %H:%M:%S}")
    console.print(f"folder   {record.run_dir}")
    if record.remote:
        console.print("remote   " + ", ".join(f"{k}={v}" for k, v in record.remote.items() if k != "job_extra"))
    if record.result:
        console.print(f"result   {record.result.get('model_id')}")
    if record.parent is not None:
        _print_lineage(ledger, record)
    children = ledger.children(record.run_id)
    if children:
        console.print("continued by " + ", ".join(escape(c.run_id) for c in children))
    if record.remote.get("migrated_from"):
        origin = record.remote.get("migrated_from_model") or ""
        console.print(f"lineage  migrated from {record.remote['migrated_from']}" + (f" ({origin})" if origin else ""))
    if record.error:
        console.print(f"[red]error[/]    {record.error}")
    if deployments:
        from tunekit.cli.deploy import print_deployments

        billing = [d for d in deployments if d.billing]
        console.print(f"deployments ({len(billing)} billing; `tunekit undeploy {run_id}` deletes them)")
        print_deployments(deployments)
    _print_retirements([record])
    from rich.table import Table

    table = Table("time", "kind", "step", "message")
    for e in events[-30:]:
        table.add_row(e.ts.strftime("%H:%M:%S"), e.kind, e.step or "", e.message)
    console.print(table)


def _print_lineage(ledger: Ledger, record: RunRecord) -> None:
    """The run it started from, and the whole line back to the base model when it is longer."""
    from rich.markup import escape

    parent = record.parent
    assert parent is not None
    at = f" at step {parent.step}" if parent.step is not None else ""
    console.print(f"lineage  started from {escape(parent.run_id)}{at} ({escape(parent.model_id)})")
    line = ledger.ancestors(record.run_id)
    if len(line) > 1:
        chain = [parent.base_model, *(r.run_id for r in reversed(line)), record.run_id]
        console.print("line     " + " -> ".join(escape(name) for name in chain))


def _print_retirements(records: list[RunRecord]) -> None:
    from rich.markup import escape

    from tunekit.cli.retirements import retirement_warnings

    for line in retirement_warnings(records):
        console.print(f"[yellow]shuts down soon:[/] {escape(line)}", soft_wrap=True)


def _status(value: str) -> str:
    colour = {"succeeded": "green", "failed": "red", "cancelled": "yellow", "running": "cyan"}.get(value, "white")
    return f"[{colour}]{value}[/]"
