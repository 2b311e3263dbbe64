"""The documentation: references generated from the code at build time, and a strict mkdocs build."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from pydantic import BaseModel

from tunekit.config import TuneConfig
from tunekit.registry import installed_providers

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_config_reference", DOCS / "gen_config_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sections(model: type[BaseModel], prefix: str = "") -> dict[str, set[str]]:
    """Every config section's dotted path and its keys, walking nested models."""
    found = {prefix: set(model.model_fields)}
    for name, field in model.model_fields.items():
        for arg in [field.annotation, *getattr(field.annotation, "__args__", ())]:
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                found.update(_sections(arg, f"{prefix}.{name}" if prefix else name))
    return found


def test_config_reference_documents_every_key(gen: ModuleType) -> None:
    page = gen.config_reference()
    for path, keys in _sections(TuneConfig).items():
        if path:
            assert f"Key: `{path}`" in page, f"no section for {path}"
        for key in keys:
            assert f"| `{key}` |" in page, f"{path or 'top level'}.{key} is missing from the reference"
    assert "**required**" in page


def test_config_reference_shows_types_defaults_and_limits(gen: ModuleType) -> None:
    page = gen.config_reference()
    assert '| `method` | "sft" \\| "dpo" \\| "rft" | `"sft"` |' in page
    assert '| `epochs` | int \\| "auto" | `"auto"` |' in page
    assert "(> 0, < 1)" in page  # validation_split's bounds


@pytest.mark.parametrize("info", [i for i in installed_providers() if i.ok], ids=lambda i: i.name)
def test_provider_options_reference_documents_every_option(gen: ModuleType, info: object) -> None:
    from tunekit.registry import get_provider_class

    name = info.name  # type: ignore[attr-defined]
    schema = get_provider_class(name).Options.model_json_schema()
    page = gen.provider_options_reference(name)
    assert schema.get("properties"), f"{name}: its Options model has no documented keys"
    for key in schema["properties"]:  # fields hidden from the schema (SkipJsonSchema) are not options
        assert f"| `{key}` |" in page, f"{name}: provider_options.{key} is missing"


def test_secret_options_are_shown_as_secrets(gen: ModuleType) -> None:
    page = gen.provider_options_reference("openai")
    assert "| `api_key` | secret \\| null |" in page


def test_cli_reference_lists_every_command(gen: ModuleType) -> None:
    import typer.main

    from tunekit.cli.app import app

    page = gen.cli_reference()
    for name in typer.main.get_command(app).commands:  # type: ignore[attr-defined]
        assert f"## `tunekit {name}`" in page
    assert "| `--yes`, `-y` |" in page


def test_finding_codes_reference_lists_every_code(gen: ModuleType) -> None:
    from tunekit.data import CODES

    page = gen.finding_codes_reference()
    for code in CODES:
        assert f"| `{code}` |" in page


def test_every_docs_page_is_in_the_navigation() -> None:
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    # mkdocs.yml may use !!python/name tags in plugins; only the nav matters here.
    Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: None)
    nav = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=Loader)["nav"]

    def pages(items: object) -> set[str]:
        found: set[str] = set()
        if isinstance(items, list):
            for item in items:
                found |= pages(item)
        elif isinstance(items, dict):
            for value in items.values():
                found |= pages(value)
        elif isinstance(items, str):
            found.add(items)
        return found

    listed = pages(nav)
    on_disk = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    assert on_disk <= listed, f"pages missing from mkdocs.yml nav: {sorted(on_disk - listed)}"
    assert "reference/configuration.md" in listed  # generated at build time


@pytest.mark.slow
def test_docs_build_strictly(tmp_path: Path) -> None:
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    reference = (site / "reference" / "configuration" / "index.html").read_text()
    assert "validation_split" in reference and "max_new_tokens" in reference
    openai_page = (site / "providers" / "openai" / "index.html").read_text()
    assert "file_processing_timeout" in openai_page  # the options table was rendered into the page
    assert "gpt-4.1-nano" in openai_page  # and the price table


def test_quickstart_shows_the_demo_config_as_it_is() -> None:
    import re

    import yaml

    text = (DOCS / "quickstart.md").read_text()
    block = re.search(r"```yaml\n(# examples/recipes/local.yaml\n.*?)```", text, re.S)
    assert block is not None
    shown = yaml.safe_load(block.group(1))
    actual = yaml.safe_load((ROOT / "examples" / "recipes" / "local.yaml").read_text())
    assert shown == actual
