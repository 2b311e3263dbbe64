"""`tunekit serve RUN|CONFIG`: the tuned model behind an OpenAI-compatible endpoint, on a real serving engine."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from tunekit.cli.output import console, err_console, print_json

TargetsArg = Annotated[
    list[str],
    typer.Argument(help="Run id, or config file (its newest succeeded run); several runs = several adapters (vLLM)."),
]


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    targets: TargetsArg,
    port: Annotated[int, typer.Option("--port", "-p", min=1, max=65535, help="Port to listen on.")] = 8000,
    host: Annotated[str, typer.Option("--host", help="Address to listen on (0.0.0.0 for every interface).")] = (
        "127.0.0.1"
    ),
    engine: Annotated[
        str, typer.Option("--engine", help="auto, transformers, vllm or llama.cpp (auto picks by hardware).")
    ] = "auto",
    name: Annotated[str | None, typer.Option("--name", help="Model name clients send (default: the run id).")] = None,
    device: Annotated[str, typer.Option("--device", help="transformers: auto, cpu, cuda:0, ...")] = "auto",
    tensor_parallel: Annotated[
        int, typer.Option("--tensor-parallel", min=1, help="vLLM: GPUs to spread the model over.")
    ] = 1,
    continuous_batching: Annotated[
        bool | None,
        typer.Option(
            "--continuous-batching/--no-continuous-batching",
            help="transformers: batch concurrent requests together (default: on).",
        ),
    ] = None,
    engine_args: Annotated[
        list[str] | None,
        typer.Option(
            "--engine-arg", help="Pass an argument to the engine as is (repeat it), e.g. --engine-arg=--compile."
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the engine and its command; start nothing.")] = (
        False
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Print where it serves as JSON once it answers.")] = False,
) -> None:
    """Serve tuned models behind an OpenAI-compatible API until Ctrl-C; `model.client()` talks to it meanwhile."""
    from tunekit.serve.engines import pick_engine
    from tunekit.serve.server import ServedModel, check_port, plan_server
    from tunekit.serve.source import resolve_run

    runs = [resolve_run(target) for target in targets]
    # Everything that can be refused is refused before a merge or a download starts.
    pick_engine(engine, adapters=len(runs))
    if not dry_run:
        check_port(host, port)
    with err_console.status("preparing the model (merging an adapter takes a minute the first time)"):
        plan = plan_server(
            runs,
            engine=engine,
            host=host,
            port=port,
            name=name,
            device=device,
            tensor_parallel=tensor_parallel,
            continuous_batching=continuous_batching,
            extra=engine_args or (),
        )
    err_console.print(f"engine: [bold]{plan.engine.name}[/] ({plan.engine.reason})", highlight=False)
    if dry_run:
        print_json(
            {
                "engine": plan.engine.name,
                "reason": plan.engine.reason,
                "command": plan.command,
                "cwd": str(plan.cwd) if plan.cwd else None,
                "base_url": plan.base_url,
                "models": plan.names,
            }
        )
        return
    served = ServedModel(plan)
    _stop_on_sigterm()
    try:
        with err_console.status(f"starting {plan.engine.name} and waiting until it answers"):
            served.start()
        _announce(plan.base_url, plan.names, as_json)
        code = served.wait()
        err_console.print(f"[red]{plan.engine.name} exited with status {code}[/]; its log: {served.log_file}")
        raise typer.Exit(1)
    except KeyboardInterrupt:
        err_console.print("stopping...")
    finally:
        served.stop()
    err_console.print("[green]stopped[/]")


def _stop_on_sigterm() -> None:
    """SIGTERM (a process manager, `kill`) stops the engine as Ctrl-C does, instead of orphaning it."""
    import signal

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def _announce(base_url: str, names: dict[str, str], as_json: bool) -> None:
    if as_json:
        print_json({"base_url": base_url, "models": names})
        return
    for run_id, model in names.items():
        console.print(f"[green]serving[/] run {run_id} as [bold]{model}[/] at {base_url}")
    first = next(iter(names.values()))
    console.print(
        "call it with the openai SDK:\n"
        f'  OpenAI(base_url="{base_url}", api_key="unused").chat.completions.create(model="{first}", messages=[...])\n'
        "Ctrl-C stops it.",
        highlight=False,
        markup=False,
    )
    sys.stdout.flush()  # scripts that read the address wait for it while the server runs
