"""`tunekit eval CONFIG|RUN` and `tunekit chat RUN`: measure the tuned model, and talk to it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tunekit.cli.output import EXIT_FAILURE, console, err_console, print_json
from tunekit.cli.runref import RunArg

if TYPE_CHECKING:
    from tunekit.evaluate.report import EvalReport
    from tunekit.evaluate.spend import EvaluationSpend
    from tunekit.inference.base import ChatClient
    from tunekit.jobs import Job
    from tunekit.tuner import Tuner


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)
    app.command("chat")(chat)


def eval_command(
    target: Annotated[str, typer.Argument(help="A config file, or a run id (see `tunekit runs`).")],
    metric: Annotated[
        list[str] | None,
        typer.Option(
            "--metric",
            "-m",
            help="Metric (exact_match, normalized_exact_match, token_f1, json_valid, json_match, regex) "
            "or module:function scorer; repeat for several. Default: the config's eval.metrics.",
        ),
    ] = None,
    regex: Annotated[str | None, typer.Option("--regex", help="Pattern for the regex metric.")] = None,
    data: Annotated[
        Path | None, typer.Option("--data", help="Held-out file (default: eval.data or validation).")
    ] = None,
    few_shot: Annotated[int | None, typer.Option("--few-shot", "-k", help="Examples in the few-shot prompt.")] = None,
    rag: Annotated[
        Path | None,
        typer.Option("--rag", help="Folder of .txt/.md documents: add base rag (and tuned+rag) with passages from it."),
    ] = None,
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            help="Another model to compare: a model id (the config's provider) or provider:model (any installed "
            "provider); repeat for several.",
        ),
    ] = None,
    max_examples: Annotated[
        int | None, typer.Option("--max-examples", "-n", help="Evaluate at most N examples.")
    ] = None,
    concurrency: Annotated[int | None, typer.Option("--concurrency", help="Requests in flight per candidate.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder for the report files.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before sending requests that bill.")] = False,
) -> None:
    """Compare the tuned model with the baseline ladder (base zero-shot, few-shot, retrieval, RAG, other models):
    quality, tokens, cost per 1,000 requests, latency; write Markdown and HTML reports with charts.

    Given a config with no finished run, evaluates the baselines alone, before anything is trained. Requests to
    a provider that bills are counted and their cost bounded first, and you are asked unless --yes."""
    from tunekit.evaluate.runs import evaluate_config, loss_image_of

    tuner, job = _resolve(target)
    overrides: dict[str, Any] = {}
    if metric:
        overrides["metrics"] = list(metric)
    if regex is not None:
        overrides["regex"] = regex
    if data is not None:
        overrides["data"] = str(data.expanduser().resolve())
    if few_shot is not None:
        overrides["few_shot"] = few_shot
    if model:
        overrides["models"] = list(model)
    if rag is not None:
        current = tuner.config.eval.rag if tuner.config.eval is not None else None
        overrides["rag"] = {**(current.model_dump() if current else {}), "docs": str(rag.expanduser().resolve())}
    _apply_eval_overrides(tuner, overrides)

    fine_tuned = job.result() if job is not None else None
    if fine_tuned is None and not as_json:
        err_console.print("no finished run of this config yet: evaluating the baselines and named models only")
    loss: list[dict[str, float]] = []
    if job is not None:
        from tunekit.evaluate.plots import loss_points

        loss = loss_points(job.metrics())
    report = _evaluate_into(
        out,
        job,
        lambda folder, progress: evaluate_config(
            tuner.config,
            tuner.provider,
            model=fine_tuned,
            max_examples=max_examples,
            concurrency=concurrency,
            loss=loss,
            loss_image=loss_image_of(fine_tuned),
            out_dir=folder,
            progress=progress,
            confirm=lambda spend: _confirm_spend(spend, yes=yes),
        ),
        show_progress=not as_json,
    )
    if job is not None:
        tuner.ledger.record(job.run_id, "outcome", step="evaluate", message=report.verdict, data=report.to_dict())
    if as_json:
        print_json(report.to_dict())
    else:
        _print_report(report)
    if report.failed:
        raise typer.Exit(EXIT_FAILURE)  # a model that answered nothing was not evaluated: never a tie, never 0


def _confirm_spend(spend: EvaluationSpend, *, yes: bool) -> None:
    """Ask before the first billed request (exit 2 when no terminal can answer and --yes was not given)."""
    import sys

    from rich.markup import escape

    from tunekit.cli.output import EXIT_USAGE

    if not spend.bills or yes:
        return
    err_console.print(escape(spend.sentence()))
    if not sys.stdin.isatty():
        err_console.print("pass --yes to confirm without a prompt; nothing was sent")
        raise typer.Exit(EXIT_USAGE)
    if not typer.confirm("Send them?", default=False, err=True):
        raise typer.Exit(EXIT_FAILURE)


def _resolve(target: str) -> tuple[Tuner, Job | None]:
    """A config file gives its tuner and its latest succeeded run (if any); a run id gives that run."""
    from tunekit.tuner import Tuner

    path = Path(target).expanduser()
    if path.is_file():
        tuner = Tuner.from_config(path)
        for candidate in tuner.jobs():
            if candidate.record.result is not None or candidate.record.status.value == "succeeded":
                return tuner, candidate
        return tuner, None
    if path.suffix.lower() in {".yaml", ".yml", ".json"}:
        raise typer.BadParameter(f"no such config file: {path}", param_hint="TARGET")
    from tunekit.cli.runref import resolve_run

    run_id = resolve_run(target)
    tuner = Tuner.for_run(run_id)
    return tuner, tuner.job(run_id)


def _apply_eval_overrides(tuner: Tuner, overrides: dict[str, Any]) -> None:
    if not overrides:
        return
    from pydantic import ValidationError

    from tunekit.config import EvalConfig, format_validation_error
    from tunekit.errors import ConfigError

    current = tuner.config.eval.model_dump() if tuner.config.eval is not None else {}
    try:
        tuner.config.eval = EvalConfig.model_validate({**current, **overrides})
    except ValidationError as exc:
        raise ConfigError("invalid eval options", problems=format_validation_error(exc, prefix="eval")) from None


def _evaluate_into(
    out: Path | None,
    job: Job | None,
    run: Callable[[Path, Any], EvalReport],
    *,
    show_progress: bool,
) -> EvalReport:
    """Evaluate into ``out``, else into a new folder (earlier reports kept) that ``latest`` then points at."""
    from tunekit.evaluate.store import report_into_new_folder
    from tunekit.paths import tunekit_home

    def write(folder: Path) -> EvalReport:
        with _progress(enabled=show_progress) as progress:
            return run(folder, progress)

    if out is not None:
        return write(out)
    return report_into_new_folder(job.record.run_dir / "eval" if job is not None else tunekit_home() / "evals", write)


class _progress:
    """A rich progress bar fed by the evaluation's ``progress(name, done, total)`` callback."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self._bar: Any = None
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> Any:
        if not self.enabled:
            return None

        def update(name: str, done: int, total: int) -> None:
            if self._bar is None:  # started by the first answer, after any question asked before spending
                from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

                self._bar = Progress(
                    TextColumn("{task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                    console=err_console,
                )
                self._bar.start()
            task = self._tasks.get(name)
            if task is None:
                task = self._tasks[name] = self._bar.add_task(name, total=total)
            self._bar.update(task, completed=done)

        return update

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


def _print_report(report: EvalReport) -> None:
    # Plain text cut to the terminal's width (80 in a CI log): the whole ladder, the break-even and the
    # verdict, every number readable, nothing cropped.
    console.print(report.to_text(width=console.width), markup=False, highlight=False, soft_wrap=True, end="")


# -- chat ------------------------------------------------------------------------------------


def chat(
    run_id: RunArg,
    system: Annotated[str | None, typer.Option("--system", "-s", help="A system message for the conversation.")] = None,
    message: Annotated[
        str | None, typer.Option("--message", "-m", help="Send this one message, print the reply and exit.")
    ] = None,
    base: Annotated[bool, typer.Option("--base", help="Talk to the untuned base model instead.")] = False,
    max_tokens: Annotated[int, typer.Option("--max-tokens", help="Reply length limit in tokens.")] = 512,
    temperature: Annotated[float | None, typer.Option("--temperature", help="Sampling temperature.")] = None,
) -> None:
    """Chat with a run's tuned model in the terminal (/reset clears the history, /exit or Ctrl-D leaves)."""
    from rich.markup import escape

    from tunekit.tuner import Tuner

    tuner = Tuner.for_run(run_id)
    model = tuner.job(run_id).result()
    client = tuner.provider.base_client(model.base_model) if base else model.client()
    params: dict[str, Any] = {"max_tokens": max_tokens}
    if temperature is not None:
        params["temperature"] = temperature
    history: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    try:
        if message is not None:
            reply = _reply(client, [*history, {"role": "user", "content": message}], params, show=False)
            console.print(reply, markup=False, highlight=False)
            return
        name = model.base_model if base else model.model_id
        console.print(f"chatting with [bold]{escape(name)}[/] — /reset clears the history, /exit leaves")
        _loop(client, history, params)
    finally:
        client.close()


def _loop(client: ChatClient, history: list[dict[str, Any]], params: dict[str, Any]) -> None:
    start = list(history)
    while True:
        try:
            line = console.input("[bold cyan]you ›[/] ")
        except (EOFError, KeyboardInterrupt):
            console.print()
            return
        text = line.strip()
        if not text:
            continue
        if text in ("/exit", "/quit"):
            return
        if text == "/reset":
            history[:] = start
            console.print("[dim]history cleared[/]")
            continue
        history.append({"role": "user", "content": text})
        history.append({"role": "assistant", "content": _reply(client, history, params, show=True)})


def _reply(client: ChatClient, messages: list[dict[str, Any]], params: dict[str, Any], *, show: bool) -> str:
    if not show:
        return client.chat(messages, **params).text
    console.print("[bold green]model ›[/] ", end="")
    pieces = []
    for piece in client.stream(messages, **params):
        pieces.append(piece)
        console.print(piece, end="", markup=False, highlight=False)
    console.print()
    return "".join(pieces)
