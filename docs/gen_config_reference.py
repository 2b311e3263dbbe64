"""Render the config's JSON Schema as Markdown: the configuration reference.

Used two ways:

* as an mkdocs hook (``hooks:`` in ``mkdocs.yml``): ``reference/configuration.md``
  is generated at build time from ``TuneConfig.model_json_schema()``, and a
  ``<!-- provider-options: NAME -->`` marker in any page is replaced by the
  table of that provider's ``Options`` model, so the docs cannot fall behind
  the code;
* ``<!-- cli-reference -->`` is replaced by every ``tunekit`` command with its
  arguments and options, read from the typer application;
* as a script: ``python docs/gen_config_reference.py [--provider NAME | --cli]``
  prints the same Markdown.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
from typing import Any

REFERENCE_PAGE = "reference/configuration.md"
OPTIONS_MARKER = re.compile(r"<!--\s*provider-options:\s*([A-Za-z0-9_.-]+)\s*-->")
CLI_MARKER = re.compile(r"<!--\s*cli-reference\s*-->")
CODES_MARKER = re.compile(r"<!--\s*finding-codes\s*-->")
PRICES_MARKER = re.compile(r"<!--\s*provider-prices:\s*([A-Za-z0-9_.-]+)\s*-->")

log = logging.getLogger("mkdocs.hooks.config_reference")

Schema = dict[str, Any]


def _resolve(node: Schema, defs: Schema) -> tuple[str | None, Schema]:
    """Follow a ``$ref`` into ``$defs``: (definition name, definition)."""
    ref = node.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        return name, defs[name]
    return None, node


def _type_of(node: Schema, defs: Schema) -> str:
    """A short human type: ``int | "auto"``, ``list[str]``, ``secret``, ``Hyperparameters``."""
    if "anyOf" in node:
        parts = [_type_of(option, defs) for option in node["anyOf"]]
        return " | ".join(dict.fromkeys(parts))
    name, target = _resolve(node, defs)
    if name is not None:
        return f"[{name}](#{name.lower()})" if target.get("type") == "object" and "properties" in target else name
    if "const" in node:
        return json.dumps(node["const"])
    if "enum" in node:
        return " | ".join(json.dumps(value) for value in node["enum"])
    kind = node.get("type")
    if kind == "string" and node.get("format") == "password":
        return "secret"
    if kind == "array":
        return f"list[{_type_of(node.get('items', {}), defs)}]"
    if kind == "object":
        extra = node.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            return f"map[str, {_type_of(extra, defs)}]"
        return "mapping"
    names = {"integer": "int", "number": "float", "boolean": "bool", "string": "str", "null": "null"}
    return names.get(str(kind), str(kind or "any"))


def _default_of(node: Schema, required: bool) -> str:
    if required:
        return "**required**"
    if "default" not in node:
        return ""
    return f"`{json.dumps(node['default'])}`"


def _limits_of(node: Schema) -> str:
    words = {"exclusiveMinimum": "> ", "minimum": "≥ ", "exclusiveMaximum": "< ", "maximum": "≤ "}
    found = [f"{words[key]}{node[key]}" for key in words if key in node]
    for option in node.get("anyOf", []):
        found += [f"{words[key]}{option[key]}" for key in words if key in option]
    return f" ({', '.join(found)})" if found else ""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _section(title: str, path: str, node: Schema, defs: Schema, level: int) -> tuple[list[str], list[tuple[str, str]]]:
    """One object's table, and the nested objects it links to, as (definition name, dotted path)."""
    lines = [f"{'#' * level} {title}", ""]
    if path:
        lines += [f"Key: `{path}`", ""]
    if node.get("description"):
        lines += [node["description"], ""]
    lines += ["| key | type | default | description |", "|---|---|---|---|"]
    required = set(node.get("required", []))
    nested: list[tuple[str, str]] = []
    for key, prop in node.get("properties", {}).items():
        for option in [prop, *prop.get("anyOf", [])]:
            name, target = _resolve(option, defs)
            if name is not None and target.get("type") == "object" and "properties" in target:
                nested.append((name, f"{path}.{key}" if path else key))
        description = prop.get("description", "")
        row = [
            f"`{key}`",
            _cell(_type_of(prop, defs)),
            _default_of(prop, key in required),
            _cell(description + _limits_of(prop)),
        ]
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    return lines, nested


