"""Commands that drive a run's job, whatever the provider: submit, status, watch, cancel, pause, resume, result."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from tunekit.cli.options import SkipRewardCheckOpt
from tunekit.cli.output import EXIT_INTERRUPTED, EXIT_JOB_FAILED, console, err_console, print_json
from tunekit.cli.runref import RunArg

if TYPE_CHECKING:
    from rich.progress import Progress, Task, TaskID
    from rich.text import Text

    from tunekit.jobs import Job
    from tunekit.provider import FineTunedModel
    from tunekit.states import JobEvent, JobState
    from tunekit.tuner import Tuner

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]

_MAX_POLL_FAILURES = 8
"""Consecutive failed polling rounds (each already retried) before `watch` gives up."""


def register(app: typer.Typer) -> None:
    app.command("submit")(submit)
    app.command("status")(status)
    app.command("watch")(watch)
    app.command("cancel")(cancel)
    app.command("pause")(pause)
    app.command("resume")(resume)
    app.command("result")(result)
    app.command("checkpoints")(checkpoints)


def submit(
    config: Annotated[Path, typer.Argument(help="Config file (YAML or JSON).", exists=True, dir_okay=False)],
    new: Annotated[
        bool, typer.Option("--new", help="Start a fresh run even if this job already ran or is running.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before starting a job that bills.")] = False,
    follow: Annotated[bool, typer.Option("--watch", help="Watch the job until it ends.")] = False,
    skip_reward_check: SkipRewardCheckOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Upload the data and start the fine-tuning job, once.

    A run of the same job that succeeded is shown, not trained again; an
    unfinished one is resumed. Before a new job that bills, the data is
    validated, the cost estimated, and you are asked (``--yes`` skips the
    question; without a terminal it is required).
    """
    from tunekit.cli.spend import confirm_new_job
    from tunekit.errors import JobLostError
    from tunekit.states import JobStatus
    from tunekit.tuner import Tuner

    tuner = Tuner.from_config(config)
    existing = None if new else tuner.existing_run()
    if existing is not None and existing.status is JobStatus.SUCCEEDED:
        _print_submitted(existing.run_id, existing.remote.get("job_id"), existing.status.value, as_json, reused=True)
        if not as_json:
            model = (existing.result or {}).get("model_id")
            console.print(f"this job already succeeded{f' ({model})' if model else ''}; nothing was started")
            console.print(f"train it again with: tunekit submit {config} --new")
        return
    if existing is None or not existing.has_job:
        confirm_new_job(tuner, yes=yes, out=err_console if as_json else console, check_rewards=not skip_reward_check)
    try:
        job = tuner.submit(new=new)
    except JobLostError as exc:
        err_console.print(f"[bold red]job lost:[/] {_esc(str(exc))}", highlight=False)
        err_console.print(f"start a fresh run with: tunekit submit {config} --new", highlight=False)
        raise typer.Exit(EXIT_JOB_FAILED) from None
    record = job.record
    _print_submitted(job.run_id, record.remote.get("job_id"), record.status.value, as_json, reused=False)
    if not as_json:
        console.print(f"follow it with: tunekit watch {job.run_id}")
    if follow:
        state = _watch(job, poll_interval=tuner.provider.poll_interval, timeout=None)
        if state is not None and state.status.value in ("failed", "cancelled"):
            raise typer.Exit(EXIT_JOB_FAILED)


def _print_submitted(run_id: str, job_id: str | None, status: str, as_json: bool, *, reused: bool) -> None:
    if as_json:
        print_json({"run_id": run_id, "job_id": job_id, "status": status, "reused": reused})
    else:
        console.print(f"run [bold]{run_id}[/]  job {job_id}  ({status})")


def status(run_id: RunArg, as_json: JsonOpt = False) -> None:
    """Ask the provider for the job's state once and print it."""
    from tunekit.errors import JobError
    from tunekit.ledger import Ledger

    try:
        _, job = _job(run_id)
    except JobError:
        # Nothing at the provider yet (the client stopped before creating the job): say what the ledger knows.
        record = Ledger().get(run_id)
        if as_json:
            print_json({"run_id": run_id, "provider": record.provider, "job_id": None, "status": record.status.value})
            return
        console.print(f"[bold]{run_id}[/]  {_colour(record.status.value)}  no job at {record.provider} yet")
        console.print("start it with: tunekit submit CONFIG (the same config resumes this run)")
        return
    state = job.status()
    record = job.record
    if as_json:
        print_json(
            {
                "run_id": run_id,
                "provider": record.provider,
                "job_id": state.job_id or job.job_id,
                **state.model_dump(mode="json", exclude={"job_id"}),
                "progress": state.progress,
                "result": record.result,
            }
        )
        return
    line = f"[bold]{run_id}[/]  {_colour(state.status.value)}  ({state.raw_status or '-'})  job {job.job_id}"
    console.print(line)
    if state.step is not None:
        total = f"/{state.total_steps}" if state.total_steps else ""
        console.print(
            f"step {state.step}{total}" + (f"   ETA {_eta(state.estimated_finish)}" if state.estimated_finish else "")
        )
    if state.fine_tuned_model:
        console.print(f"model {state.fine_tuned_model}")
    if state.message:
        console.print(f"[red]{_esc(state.message)}[/]")


