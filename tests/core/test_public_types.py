"""Type checkers see every public name: none of them is ``Any``.

``tunekit`` and ``tunekit.plugin`` load their names lazily (a module
``__getattr__``), which a type checker reads as ``Any`` for any name not
re-exported in the ``TYPE_CHECKING`` block, and then everything it returns
is untyped too. mypy's ``reveal_type`` over every name in ``__all__`` finds
each one missed.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import tunekit
import tunekit.plugin

ROOT = Path(__file__).resolve().parents[2]


def _revealed_types(module: str, names: list[str], tmp_path: Path) -> dict[str, str]:
    probe = tmp_path / "probe_public_types.py"
    probe.write_text(f"import {module}\n" + "".join(f"reveal_type({module}.{name})\n" for name in names))
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), "--no-error-summary", str(probe)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    revealed: dict[int, str] = {}
    for line in proc.stdout.splitlines():
        match = re.match(rf"{re.escape(str(probe))}:(\d+): note: Revealed type is \"(.*)\"$", line)
        if match:
            revealed[int(match.group(1))] = match.group(2)
    assert len(revealed) == len(names), proc.stdout + proc.stderr
    return {name: revealed[line] for line, name in enumerate(names, start=2)}


@pytest.mark.slow  # runs mypy over the package (minutes without its cache)
@pytest.mark.parametrize("module", [tunekit, tunekit.plugin], ids=lambda m: m.__name__)
def test_no_public_name_is_any_to_type_checkers(module: ModuleType, tmp_path: Path) -> None:
    names = [name for name in module.__all__ if name != "__version__"]
    revealed = _revealed_types(module.__name__, names, tmp_path)
    untyped = sorted(name for name, kind in revealed.items() if kind == "Any")
    assert not untyped, f"{module.__name__} names that type checkers see as Any: {untyped}"
