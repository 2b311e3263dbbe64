"""The built-in providers are plugins like a third party's: they reach the core only through tunekit.plugin."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PROVIDERS = Path(__file__).resolve().parents[2] / "providers"
PACKAGES = sorted(p for p in PROVIDERS.glob("*/tunekit_*") if p.is_dir())


def _core_imports(path: Path) -> list[str]:
    """Modules of the core (``tunekit.<module>``) that a file imports, deferred and type-only imports included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            continue
        found += [
            f"{path.name}:{node.lineno} {m}" for m in modules if m.startswith("tunekit.") and m != "tunekit.plugin"
        ]
    return found


def test_every_provider_package_is_found() -> None:
    built_in = {"tunekit_openai", "tunekit_azure", "tunekit_autotrain", "tunekit_local", "tunekit_fireworks"}
    assert {p.name for p in PACKAGES} >= built_in


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_providers_import_only_the_plugin_interface(package: Path) -> None:
    offending = [hit for path in sorted(package.rglob("*.py")) for hit in _core_imports(path)]
    assert not offending, "import these through tunekit.plugin (add them to its exports):\n" + "\n".join(offending)


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_providers_ship_their_types(package: Path) -> None:
    assert (package / "py.typed").is_file()
