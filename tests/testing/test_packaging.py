"""The emulators are their own distribution: the core runs without them and registers nothing for pytest."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

PROVIDERS = ("openai", "azure", "autotrain", "local", "together")

# Runs the CLI in a child where tunekit-emulators is not installed: its modules cannot be imported
# and its distribution (with its entry points) is absent from the package metadata.
WITHOUT_EMULATORS = textwrap.dedent(
    """
    import importlib.abc, importlib.metadata as md, sys

    class Hidden(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "tunekit_emulators" or name.startswith("tunekit_emulators."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Hidden())
    everything = md.distributions
    md.distributions = lambda **kw: (d for d in everything(**kw) if d.metadata["Name"] != "tunekit-emulators")

    from tunekit.cli.app import main
    sys.argv = ["tunekit", *sys.argv[1:]]
    main()
    """
)


def _tunekit_without_emulators(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_EMULATORS, *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )


@pytest.mark.slow
def test_the_cli_runs_without_the_emulators(tmp_path: Path) -> None:
    (tmp_path / "train.jsonl").write_text(
        '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}\n' * 10
    )
    helped = _tunekit_without_emulators("--help", cwd=tmp_path)
    assert helped.returncode == 0, helped.stderr
    assert "validate" in helped.stdout and "emulate" not in helped.stdout
    assert "not loaded" not in helped.stderr  # an absent plugin is not a broken one

    checked = _tunekit_without_emulators(
        "validate", "train.jsonl", "--provider", "openai", "--model", "gpt-4o-mini-2024-07-18", cwd=tmp_path
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr

    missing = _tunekit_without_emulators("emulate", "openai", cwd=tmp_path)
    assert missing.returncode == 2 and "No such command" in missing.stderr


def test_the_emulators_contribute_their_command_and_fixtures() -> None:
    core = metadata.distribution("tunekit").entry_points
    assert not [ep for ep in core if ep.group == "pytest11"], "the core must not load a pytest plugin for every user"
    emulators = metadata.distribution("tunekit-emulators").entry_points
    assert {(ep.group, ep.value) for ep in emulators} >= {
        ("pytest11", "tunekit_emulators.pytest_plugin"),
        ("tunekit.cli", "tunekit_emulators.cli:register"),
    }


ROOT = Path(__file__).resolve().parents[2]
DISTRIBUTIONS = ["pyproject.toml", "emulators/pyproject.toml", *(f"providers/{p}/pyproject.toml" for p in PROVIDERS)]


@pytest.mark.parametrize("pyproject", DISTRIBUTIONS)
def test_the_version_is_written_once(pyproject: str) -> None:
    project = tomllib.loads((ROOT / pyproject).read_text(encoding="utf-8"))
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    source = (ROOT / pyproject).parent / project["tool"]["hatch"]["version"]["path"]
    assert source.resolve() == ROOT / "tunekit" / "__init__.py"


def test_one_version_for_every_distribution() -> None:
    import tunekit
    import tunekit_local

    names = [
        "tunekit",
        "tunekit-emulators",
        "tunekit-openai",
        "tunekit-azure",
        "tunekit-autotrain",
        "tunekit-local",
        "tunekit-together",
    ]
    assert {name: metadata.version(name) for name in names} == dict.fromkeys(names, tunekit.__version__)
    assert tunekit_local.__version__ == tunekit.__version__
