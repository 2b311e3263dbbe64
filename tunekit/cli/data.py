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
    from tunekit.provider import Provider

logger = logging.getLogger("tunekit.cli")


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


def _provider_classes() -> list[type[Provider]]:
    """Every installed provider that imports (a broken one is skipped: `tunekit providers` reports it)."""
    from tunekit.registry import get_provider_class, installed_providers

    return [get_provider_class(info.name) for info in installed_providers() if info.ok]


def _default_provider(model: str) -> type[Provider] | None:
    """The provider whose model family ``model`` belongs to, else one that trains on this machine."""
    classes = _provider_classes()
    for cls in classes:
        if cls.limits(model).claims(model):
            return cls
    return next((cls for cls in classes if cls.runs_here), None)


def validate(
    data: Annotated[Path, typer.Argument(help="Training data: JSONL, JSON, CSV/TSV or Parquet.")],
    model: Annotated[str | None, typer.Option("--model", "-m", help="Base model (limits, tokenizer, price).")] = None,
    format: Annotated[
        str | None, typer.Option("--format", "-f", help="Input format (openai, sharegpt, alpaca, dpo, ...).")
    ] = None,
    provider: Annotated[
        str | None,
        typer.Option("--provider", "-p", help="An installed provider (default: the one the model belongs to)."),
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
        from tunekit.registry import get_provider_class

        columns = _columns(column)
        model_name = model or "gpt-4o-mini"
        # An unknown --provider is an error (exit 2), never a silent pass with no limits.
        profile = get_provider_class(provider) if provider else _default_provider(model_name)
        provider_name = provider or (profile.name if profile is not None else "none")
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
        report = validate_data(config, profile=profile)
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
        from tunekit.data import TARGETS, detect_format, read_examples, write_examples
        from tunekit.data.formats import canonical_format
        from tunekit.errors import ConfigError

        target = to.lower()
        if target not in _TARGETS:
            raise ConfigError(f"--to must be one of {', '.join(_TARGETS)}, not {to!r}")
        columns = _columns(column)
        fmt = canonical_format(format) if format else detect_format(data, columns=columns)
        preference = fmt in ("openai-preference", "dpo")
        if f"{target}-preference" in TARGETS and preference:  # the writer's preference flavour of the format
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
    """What the run would cost on each installed provider, side by side: tokens, epochs, price, time, memory.

    Estimating needs no credentials: nothing is sent anywhere.
    """
    with _cli_errors():
        from tunekit.config import load_config

        cfg = load_config(config, credentials=False)
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
    """Count tokens once per token counter and price the run on every installed provider (the config's first)."""
    from tunekit.data import estimate_cost, validate_data
    from tunekit.errors import DataError
    from tunekit.registry import get_provider_class

    own = get_provider_class(cfg.provider)
    classes = [own, *(cls for cls in _provider_classes() if cls.name != own.name)]
    stats_by_counter: dict[str, Any] = {}
    rows = []
    for cls in classes:
        variant = cfg.model_copy(
            update={"provider": cls.name, "provider_options": cfg.provider_options if cls is own else {}}
        )
        counter = cls.token_counter(cfg.model)
        family = counter.name if counter is not None else "model tokenizer"
        if family not in stats_by_counter:
            report = validate_data(variant, profile=cls, counter=counter, estimate=False)
            if cls is own and not report.ok:
                first = report.first_error()
                raise DataError(
                    f"{first.message if first else 'invalid data'} (run `tunekit validate` for every finding)",
                    file=first.file if first else None,
                    line=first.line if first else None,
                    field=first.field if first else None,
                    report=report,
                )
            stats_by_counter[family] = report.tokens
        stats = stats_by_counter[family]
        if stats is not None:
            rows.append(estimate_cost(variant, stats, cls, others=[c for c in classes if c is not cls]))
    return rows


# Columns after "provider" and "cost", least needed first: dropped in this order when the terminal is narrow,
# so that money is never cut short.
_COLUMNS = ("tok/epoch", "GiB LoRA", "examples", "time", "epochs", "host/h", "billed tok")


def _cells(r: CostEstimate) -> dict[str, str]:
    if r.unavailable is not None:
        return {"cost": "n/a", **dict.fromkeys(_COLUMNS, "-")}
    return {
        "examples": f"{r.examples:,}",
        "tok/epoch": f"{r.tokens_per_epoch:,}",
        "epochs": f"{r.epochs}{'' if r.epochs_source == 'config' else ' auto'}",
        "billed tok": f"{r.billed_tokens:,}",
        "cost": "-" if r.total is None else f"{r.total:,.2f}",
        "time": "-" if r.hours is None else f"{r.hours:.2f}h",
        "host/h": "-" if r.hosting_per_hour is None else f"{r.hosting_per_hour:.2f}",
        "GiB LoRA": "-" if r.memory is None else f"{r.memory.lora_gib:.1f}",
    }


def _fitting_columns(names: list[str], cells: list[dict[str, str]], width: int) -> list[str]:
    """The columns (in table order) that fit ``width``, dropping the least needed first."""
    order = ["examples", "tok/epoch", "epochs", "billed tok", "cost", "time", "host/h", "GiB LoRA"]

    def needed(column: str) -> int:
        return max(len(column), *(len(c[column]) for c in cells)) + 3  # rich's padding and border

    keep = set(order)
    provider_width = max(len("provider"), *(len(n) for n in names)) + 4
    for column in _COLUMNS:
        if provider_width + sum(needed(c) for c in keep) <= width:
            break
        keep.discard(column)
    return [c for c in order if c in keep]


def _print_estimates(cfg: TuneConfig, rows: list[CostEstimate]) -> None:
    from rich.table import Table

    names = [r.provider + ("*" if r.provider == cfg.provider else "") for r in rows]
    cells = [_cells(r) for r in rows]
    # Piped output has no terminal width: use 120 rather than rich's default of 80.
    width = console.width if console.is_terminal else 120
    columns = _fitting_columns(names, cells, width)
    table = Table(title=f"{cfg.model} · {cfg.method} · {cfg.data.train}", title_justify="left", expand=False)
    table.add_column("provider", no_wrap=True)
    for column in columns:
        table.add_column(column, justify="right", no_wrap=True)
    for name, row in zip(names, cells, strict=True):
        table.add_row(name, *(row[c] for c in columns))
    console.print(table, width=max(width, 40), crop=False)
    currency = rows[0].currency if rows else "USD"
    console.print(f"* the config's provider; money in {currency}", markup=False, highlight=False)
    for r in rows:
        if r.unavailable is not None:
            console.print(f"  {r.provider}: {r.unavailable}", markup=False, highlight=False)
            continue
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
        if r.prices_as_of:
            source = f" ({r.prices_source})" if r.prices_source else ""
            console.print(f"  {r.provider}: prices as of {r.prices_as_of}{source}", markup=False, highlight=False)
    console.print(
        "prices: each provider's prices.yaml; override rows in $TUNEKIT_HOME/prices.yaml", markup=False, highlight=False
    )