def render_schema(schema: Schema, title: str, *, root_path: str = "", level: int = 2) -> str:
    """Markdown tables for an object schema and every object section it references."""
    defs = schema.get("$defs", {})
    lines, queue = _section(title, root_path, schema, defs, level)
    seen: set[str] = set()
    while queue:
        name, path = queue.pop(0)
        if name in seen:
            continue
        seen.add(name)
        section_lines, nested = _section(name, path, defs[name], defs, level + 1)
        lines += section_lines
        queue += nested
    return "\n".join(lines).rstrip() + "\n"


def config_reference() -> str:
    """The configuration reference page, from ``TuneConfig.model_json_schema()``."""
    from tunekit.config import TuneConfig

    intro = [
        "# Configuration reference",
        "",
        "<!-- Generated by docs/gen_config_reference.py from TuneConfig.model_json_schema(); do not edit. -->",
        "",
        "Every key a config file may hold. Unknown keys are errors, reported with their full",
        "path. Strings may read the environment with `${VAR}` or `${VAR:-default}`.",
        "`provider_options` is checked by the chosen provider's own model: see each",
        "[provider's page](../providers/index.md) for its keys, or print the schema with",
        "`tunekit schema --provider NAME`.",
        "",
        "The same schema, as JSON for editor completion: `tunekit schema > tune.schema.json`.",
        "",
    ]
    return "\n".join(intro) + "\n" + render_schema(TuneConfig.model_json_schema(), "TuneConfig (top level)")


def provider_options_reference(name: str) -> str:
    """The table of one provider's ``provider_options``, from its ``Options`` model."""
    from tunekit.registry import get_provider_class

    options = get_provider_class(name).Options
    return render_schema(options.model_json_schema(), "provider_options", root_path="provider_options", level=3)


def _cli_command(path: str, command: Any, level: int) -> list[str]:
    # Typer vendors its own click, so commands and parameters are told apart by their attributes.
    if getattr(command, "hidden", False):
        return []
    summary = (command.help or "").strip()
    lines = [f"{'#' * level} `{path}`", ""]
    if summary:
        lines += [summary, ""]
    if isinstance(getattr(command, "commands", None), dict):
        for name in sorted(command.commands):
            lines += _cli_command(f"{path} {name}", command.commands[name], level + 1)
        return lines
    arguments = [p for p in command.params if p.param_type_name == "argument"]
    options = [p for p in command.params if p.param_type_name == "option" and not p.hidden]
    usage = " ".join([path, *((a.name or "").upper() for a in arguments), "[OPTIONS]" if options else ""])
    lines += ["```", usage.strip(), "```", ""]
    if arguments or options:
        lines += ["| argument / option | description | default |", "|---|---|---|"]
    for param in arguments:
        help_text = getattr(param, "help", None) or ""
        metavar = (param.name or "").upper()
        lines.append(f"| `{metavar}` | {_cell(help_text)} | required |")
    for param in options:
        names = ", ".join(f"`{o}`" for o in [*param.opts, *param.secondary_opts])
        default = "" if param.is_flag or param.default is None else f"`{param.default}`"
        lines.append(f"| {names} | {_cell(param.help or '')} | {default} |")
    lines.append("")
    return lines


def cli_reference() -> str:
    """Every ``tunekit`` command with its arguments and options, from the typer application."""
    import typer.main

    from tunekit.cli.app import app

    root = typer.main.get_command(app)
    lines: list[str] = []
    for name in sorted(root.commands):  # type: ignore[attr-defined]
        lines += _cli_command(f"tunekit {name}", root.commands[name], 2)  # type: ignore[attr-defined]
    return "\n".join(lines).rstrip() + "\n"


