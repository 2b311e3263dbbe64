"""`tunekit export RUN --format merged|ollama|gguf --out DIR`: a tuned model as files other tools load."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tunekit.cli.output import console, err_console, print_json


def register(app: typer.Typer) -> None:
    app.command("export")(export)


def export(
    target: Annotated[str, typer.Argument(help="Run id, or config file (its newest succeeded run).")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="merged (safetensors), ollama or gguf.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="New folder to write the export into.")],
    gguf_type: Annotated[str, typer.Option("--gguf-type", help="gguf: f16, bf16, f32, q8_0 or auto.")] = "f16",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Export a run's tuned model: merged weights with tokenizer and chat template, an Ollama folder, or GGUF."""
    from tunekit.serve.export import EXPORT_FORMATS, export_model
    from tunekit.serve.source import resolve_run

    if fmt not in EXPORT_FORMATS:
        raise typer.BadParameter(f"{fmt!r} is not one of {', '.join(EXPORT_FORMATS)}", param_hint="--format")
    files = resolve_run(target)
    with err_console.status(f"exporting run {files.run_id} as {fmt} (merging the adapter first)"):
        result = export_model(files, fmt, out, gguf_type=gguf_type)
    if as_json:
        print_json(
            {
                "run_id": files.run_id,
                "format": result.format,
                "path": str(result.path),
                "files": result.files,
                **result.details,
            }
        )
        return
    console.print(f"[green]exported[/] run {files.run_id} as {fmt} to {result.path} ({len(result.files)} files)")
    if "create" in result.details:
        console.print(f"load it into Ollama: cd {result.path} && {result.details['create']}", markup=False)
