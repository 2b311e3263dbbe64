"""`tunekit deploy RUN` (with `--pause` / `--resume`) and `tunekit undeploy RUN`: serve a tuned model where serving
needs a deployment (Azure, Inference Endpoints), pause it, start it again, delete it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tunekit.cli.output import console, err_console, print_json
from tunekit.cli.runref import RunArg

if TYPE_CHECKING:
    from tunekit.ledger import DeploymentRecord


BILLING_NOTE = (
    "[bold yellow]note:[/] a deployed fine-tuned model is billed by the hour while the deployment exists, "
    "even when it serves nothing; delete it when done: [bold]tunekit undeploy {run}[/]"
)


def register(app: typer.Typer) -> None:
    app.command("deploy")(deploy)
    app.command("undeploy")(undeploy)


def deploy(
    run_id: RunArg,
    name: Annotated[
        str | None, typer.Option("--name", help="Deployment name (default: the config's deploy.name, else the run id).")
    ] = None,
    sku: Annotated[
        str | None,
        typer.Option(
            "--sku",
            help="Standard, GlobalStandard, DeveloperTier (or Developer) or ProvisionedManaged (default: config's).",
        ),
    ] = None,
    capacity: Annotated[
        int | None, typer.Option("--capacity", min=1, help="Capacity units (default: the config's, else 1).")
    ] = None,
    checkpoint: Annotated[
        str | None, typer.Option("--checkpoint", help="Serve this checkpoint (id or step) instead of the final model.")
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask before creating a deployment that bills.")
    ] = False,
    pause: Annotated[
        bool,
        typer.Option(
            "--pause",
            help="Pause the run's deployments (or --name's) instead: they stop billing and are kept "
            "(Inference Endpoints). Here, not under `tunekit pause`, which pauses training jobs.",
        ),
    ] = False,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Start the run's paused deployments (or --name's) again and wait until they answer; "
            "asks first (unless --yes): they bill again.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Deploy a run's tuned model and wait until it answers; it then bills by the hour until undeployed.

    Says the hourly price first and asks (unless --yes); the rest of the
    deployment (Inference Endpoints' instance, region, replicas, image) comes
    from the config's deploy section. --pause stops a deployment billing
    without deleting it, --resume starts it again.
    """
    from tunekit.cli.spend import confirm_deployment
    from tunekit.config import DeployConfig
    from tunekit.tuner import Tuner

    if pause or resume:
        if (pause and resume) or sku is not None or capacity is not None or checkpoint is not None:
            raise typer.BadParameter(
                "--pause and --resume take only --name, --yes and --json, and not each other",
                param_hint="--pause/--resume",
            )
        _switch(run_id, name, resume=resume, yes=yes, as_json=as_json)
        return
    tuner = Tuner.for_run(run_id)
    base = tuner.config.deploy or DeployConfig()
    changes = {"name": name, "sku": sku, "capacity": capacity}
    settings = base.model_copy(update={k: v for k, v in changes.items() if v is not None})
    hosting = confirm_deployment(tuner, settings, yes=yes, run_id=run_id)
    if hosting is None or hosting.per_hour != 0:
        # soft_wrap: the undeploy command must stay one copyable line.
        err_console.print(BILLING_NOTE.format(run=run_id), highlight=False, soft_wrap=True)
    shape = hosting.sku if hosting is not None and hosting.sku else f"{settings.sku} x{settings.capacity}"
    with err_console.status(f"deploying ({shape}) and waiting until it answers"):
        model = tuner.deploy(run_id, settings, checkpoint=_checkpoint(checkpoint))
    billing = tuner.deployments(run_id, billing=True)
    if as_json:
        print_json({"run_id": run_id, **model.model_dump(mode="json"), "billing": [d.to_json() for d in billing]})
        return
    console.print(f"[green]deployed[/] {model.model_id} as [bold]{model.deployment}[/] ({shape})")
    others = [d for d in billing if d.name != model.deployment]
    if others:
        console.print(f"this run has {len(billing)} deployments that bill:")
        print_deployments(billing)
    console.print(f"delete {'them' if others else 'it'} when done: tunekit undeploy {run_id}")


