"""``tunekit emulate SERVICE``: run a service emulator as a standalone server that logs requests.

Contributed to the ``tunekit`` CLI through the ``tunekit.cli`` entry-point group when
``tunekit-emulators`` is installed.

Point any client at it for offline development or CI; the control API lives under ``/_emulator/``.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import signal
import threading
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tunekit.cli.output import EXIT_USAGE, console, err_console

if TYPE_CHECKING:
    from tunekit_emulators.base import Emulator
    from tunekit_emulators.faults import RecordedRequest

__all__ = ["EMULATORS", "register"]

EMULATORS: dict[str, str] = {
    "openai": "tunekit_emulators.openai:OpenAIEmulator",
    "azure": "tunekit_emulators.azure:AzureOpenAIEmulator",
    "hub": "tunekit_emulators.hub:HubEmulator",
    "together": "tunekit_emulators.together:TogetherEmulator",
    "fireworks": "tunekit_emulators.fireworks:FireworksEmulator",
}
"""Service name -> ``module:class`` of its emulator (a :class:`tunekit_emulators.base.Emulator`)."""


def register(app: typer.Typer) -> None:
    app.command("emulate")(emulate)


def _emulator_class(service: str) -> type[Emulator]:
    target = EMULATORS.get(service)
    if target is None:
        err_console.print(f"[bold red]unknown service {service!r}[/]; choose one of {', '.join(sorted(EMULATORS))}")
        raise typer.Exit(EXIT_USAGE)
    module, _, name = target.partition(":")
    try:
        cls: type[Emulator] = getattr(importlib.import_module(module), name)
    except ImportError as exc:
        err_console.print(
            f"[bold red]the {service} emulator needs starlette and uvicorn[/]: pip install tunekit-emulators ({exc})"
        )
        raise typer.Exit(EXIT_USAGE) from None
    return cls


def _build(cls: type[Emulator], options: dict[str, Any]) -> Emulator:
    """Instantiate with the options the emulator accepts; refuse ones it does not (set away from defaults)."""
    accepted = inspect.signature(cls).parameters
    unsupported = [name for name in options if name not in accepted]
    if unsupported:
        flags = ", ".join("--" + name.replace("_", "-") for name in unsupported)
        err_console.print(f"[bold red]{flags} not supported by this emulator[/]")
        raise typer.Exit(EXIT_USAGE)
    try:
        return cls(**options)
    except ValueError as exc:
        err_console.print(f"[bold red]invalid option:[/] {exc}")
        raise typer.Exit(EXIT_USAGE) from None


def _log_request(entry: RecordedRequest) -> None:
    at = datetime.fromtimestamp(entry.at).strftime("%H:%M:%S.%f")[:-3]
    style = "green" if 200 <= entry.status < 400 else "yellow" if entry.status < 500 else "red"
    query = f"?{entry.query}" if entry.query else ""
    fault = f" [magenta](fault: {entry.fault})[/]" if entry.fault else ""
    err_console.print(
        f"[dim]{at}[/] {entry.method} {entry.path}{query} [{style}]{entry.status or '-'}[/]{fault}", highlight=False
    )


OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


def _warn_offline(endpoint: str) -> None:
    """huggingface_hub refuses every request, loopback included, while either offline variable is set."""
    set_here = [name for name in OFFLINE_VARIABLES if os.environ.get(name, "").strip().lower() in ("1", "true", "yes")]
    if set_here:
        err_console.print(
            f"[yellow]note:[/] {' and '.join(set_here)} set here: huggingface_hub clients refuse every request, "
            "this emulator's included. Run them with "
            f"HF_HUB_OFFLINE=0 TRANSFORMERS_OFFLINE=0 HF_ENDPOINT={endpoint} "
            "(every Hub call then goes to this emulator).",
            highlight=False,
            soft_wrap=True,
        )


def emulate(
    service: Annotated[str, typer.Argument(help=f"Which service: {', '.join(EMULATORS)}.")],
    port: Annotated[int, typer.Option("--port", "-p", help="Port to listen on (0 picks a free one).")] = 8000,
    host: Annotated[str, typer.Option("--host", help="Interface to bind; keep 127.0.0.1 unless you mean it.")] = (
        "127.0.0.1"
    ),
    lifecycle: Annotated[
        str, typer.Option("--lifecycle", help="How jobs move: immediate, manual (via /_emulator) or timed.")
    ] = "immediate",
    step_seconds: Annotated[
        float | None, typer.Option("--step-seconds", help="Seconds per job state with --lifecycle timed.")
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option("--seed", help="Seed for ids, probabilistic faults and keys (without one, keys are random)."),
    ] = None,
    latency: Annotated[float | None, typer.Option("--latency", help="Seconds added to every request.")] = None,
    token_latency: Annotated[
        float | None, typer.Option("--token-latency", help="Seconds per generated token in chat completions.")
    ] = None,
    rpm: Annotated[int | None, typer.Option("--rpm", help="Requests per minute allowed on chat completions.")] = None,
    tpm: Annotated[int | None, typer.Option("--tpm", help="Tokens per minute allowed on chat completions.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not log each request.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the connection details as one JSON line.")] = False,
) -> None:
    """Run an emulator of SERVICE on HOST:PORT until interrupted, logging each request to stderr."""
    cls = _emulator_class(service)
    options: dict[str, Any] = {"port": port, "host": host}
    if lifecycle != "immediate":
        options["lifecycle"] = lifecycle
    optional = {
        "seed": seed,
        "step_seconds": step_seconds,
        "latency": latency,
        "token_latency": token_latency,
        "rpm": rpm,
    }
    options.update({name: value for name, value in {**optional, "tpm": tpm}.items() if value is not None})
    emulator = _build(cls, options)
    if not quiet:
        emulator.app.on_request = _log_request
    try:
        emulator.start()
    except RuntimeError as exc:
        err_console.print(f"[bold red]could not start the {service} emulator:[/] {exc}")
        raise typer.Exit(1) from None
    details = emulator.describe()
    if as_json:
        print(json.dumps({"service": service, **details}), flush=True)
    else:
        console.print(f"[bold]{service} emulator[/] listening (Ctrl-C to stop)")
        for key, value in details.items():
            console.print(f"  {key:<16} {value}")
    if service == "hub":
        _warn_offline(details.get("endpoint", emulator.url))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
        err_console.print(f"{service} emulator stopped")
