"""Type checkers see every public name: none of them is ``Any``.

``tunekit`` and ``tunekit.plugin`` load their names lazily (a module
``__getattr__``), which a type checker reads as ``Any`` for any name not
re-exported in the ``TYPE_CHECKING`` block, and then everything it returns
is untyped too. mypy's ``reveal_type`` over every name in ``__all__`` finds
each one missed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import tunekit
import tunekit.plugin

ROOT = Path(__file__).resolve().parents[2]


def _reveal(header: str, expressions: list[str], tmp_path: Path) -> dict[str, str]:
    """mypy's revealed type of each expression, evaluated after ``header`` (one line)."""
    probe = tmp_path / "probe_public_types.py"
    probe.write_text(header + "\n" + "".join(f"reveal_type({expression})\n" for expression in expressions))
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), "--no-error-summary", str(probe)],
        cwd=ROOT,
        # editable installs hide the built-in providers from mypy: point it at their sources
        env={**os.environ, "MYPYPATH": os.pathsep.join(str(p) for p in sorted((ROOT / "providers").iterdir()))},
        capture_output=True,
        text=True,
    )
    revealed: dict[int, str] = {}
    for line in proc.stdout.splitlines():
        match = re.match(rf"{re.escape(str(probe))}:(\d+): note: Revealed type is \"(.*)\"$", line)
        if match:
            revealed[int(match.group(1))] = match.group(2)
    assert len(revealed) == len(expressions), proc.stdout + proc.stderr
    return {expression: revealed[line] for line, expression in enumerate(expressions, start=header.count("\n") + 2)}


@pytest.mark.slow  # runs mypy over the package (minutes without its cache)
@pytest.mark.parametrize("module", [tunekit, tunekit.plugin], ids=lambda m: m.__name__)
def test_no_public_name_is_any_to_type_checkers(module: ModuleType, tmp_path: Path) -> None:
    names = [name for name in module.__all__ if name != "__version__"]
    revealed = _reveal(f"import {module.__name__}", [f"{module.__name__}.{name}" for name in names], tmp_path)
    untyped = sorted(name for name, kind in revealed.items() if kind == "Any")
    assert not untyped, f"{module.__name__} names that type checkers see as Any: {untyped}"


@pytest.mark.slow
def test_provider_options_are_typed_by_the_type_parameter(tmp_path: Path) -> None:
    header = (
        "from pydantic import BaseModel; from tunekit.plugin import Provider; "
        "from tunekit_local.provider import LocalProvider; from tunekit_azure.provider import AzureProvider\n"
        "class ToyOptions(BaseModel): speed: int = 1\n"
        "class Toy(Provider[ToyOptions]): Options = ToyOptions\n"
        "def some_provider() -> Provider: return Toy()\n"
        "toy: Toy; local: LocalProvider; azure: AzureProvider"
    )
    probe = ["toy.options", "toy.options.speed", "local.options", "azure.options", "some_provider().options"]
    revealed = list(_reveal(header, probe, tmp_path).values())
    assert revealed[:4] == [
        "probe_public_types.ToyOptions",
        "int",
        "tunekit_local.options.LocalOptions",
        "tunekit_azure.options.AzureOptions",
    ]
    assert revealed[4] == "pydantic.main.BaseModel"  # a provider whose options the holder does not know
