"""`tunekit run CONFIG`: the whole path in one command.

validate → estimate (and ask before spending) → submit → watch → result →
deploy (when configured) → evaluate → report. Every step is recorded in the
ledger; running the same command again resumes the same run.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tunekit.cli.options import SkipRewardCheckOpt
from tunekit.cli.output import EXIT_FAILURE, EXIT_USAGE, console, err_console

if TYPE_CHECKING:
    from tunekit.jobs import Job
    from tunekit.provider import FineTunedModel
    from tunekit.tuner import Tuner


def register(app: typer.Typer) -> None:
    app.command("run")(run)


def run(
    config: Annotated[Path, typer.Argument(help="A tunekit config (YAML/JSON) or an AutoTrain YAML config.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before spending money.")] = False,
    new: Annotated[
        bool, typer.Option("--new", help="Start a fresh run even if this config has an unfinished one.")
    ] = False,
    skip_eval: Annotated[bool, typer.Option("--skip-eval", help="Stop after the result; do not evaluate.")] = False,
    skip_reward_check: SkipRewardCheckOpt = False,
    re_evaluate: Annotated[
        bool,
        typer.Option(
            "--re-evaluate", help="Ask the models again even if this run was evaluated (default: show that report)."
        ),
    ] = False,
    poll_interval: Annotated[
        float | None, typer.Option("--poll-interval", help="Seconds between status polls (default: the provider's).")
    ] = None,
    timeout: Annotated[float | None, typer.Option("--timeout", help="Stop watching after this many seconds.")] = None,
) -> None:
    """Validate, estimate, train, watch, deploy and evaluate a config — resuming if it ran before."""
    from tunekit.cli.jobs import _watch
    from tunekit.cli.spend import confirm_new_job
    from tunekit.states import JobStatus

    tuner = _load(config)
    cfg = tuner.config
    if cfg.sweep is not None:
        err_console.print(f"{config} describes a sweep: run it with `tunekit sweep {config}`", highlight=False)
        raise typer.Exit(EXIT_USAGE)
    console.rule(f"[bold]tunekit run[/] {config}  ({cfg.provider} · {cfg.model} · {cfg.method})")

    latest = None if new else tuner.existing_run()
    if latest is not None and latest.status is JobStatus.SUCCEEDED:
        # The same job already produced a model: show it (and evaluate) rather than pay again.
        console.print(f"run [bold]{latest.run_id}[/] of this config already succeeded; use --new to train again")
        job = tuner.job(latest.run_id)
    else:
        if latest is not None and latest.has_job:
            console.print(f"resuming run [bold]{latest.run_id}[/] (job {latest.remote['job_id']})")
        else:
            evaluates = cfg.eval is not None and not skip_eval
            confirm_new_job(
                tuner,
                yes=yes,
                preflight=(lambda: _check_evaluation(tuner)) if evaluates else None,
                check_rewards=not skip_reward_check,
            )
        job = tuner.submit(new=new)
    ledger = tuner.ledger
    console.print(f"run [bold]{job.run_id}[/]: job {job.job_id}  (folder {job.record.run_dir})")

    if not job.record.status.is_terminal or job.record.result is None:
        interval = poll_interval if poll_interval is not None else tuner.provider.poll_interval
        _watch(job, poll_interval=interval, timeout=timeout)
    state = job.status() if job.record.result is None else None
    if state is not None and state.status is not JobStatus.SUCCEEDED:
        if not state.is_terminal:
            console.print(f"the job is still {state.status.value}; run the same command again to keep watching")
            return
        job.result()  # raises the provider's reason as a JobError → exit code 4
    model = job.result()
    console.print(f"[green]tuned model[/]: {model.model_id}")
    _report_tracking(job)

    if cfg.deploy is not None:
        model = _deploy(tuner, job.run_id, model, yes=yes)

    if cfg.eval is not None and not skip_eval:
        from tunekit.cli.eval import _print_report, _progress
        from tunekit.evaluate import evaluate_run
        from tunekit.evaluate.runs import stored_report

        stored = None if re_evaluate else stored_report(job)
        if stored is not None:
            # Every evaluation request is paid for: a finished run shows what it already measured.
            when = stored.created_at.strftime("%Y-%m-%d %H:%M UTC")
            console.print(
                f"evaluated {when} on {len(stored.items)} examples; showing that report "
                "(--re-evaluate asks the models again)"
            )
            _print_report(stored)
            if stored.failed:
                raise typer.Exit(EXIT_FAILURE)
            return
        ledger.record(job.run_id, "intent", step="evaluate")
        with _progress(enabled=True) as progress:
            report = evaluate_run(tuner, job, model, progress=progress)
        ledger.record(job.run_id, "outcome", step="evaluate", message=report.verdict)
        _report_tracking(job)
        _print_report(report)
        if report.failed:
            raise typer.Exit(EXIT_FAILURE)


def _report_tracking(job: Job) -> None:
    """Catch the tracker up; say what it still lacks (a tracker that is down never fails the run)."""
    from rich.markup import escape

    pending = job.track()
    tracking = job.tracking
    if tracking is None or pending is None:
        return
    if pending:
        err_console.print(
            f"[yellow]{escape(pending.describe(tracking.tracker.where))}[/]; run the same command again to send it",
            highlight=False,
        )
    else:
        console.print(f"tracked in {escape(tracking.tracker.where)}", highlight=False)


def _load(path: Path) -> Tuner:
    from tunekit.tuner import Tuner

    if _names_no_provider(path):
        from tunekit.registry import foreign_config

        config = foreign_config(path)  # a config written for another tool, read by the provider that knows it
        if config is not None:
            return Tuner(config)
    return Tuner.from_config(path)


def _names_no_provider(path: Path) -> bool:
    if path.suffix.lower() not in {".yml", ".yaml"}:
        return False
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False  # load_config reports it properly
    return isinstance(data, dict) and "provider" not in data


def _check_evaluation(tuner: Tuner) -> None:
    """Ask each model the evaluation will call one question before training is paid for."""
    from rich.markup import escape

    from tunekit.evaluate.preflight import check_evaluation

    with console.status("checking that the evaluation's models answer"):
        problems = check_evaluation(tuner.config, tuner.provider)
    if not problems:
        return
    err_console.print("[bold red]the evaluation cannot reach its models:[/]")
    for line in problems:
        err_console.print(f"  {escape(line)}", soft_wrap=True)
    err_console.print(
        "fix the endpoint (or pass --skip-eval to train without evaluating); nothing was uploaded or spent"
    )
    raise typer.Exit(EXIT_FAILURE)


def _deploy(tuner: Tuner, run_id: str, model: FineTunedModel, *, yes: bool) -> FineTunedModel:
    from tunekit.cli.spend import confirm_deployment
    from tunekit.config import DeployConfig

    if model.deployment:
        console.print(f"already deployed as [bold]{model.deployment}[/]")
        return model
    settings = tuner.config.deploy or DeployConfig()
    confirm_deployment(tuner, settings, yes=yes, run_id=run_id)
    with console.status("deploying and waiting until it answers"):
        deployed = tuner.deploy(run_id)
    console.print(f"[green]deployed[/] as {deployed.deployment}")
    return deployed
