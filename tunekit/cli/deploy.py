"""`tunekit deploy RUN` and `tunekit undeploy RUN`: serve a tuned model where serving needs a deployment (Azure)."""

from __future__ import annotations

from typing import Annotated

import typer

from tunekit.cli.output import console, err_console, print_json

RunArg = Annotated[str, typer.Argument(help="Run id (see `tunekit runs`).")]

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
        typer.Option("--sku", help="Standard, GlobalStandard, Developer or ProvisionedManaged (default: config's)."),
    ] = None,
    capacity: Annotated[
        int | None, typer.Option("--capacity", min=1, help="Capacity units (default: the config's, else 1).")
    ] = None,
    checkpoint: Annotated[
        str | None, typer.Option("--checkpoint", help="Serve this checkpoint (id or step) instead of the final model.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Deploy a run's tuned model and wait until it answers; it then bills by the hour until undeployed."""
    from tunekit.config import DeployConfig
    from tunekit.tuner import Tuner

    tuner = Tuner.for_run(run_id)
    base = tuner.config.deploy or DeployConfig()
    settings = DeployConfig(
        name=name or base.name,
        sku=sku or base.sku,
        capacity=capacity if capacity is not None else base.capacity,
    )
    hosting = tuner.provider.hosting_cost(tuner.config.model, settings)
    if hosting is not None and hosting.per_hour == 0:
        # A tier without an hourly fee (Azure's Developer Tier): say what it costs instead of warning of hours.
        err_console.print(f"[bold yellow]note:[/] {hosting.warning()}", highlight=False, soft_wrap=True)
    else:
        # soft_wrap: the undeploy command must stay one copyable line.
        err_console.print(BILLING_NOTE.format(run=run_id), highlight=False, soft_wrap=True)
    with err_console.status(f"deploying ({settings.sku} x{settings.capacity}) and waiting until it succeeds"):
        model = tuner.deploy(run_id, settings, checkpoint=_checkpoint(checkpoint))
    if as_json:
        print_json({"run_id": run_id, **model.model_dump(mode="json")})
        return
    shape = f"{settings.sku} x{settings.capacity}"
    console.print(f"[green]deployed[/] {model.model_id} as [bold]{model.deployment}[/] ({shape})")
    console.print(f"delete it when done: tunekit undeploy {run_id}")


def undeploy(run_id: RunArg, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Delete the run's deployment; its billing stops."""
    from tunekit.tuner import Tuner

    tuner = Tuner.for_run(run_id)
    before = tuner.ledger.get(run_id).result or {}
    deleted = tuner.undeploy(run_id)
    if as_json:
        print_json({"run_id": run_id, "deployment": before.get("deployment"), "deleted": deleted})
        return
    if deleted:
        console.print(f"[green]deleted[/] deployment [bold]{before.get('deployment')}[/]; it no longer bills")
    else:
        console.print(f"run {run_id} has no deployment")


def _checkpoint(value: str | None) -> str | int | None:
    if value is None:
        return None
    return int(value) if value.isdigit() else value