def finding_codes_reference() -> str:
    """Every validation finding code with its severity and meaning, from ``tunekit.data.CODES``."""
    from tunekit.data import CODES

    lines = ["| code | severity | meaning |", "|---|---|---|"]
    order = {"error": 0, "warning": 1, "info": 2}
    for code, (severity, meaning) in sorted(CODES.items(), key=lambda item: (order.get(item[1][0], 3), item[0])):
        lines.append(f"| `{code}` | {severity} | {_cell(meaning)} |")
    return "\n".join(lines) + "\n"


def prices_reference(provider: str) -> str:
    """The price table a provider ships (``<its package>/prices.yaml``), as Markdown, each row with its date."""
    from tunekit.data.tables import provider_table
    from tunekit.registry import get_provider_class

    package = get_provider_class(provider).__module__.split(".")[0]
    table = provider_table(package, "prices", provider)
    rows: dict[str, dict[str, Any]] = table.get("models") or table.get("flavors") or {}
    if not rows:
        raise ValueError(f"{package}/prices.yaml has no models or flavors")
    columns = [c for c in dict.fromkeys(key for row in rows.values() for key in row) if c not in ("as_of", "source")]
    first = "model" if "models" in table else "hardware flavor"
    lines = [
        "| " + " | ".join([first, *(c.replace("_", " ") for c in columns), "as of"]) + " |",
        "|" + "---|" * (len(columns) + 2),
    ]
    for name, row in rows.items():
        cells = ["" if row.get(c) is None else str(row[c]) for c in columns]
        source = row.get("source") or table.get("source")
        dated = f"{row.get('as_of') or table.get('as_of')}" + (f" ([source]({source}))" if source else "")
        lines.append("| " + " | ".join([f"`{name}`", *cells, dated]) + " |")
    note = f"List prices in {table.get('currency', 'USD')}"
    note += (
        "; 'per 1m' columns are per million tokens. Your agreement may differ: override rows in "
        f"`$TUNEKIT_HOME/prices.yaml` under `providers: {{{provider}: ...}}`."
    )
    return "\n".join([*lines, "", note]) + "\n"


# -- mkdocs hooks -------------------------------------------------------------


def on_files(files: Any, config: Any) -> Any:
    """Add the generated configuration reference to the site."""
    from mkdocs.structure.files import File

    files.append(File.generated(config, REFERENCE_PAGE, content=config_reference()))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Replace ``<!-- provider-options: NAME -->`` with that provider's options table."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        try:
            return provider_options_reference(name)
        except Exception as exc:  # a missing provider fails a strict build, with the reason
            log.warning("%s: cannot render provider_options of %r: %s", page.file.src_uri, name, exc)
            return f"*The options of `{name}` could not be rendered: install its package to build these docs.*\n"

    def replace_prices(match: re.Match[str]) -> str:
        try:
            return prices_reference(match.group(1))
        except Exception as exc:  # a missing entry fails a strict build, with the reason
            log.warning("%s: cannot render the prices of %r: %s", page.file.src_uri, match.group(1), exc)
            return ""

    markdown = OPTIONS_MARKER.sub(replace, markdown)
    markdown = PRICES_MARKER.sub(replace_prices, markdown)
    if CODES_MARKER.search(markdown):
        markdown = CODES_MARKER.sub(lambda _: finding_codes_reference(), markdown)
    if CLI_MARKER.search(markdown):
        markdown = CLI_MARKER.sub(lambda _: cli_reference(), markdown)
    return markdown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print the configuration reference as Markdown.")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--provider", help="print this provider's provider_options instead")
    what.add_argument("--cli", action="store_true", help="print the command-line reference instead")
    args = parser.parse_args(argv)
    if args.cli:
        print(cli_reference(), end="")
    elif args.provider:
        print(provider_options_reference(args.provider), end="")
    else:
        print(config_reference(), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
