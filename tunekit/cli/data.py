"""Data commands: `tunekit validate`, `tunekit convert`, `tunekit estimate`.

Exit codes: 0 valid, 3 (EXIT_DATA_INVALID) when the data is invalid, 2 for a
bad argument or config, 1 when the tool itself failed. No traceback reaches the
user: unexpected failures print one line (``-vv`` logs the traceback).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tunekit.cli.output import EXIT_DATA_INVALID, EXIT_FAILURE, EXIT_USAGE, console, err_console, print_json

if TYPE_CHECKING:
    from tunekit.config import TuneConfig
    from tunekit.data import CostEstimate

logger = logging.getLogger("tunekit.cli")

_OPENAI_LIKE = ("openai", "azure")
_ESTIMATE_PROVIDERS = ("openai", "azure", "autotrain", "local")


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
    app.command("convert")(convert)
    app.command("estimate")(estimate)


@contextmanager
def _cli_errors() -> Iterator[None]:
    """Turn every failure into one line and the right exit code."""
    from rich.markup import escape

    from tunekit.errors import ConfigError, DataError, TunekitError
    from tunekit.secrets import redact as _redact

    def redact(text: str) -> str:
        return escape(_redact(text))

    try:
        yield
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except DataError as exc:
        err_console.print(f"[bold red]data invalid:[/] {redact(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_DATA_INVALID) from None
    except ConfigError as exc:
        err_console.print(f"[bold red]config error:[/] {redact(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from None
    except (TunekitError, OSError) as exc:
        err_console.print(f"[bold red]error:[/] {redact(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_FAILURE) from None
    except Exception as exc:  # the CLI boundary: a bug must still not show a traceback
        logger.debug("unexpected failure", exc_info=True)
        err_console.print(f"[bold red]error:[/] {type(exc).__name__}: {redact(str(exc))} (run with -vv for details)")
        raise typer.Exit(EXIT_FAILURE) from None


def _columns(pairs: list[str] | None) -> dict[str, str] | None:
    from tunekit.errors import ConfigError

    if not pairs:
        return None
    mapping = {}
    for pair in pairs:
        name, sep, column = pair.partition("=")
        if not sep or not name or not column:
            raise ConfigError(f"--column takes canonical=column (for example prompt=question), not {pair!r}")
        mapping[name.strip()] = column.strip()
    return mapping


def _looks_openai(model: str) -> bool:
    from tunekit.data.tokens import _looks_openai as looks

    return looks(model)


def validate(
    data: Annotated[Path, typer.Argument(help="Training data: JSONL, JSON, CSV/TSV or Parquet.")],
    model: Annotated[str | None, typer.Option("--model", "-m", help="Base model (limits, tokenizer, price).")] = None,
    format: Annotated[
        str | None, typer.Option("--format", "-f", help="Input format (openai, sharegpt, alpaca, dpo, ...).")
    ] = None,
    provider: Annotated[
        str | None,
        typer.Option("--provider", "-p", help="openai, azure, autotrain or local (default: by model)."),
    ] = None,
    method: Annotated[str | None, typer.Option("--method", help="sft or dpo (default: from the data).")] = None,
    validation: Annotated[
        Path | None, typer.Option("--validation", help="A validation file to check too (and for overlap).")
    ] = None,
    column: Annotated[
        list[str] | None, typer.Option("--column", "-c", help="Column mapping canonical=column (repeatable).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Check training data before spending anything: every problem with file:line and field, tokens and cost."""
    with _cli_errors():
        from tunekit.config import TuneConfig
        from tunekit.data import detect_format, validate_data
        from tunekit.data.formats import canonical_format
        from tunekit.errors import DataError

        columns = _columns(column)
        model_name = model or "gpt-4o-mini"
        provider_name = provider or ("openai" if _looks_openai(model_name) else "local")
        if method is None:
            try:
                fmt = canonical_format(format) if format else detect_format(data, columns=columns)
            except DataError:
                fmt = None  # an empty or unrecognized file: the report below says so, with the line
            method = "dpo" if fmt in ("openai-preference", "dpo") else "sft"
        config = TuneConfig.model_validate(
            {
                "provider": provider_name,
                "model": model_name,
                "method": method,
                "data": {
                    "train": str(data),
                    "validation": str(validation) if validation else None,
                    "format": format,
                    "columns": columns,
                },
            }
        )
        report = validate_data(config)
    if as_json:
        print_json(report.to_dict())
    else:
        console.print(report.summary(), markup=False, highlight=False, soft_wrap=True)
    if not report.ok:
        raise typer.Exit(EXIT_DATA_INVALID)


_TARGETS = ("openai", "azure", "trl", "trl-conversational", "trl-prompt-completion", "trl-preference", "autotrain")