def _switch(run_id: str, name: str | None, *, resume: bool, yes: bool, as_json: bool) -> None:
    """Pause the run's serving deployments, or resume its paused ones (asking first: they bill again)."""
    from tunekit.cli.spend import confirm_resume
    from tunekit.tuner import Tuner

    tuner = Tuner.for_run(run_id)
    if resume:
        confirm_resume(tuner, run_id, name, yes=yes)
        with err_console.status("resuming and waiting until it answers"):
            changed = tuner.resume_deployment(run_id, name=name)
    else:
        changed = tuner.pause_deployment(run_id, name=name)
    existing = tuner.deployments(run_id, existing=True)
    if as_json:
        key = "resumed" if resume else "paused"
        print_json({"run_id": run_id, key: [d.name for d in changed], "deployments": [d.to_json() for d in existing]})
        return
    names = ", ".join(d.name for d in changed)
    if resume:
        console.print(f"[green]resumed[/] {names}: it answers and bills again (pause: tunekit deploy {run_id} --pause)")
    else:
        console.print(f"[green]paused[/] {names}: it bills nothing until resumed (tunekit deploy {run_id} --resume)")
    print_deployments(existing)


def undeploy(
    run_id: RunArg,
    name: Annotated[
        str | None, typer.Option("--name", help="Delete only this deployment (default: every one of the run).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Delete the run's deployments (every one it made, or --name's); says what, if anything, still bills."""
    from tunekit.tuner import Tuner

    tuner = Tuner.for_run(run_id)
    deleted: list[DeploymentRecord] = []
    try:
        deleted = tuner.undeploy(run_id, name=name)
    finally:
        # Also when a delete failed: say truthfully what was deleted and what still bills.
        left = tuner.deployments(run_id, existing=True)
        names = [d.name for d in deleted]
        if as_json:
            shown = {"run_id": run_id, "deleted": names, "billing": [d.to_json() for d in left if d.billing]}
            paused = [d.to_json() for d in left if not d.billing]
            print_json({**shown, "paused": paused} if paused else shown)
        else:
            _say_undeployed(run_id, names, left)


def _say_undeployed(run_id: str, deleted: list[str], left: list[DeploymentRecord]) -> None:
    if deleted:
        console.print(f"[green]deleted[/] deployment{'s' if len(deleted) > 1 else ''} [bold]{', '.join(deleted)}[/]")
    elif not left:
        console.print(f"run {run_id} has no deployment")
    if left:
        paused = sum(not d.billing for d in left)
        console.print(
            f"[bold yellow]still billing[/]: {len(left) - paused} deployment{'s' if len(left) - paused != 1 else ''}"
            + (f" (and {paused} paused, billing nothing)" if paused else "")
        )
        print_deployments(left)
        console.print(f"delete {'them' if len(left) > 1 else 'it'}: tunekit undeploy {run_id}")
    elif deleted:
        console.print(f"no deployment of run {run_id} bills any more")


def print_deployments(deployments: list[DeploymentRecord]) -> None:
    """A table of deployments: name, model, sku, state, since when each bills and its hourly price."""
    from rich.table import Table

    table = Table("deployment", "model", "sku", "state", "billing since", "per hour")
    for d in deployments:
        sku = (d.sku or "-") + (f" x{d.capacity}" if d.capacity else "")
        if d.billing_since is not None:
            since = f"{d.billing_since:%Y-%m-%d %H:%M} UTC"
        elif d.state == "paused":
            since = "- (paused: bills nothing)"
        else:
            since = "-" if d.state == "deleted" else "unknown (being created)"
        price = f"{d.currency or 'USD'} {d.hourly_price:.2f}" if d.hourly_price is not None else "unknown"
        table.add_row(d.name, d.model, sku, d.state, since, price)
    console.print(table)


def _checkpoint(value: str | None) -> str | int | None:
    if value is None:
        return None
    return int(value) if value.isdigit() else value
