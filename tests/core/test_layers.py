"""The core is layered: no import cycle inside ``tunekit``, counting every import.

Function-local and ``TYPE_CHECKING`` imports count too: a cycle hidden behind
them is still a cycle (the modules cannot be understood, typed or moved one
without the other). grimp, import-linter's graph library, sees all three
kinds; the layers themselves are import-linter's contract in pyproject.toml
(``make lint`` runs it).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]


def import_cycles(package: str) -> list[list[str]]:
    """Every set of modules in ``package`` that import one another in a ring (Tarjan's components)."""
    graph = grimp.build_graph(package, exclude_type_checking_imports=False, cache_dir=None)
    modules = sorted(graph.modules)
    edges = {m: sorted(set(graph.find_modules_directly_imported_by(m)) & graph.modules) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in edges[module]:
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1 or module in edges[module]:
                cycles.append(sorted(component))

    for module in modules:
        if module not in index:
            visit(module)
    return cycles


def test_no_import_cycle_inside_tunekit() -> None:
    cycles = import_cycles("tunekit")
    assert not cycles, "import cycles (counting deferred and TYPE_CHECKING imports):\n" + "\n".join(
        " <-> ".join(cycle) for cycle in cycles
    )


def test_a_cycle_hidden_behind_deferred_and_type_only_imports_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "ringpkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "low.py").write_text(
        textwrap.dedent(
            """
            from typing import TYPE_CHECKING
            if TYPE_CHECKING:
                from ringpkg.high import High
            def use() -> None:
                from ringpkg.mid import thing
            """
        )
    )
    (package / "mid.py").write_text("from ringpkg.low import use\nthing = 1\n")
    (package / "high.py").write_text("class High: ...\n")
    (package / "alone.py").write_text("import ringpkg.high\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_cycles("ringpkg") == [["ringpkg.low", "ringpkg.mid"]]
    (package / "high.py").write_text("from ringpkg.low import use\nclass High: ...\n")
    assert import_cycles("ringpkg") == [["ringpkg.high", "ringpkg.low", "ringpkg.mid"]]


def test_import_linter_layers_contract_is_kept() -> None:
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