def watch(
    run_id: RunArg,
    interval: Annotated[
        float | None, typer.Option("--interval", help="Seconds between polls (default: the provider's setting).")
    ] = None,
    timeout: Annotated[float | None, typer.Option("--timeout", help="Stop watching after this many seconds.")] = None,
) -> None:
    """Follow the job with a progress bar (step/total, ETA, latest loss) until it ends.

    A run whose client died before it learned the job id is re-attached to
    the job the provider already has; no second job is started.
    """
    tuner, job = _job(run_id)
    state = _watch(job, poll_interval=interval or tuner.provider.poll_interval, timeout=timeout)
    if state is not None and state.status.value in ("failed", "cancelled"):
        raise typer.Exit(EXIT_JOB_FAILED)


def cancel(run_id: RunArg) -> None:
    """Ask the provider to stop the job."""
    _, job = _job(run_id)
    job.cancel()
    _print_state(job)


def pause(run_id: RunArg) -> None:
    """Pause the job (where the provider can)."""
    _, job = _job(run_id)
    job.pause()
    _print_state(job)


def resume(run_id: RunArg) -> None:
    """Resume a paused job."""
    _, job = _job(run_id)
    job.resume()
    _print_state(job)


def result(
    run_id: RunArg,
    checkpoint: Annotated[
        str | None, typer.Option("--checkpoint", help="Take this checkpoint (id or step) as the result.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Print the tuned model of a finished run (its id, files, final metrics)."""
    _, job = _job(run_id)
    model = job.use_checkpoint(checkpoint) if checkpoint is not None else job.result()
    if as_json:
        print_json(model.model_dump(mode="json"))
        return
    _print_model(model)


def checkpoints(run_id: RunArg, as_json: JsonOpt = False) -> None:
    """List the checkpoints the job saved."""
    _, job = _job(run_id)
    found = job.checkpoints()
    if as_json:
        print_json([c.model_dump(mode="json") for c in found])
        return
    if not found:
        console.print("no checkpoints yet")
        return
    from rich.table import Table

    table = Table("step", "checkpoint", "model", "train loss", "valid loss")
    for c in found:
        table.add_row(
            str(c.step),
            c.id,
            c.model_id or c.path or "-",
            _fmt(c.metrics.get("train_loss")),
            _fmt(c.metrics.get("valid_loss")),
        )
    console.print(table)


# -- helpers -----------------------------------------------------------------------------


def _job(run_id: str) -> tuple[Tuner, Job]:
    from tunekit.tuner import Tuner

    tuner = Tuner.for_run(run_id)
    return tuner, tuner.reattach(run_id)


def _watch(job: Job, *, poll_interval: float, timeout: float | None) -> JobState | None:
    """Show the job's progress until it ends; its final state, or None when the watch timed out.

    Polling survives transient outages that outlast one call's retries. Ctrl-C
    stops a job that runs on this machine (``tunekit resume`` continues it) and
    leaves a remote one running.
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    deadline = None if timeout is None else time.monotonic() + timeout
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        *_columns(),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    )
    state: JobState | None = None
    try:
        with progress:
            state = _follow(job, progress, poll_interval=poll_interval, deadline=deadline, timeout=timeout)
    except KeyboardInterrupt:
        _interrupted(job)
    if state is not None:
        _print_final(job, state)
    return state


def _follow(
    job: Job, progress: Progress, *, poll_interval: float, deadline: float | None, timeout: float | None
) -> JobState | None:
    from tunekit.errors import RateLimitedError, ServiceUnavailableError
    from tunekit.states import JobEvent, JobState

    state: JobState | None = None
    failures = 0
    task = progress.add_task(job.record.status.value, total=None, step=None, eta=None, loss=None)
    _replay(job, progress, task)
    while True:
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            for item in job.watch(poll_interval=poll_interval, timeout=remaining):
                failures = 0
                if isinstance(item, JobState):
                    state = item
                    _show_state(progress, task, item)
                elif isinstance(item, JobEvent):
                    _show_event(progress, task, item)
            return state
        except (RateLimitedError, ServiceUnavailableError) as exc:
            failures += 1
            pause = min(60.0, poll_interval * 2**failures)
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= pause:
                # The deadline holds during outages too: say why watching stopped, then the service's error (exit 1).
                progress.console.print(f"[yellow]stopped watching after {timeout} s: the service did not answer[/]")
                raise
            if failures >= _MAX_POLL_FAILURES:
                raise
            progress.console.print(f"[yellow]polling failed ({_esc(str(exc))}); trying again in {pause:.0f} s[/]")
            time.sleep(pause)
        except TimeoutError:
            progress.console.print(f"[yellow]stopped watching after {timeout} s; the job goes on[/]")
            return None


def _interrupted(job: Job) -> NoReturn:
    """Ctrl-C while watching: stop training that runs here, as a training script would; leave a remote job be."""
    run = job.run_id
    if job.provider.runs_here:
        err_console.print("[yellow]interrupted: stopping the training process[/]", highlight=False)
    if not job.interrupted():
        err_console.print(
            f"[yellow]stopped watching; the job goes on at {job.provider.name}[/]: "
            f"`tunekit watch {run}` follows it again, `tunekit cancel {run}` stops it",
            highlight=False,
        )
        raise typer.Exit(EXIT_INTERRUPTED)
    step = job.status().step
    err_console.print(
        f"cancelled{f' at step {step}' if step else ''}; `tunekit resume {run}` continues from the last checkpoint",
        highlight=False,
    )
    raise typer.Exit(EXIT_INTERRUPTED)


def _replay(job: Job, progress: Progress, task: TaskID) -> None:
    """Start the display from what the ledger already knows (a re-attached watch)."""
    for event in job.history():
        if event.step is not None or event.metrics:
            _show_event(progress, task, event, echo=False)


def _show_state(progress: Progress, task: TaskID, state: JobState) -> None:
    fields: dict[str, Any] = {"eta": state.estimated_finish}
    if state.step is not None:
        fields["step"] = state.step
    kwargs: dict[str, Any] = {"description": state.status.value, **fields}
    if state.total_steps:
        kwargs["total"] = state.total_steps
    if state.step is not None:
        kwargs["completed"] = state.step
    if state.status.value == "succeeded" and state.total_steps:
        kwargs["completed"] = state.total_steps
    progress.update(task, **kwargs)


def _show_event(progress: Progress, task: TaskID, event: JobEvent, *, echo: bool = True) -> None:
    kwargs: dict[str, Any] = {}
    if event.step is not None:
        kwargs["completed"] = event.step
        kwargs["step"] = event.step
    if event.total_steps:
        kwargs["total"] = event.total_steps
    loss = event.metrics.get("train_loss")
    if loss is not None:
        kwargs["loss"] = loss
    if kwargs:
        progress.update(task, **kwargs)
    if echo and event.type != "metrics" and event.message:
        colour = {"error": "red", "warn": "yellow", "warning": "yellow"}.get(event.level, "dim")
        progress.console.print(f"[{colour}]{event.created_at:%H:%M:%S}  {_esc(event.message)}[/]", highlight=False)


def _print_final(job: Job, state: JobState) -> None:
    value = state.status.value
    if value == "succeeded":
        console.print(f"[green]succeeded[/]: {state.fine_tuned_model or ''}")
        console.print(f"use it: tunekit result {job.run_id}")
        return
    if value == "failed":
        err_console.print(f"[red]failed[/]: {_esc(state.message or 'no reason given')}")
    elif value == "cancelled":
        err_console.print("[yellow]cancelled[/]")


def _print_state(job: Job) -> None:
    state = job.status()
    console.print(f"[bold]{job.run_id}[/]  {_colour(state.status.value)}  ({state.raw_status or '-'})")


def _print_model(model: FineTunedModel) -> None:
    console.print(f"model    [bold]{model.model_id}[/]  ({model.kind}, from {model.base_model})")
    if model.checkpoint:
        console.print(f"checkpoint {model.checkpoint}")
    metrics = model.metadata.get("final_metrics")
    if isinstance(metrics, dict) and metrics:
        console.print("metrics  " + "  ".join(f"{k} {_fmt(v)}" for k, v in metrics.items()))
    curve = model.metadata.get("loss_curve")
    if curve:
        console.print(f"loss curve {curve}")


def _esc(text: str) -> str:
    """Provider text shown verbatim: ``[...]`` in it is not rich markup."""
    from rich.markup import escape

    return escape(text)


def _colour(value: str) -> str:
    colour = {"succeeded": "green", "failed": "red", "cancelled": "yellow", "running": "cyan", "paused": "magenta"}
    return f"[{colour.get(value, 'white')}]{value}[/]"


def _fmt(value: object) -> str:
    return f"{value:.4f}" if isinstance(value, float) else "-" if value is None else str(value)


def _eta(finish: datetime | None) -> str:
    if finish is None:
        return "-"
    seconds = int((finish - datetime.now(timezone.utc)).total_seconds())
    if seconds <= 0:
        return "any moment"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _columns() -> list[Any]:
    """Step/total, ETA from the provider's estimate, and the latest training loss."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class StepColumn(ProgressColumn):
        def render(self, task: Task) -> Text:
            step = task.fields.get("step")
            text = "step -" if step is None else f"step {step}" + (f"/{int(task.total)}" if task.total else "")
            return Text(text, style="progress.data")

    class EtaColumn(ProgressColumn):
        def render(self, task: Task) -> Text:
            return Text(f"ETA {_eta(task.fields.get('eta'))}", style="progress.remaining")

    class LossColumn(ProgressColumn):
        def render(self, task: Task) -> Text:
            return Text(f"loss {_fmt(task.fields.get('loss'))}", style="progress.data")

    return [StepColumn(), EtaColumn(), LossColumn()]