def convert(
    data: Annotated[Path, typer.Argument(help="Input data in any supported format.")],
    to: Annotated[str, typer.Option("--to", "-t", help="openai, azure, trl (or trl-<format>) or autotrain.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the JSONL.")],
    format: Annotated[str | None, typer.Option("--format", "-f", help="Input format (default: detected).")] = None,
    column: Annotated[
        list[str] | None, typer.Option("--column", "-c", help="Column mapping canonical=column (repeatable).")
    ] = None,
    chat_template: Annotated[
        str, typer.Option("--chat-template", help="AutoTrain: tokenizer, chatml, zephyr or none (render text).")
    ] = "tokenizer",
) -> None:
    """Convert data to a provider's format. Nothing is written unless every example converts."""
    with _cli_errors():
        from tunekit.data import detect_format, read_examples, write_examples
        from tunekit.data.formats import canonical_format
        from tunekit.errors import ConfigError

        target = to.lower()
        if target not in _TARGETS:
            raise ConfigError(f"--to must be one of {', '.join(_TARGETS)}, not {to!r}")
        columns = _columns(column)
        fmt = canonical_format(format) if format else detect_format(data, columns=columns)
        preference = fmt in ("openai-preference", "dpo")
        if target in _OPENAI_LIKE and preference:
            target += "-preference"
        count = 0

        def counted() -> Iterator[Any]:
            nonlocal count
            for example in read_examples(data, format=fmt, columns=columns):
                count += 1
                yield example

        path = write_examples(counted(), output, target, chat_template=chat_template)  # type: ignore[arg-type]
    console.print(f"wrote {count:,} examples as {target} to {path}", markup=False)
    if target == "autotrain":
        from tunekit.data import autotrain_params

        params = autotrain_params("preference" if preference else "chat", chat_template)  # type: ignore[arg-type]
        console.print("AutoTrain columns: " + ", ".join(f"{k}={v}" for k, v in params.items()), markup=False)


def estimate(
    config: Annotated[Path, typer.Argument(help="A tunekit config (YAML/JSON).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """What the run would cost on each provider, side by side: tokens, epochs, price, time, GPU memory."""
    with _cli_errors():
        from tunekit.config import load_config

        cfg = load_config(config)
        rows = _estimates(cfg)
    if as_json:
        print_json({"config": str(config), "estimates": [row.model_dump(mode="json") for row in rows]})
        return
    _print_estimates(cfg, rows)
    from tunekit.cli.retirements import model_warning

    warning = model_warning(cfg.provider, cfg.model)
    if warning:
        err_console.print(f"[yellow]warning:[/] {warning}", markup=True, highlight=False)


def _estimates(cfg: TuneConfig) -> list[CostEstimate]:
    """Count tokens once per tokenizer family and price the run for each provider."""
    from tunekit.data import estimate_cost, validate_data
    from tunekit.errors import DataError

    stats_by_family: dict[str, Any] = {}
    rows = []
    providers = [cfg.provider, *(p for p in _ESTIMATE_PROVIDERS if p != cfg.provider)]
    for provider in providers:
        family = "tiktoken" if provider in _OPENAI_LIKE else "hf"
        variant = cfg.model_copy(
            update={"provider": provider, "provider_options": cfg.provider_options if provider == cfg.provider else {}}
        )
        if family not in stats_by_family:
            report = validate_data(variant, estimate=False)
            if provider == cfg.provider and not report.ok:
                first = report.first_error()
                raise DataError(
                    f"{first.message if first else 'invalid data'} (run `tunekit validate` for every finding)",
                    file=first.file if first else None,
                    line=first.line if first else None,
                    field=first.field if first else None,
                    report=report,
                )
            stats_by_family[family] = report.tokens
        stats = stats_by_family[family]
        if stats is not None:
            rows.append(estimate_cost(variant, stats))
    return rows


def _print_estimates(cfg: TuneConfig, rows: list[CostEstimate]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{cfg.model} · {cfg.method} · {cfg.data.train}", title_justify="left", expand=False)
    table.add_column("provider", no_wrap=True)
    for column in ("examples", "tok/epoch", "epochs", "billed tok", "cost", "time", "host/h", "GiB LoRA"):
        table.add_column(column, justify="right", no_wrap=True)
    for r in rows:
        table.add_row(
            r.provider + ("*" if r.provider == cfg.provider else ""),
            f"{r.examples:,}",
            f"{r.tokens_per_epoch:,}",
            f"{r.epochs}{'' if r.epochs_source == 'config' else ' auto'}",
            f"{r.billed_tokens:,}",
            "-" if r.total is None else f"{r.total:,.2f}",
            "-" if r.hours is None else f"{r.hours:.2f}h",
            "-" if r.hosting_per_hour is None else f"{r.hosting_per_hour:.2f}",
            "-" if r.memory is None else f"{r.memory.lora_gib:.1f}",
        )
    # Piped output has no terminal width; a table this wide would wrap every cell at rich's default of 80.
    wide = console if console.is_terminal else Console(width=120, highlight=False)
    wide.print(table)
    currency = rows[0].currency if rows else "USD"
    console.print(f"* the config's provider; money in {currency}", markup=False, highlight=False)
    for r in rows:
        if r.memory is not None:
            m = r.memory
            fits = ", ".join(g.gpu for g in m.fits if g.lora) or "none of the listed GPUs"
            console.print(
                f"  {r.provider}: GPU memory full {m.full_gib:.1f} / LoRA {m.lora_gib:.1f} / "
                f"QLoRA {m.qlora_gib:.1f} GiB; LoRA fits {fits}",
                markup=False,
                highlight=False,
            )
        for note in r.notes:
            console.print(f"  {r.provider}: {note}", markup=False, highlight=False)
    as_of = next((r.prices_as_of for r in rows if r.prices_as_of), None)
    if as_of:
        where = "tunekit/data/prices.yaml or $TUNEKIT_HOME/prices.yaml"
        console.print(f"prices as of {as_of} (edit {where})", markup=False, highlight=False)
