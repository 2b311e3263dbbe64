"""``tunekit autotrain import``: an AutoTrain Advanced YAML config as the equivalent tunekit config.

Contributed to the ``tunekit`` CLI through the ``tunekit.cli`` entry-point group.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="AutoTrain Advanced configs.", no_args_is_help=True, rich_markup_mode="rich")
    group.command("import")(import_config)
    app.add_typer(group, name="autotrain")


def _relocate(config: dict[str, Any], source_dir: Path, target_dir: Path) -> None:
    """Keep relative data paths pointing at the same files from the output config's folder."""
    data = config.get("data") or {}
    for key in ("train", "validation"):
        value = data.get(key)
        if isinstance(value, str) and "://" not in value and not Path(value).is_absolute():
            data[key] = os.path.relpath((source_dir / value).resolve(), target_dir.resolve())


def import_config(
    path: Annotated[Path, typer.Argument(help="An AutoTrain YAML config (task: llm-sft, llm-dpo, ...).")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the tunekit config here instead of printing it.")
    ] = None,
) -> None:
    """Print the tunekit config equivalent to an AutoTrain config; ``${VAR}`` references are kept."""
    import yaml
    from pydantic import ValidationError

    from tunekit.plugin import ConfigError, TuneConfig, console, err_console, format_validation_error
    from tunekit_autotrain.options import AutoTrainOptions
    from tunekit_autotrain.yaml_import import autotrain_to_tunekit, read_autotrain_yaml

    converted = autotrain_to_tunekit(read_autotrain_yaml(path), base_dir=path.parent, source=path)
    try:
        TuneConfig.model_validate(converted)
        AutoTrainOptions.model_validate(converted.get("provider_options") or {})
    except ValidationError as exc:
        problems = format_validation_error(exc)
        raise ConfigError("the converted config is not valid", source=path, problems=problems) from None
    if output is not None:
        _relocate(converted, path.parent, output.parent)
    text = f"# tunekit config converted from the AutoTrain config {path.name}\n"
    text += yaml.safe_dump(converted, sort_keys=False, allow_unicode=True)
    if output is None:
        console.print(text, markup=False, highlight=False, end="")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    err_console.print(f"wrote {output}", highlight=False)
