"""The example plugin installed the way pip installs it (package metadata with its entry points), driven through
the `tunekit` command line: the core finds its provider, its cost row and its command without knowing its name."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "examples" / "plugin"
RECIPES = ROOT / "examples" / "recipes" / "data"

pytestmark = pytest.mark.slow


def _installed(site: Path) -> None:
    """What `pip install examples/plugin` leaves for importlib.metadata: a dist-info with the entry points."""
    info = site / "tunekit_nearest-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tunekit-nearest\nVersion: 0.1.0\n")
    project = PLUGIN / "pyproject.toml"
    import tomllib

    groups = tomllib.loads(project.read_text())["project"]["entry-points"]
    lines = []
    for group, entries in groups.items():
        lines.append(f"[{group}]")
        lines += [f"{name} = {target}" for name, target in entries.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")


def test_a_third_party_provider_gets_validate_estimate_run_watch_and_its_command(tmp_path: Path) -> None:
    site = tmp_path / "site"
    _installed(site)
    config = tmp_path / "nearest.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "provider": "nearest",
                "model": "nearest-base",
                "data": {"train": str(RECIPES / "train.jsonl"), "validation": str(RECIPES / "valid.jsonl")},
            }
        )
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), str(PLUGIN), os.environ.get("PYTHONPATH", "")]),
        "TUNEKIT_HOME": str(tmp_path / "home"),
        "COLUMNS": "200",
    }

    def tunekit(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tunekit.cli", *args], capture_output=True, text=True, env=env, timeout=300
        )

    providers = tunekit("providers", "--json")
    assert providers.returncode == 0, providers.stderr
    assert {"name": "nearest", "package": "tunekit-nearest"}.items() <= next(
        p for p in json.loads(providers.stdout) if p["name"] == "nearest"
    ).items()

    validated = tunekit("validate", str(RECIPES / "train.jsonl"), "--provider", "nearest", "--model", "nearest-base")
    assert validated.returncode == 0, validated.stderr + validated.stdout

    estimate = tunekit("estimate", str(config), "--json")
    assert estimate.returncode == 0, estimate.stderr
    [row] = [r for r in json.loads(estimate.stdout)["estimates"] if r["provider"] == "nearest"]
    assert row["total"] == 0.0 and row["prices_source"] == "tunekit-nearest: runs on this machine"

    ran = tunekit("run", str(config), "--yes", "--skip-eval")
    assert ran.returncode == 0, ran.stderr + ran.stdout
    watched = tunekit("watch", "latest")
    assert watched.returncode == 0, watched.stderr + watched.stdout

    memory = tunekit("nearest", "memory", "latest")
    assert memory.returncode == 0, memory.stderr
    assert "memorized" in memory.stdout and "question-answer pairs" in memory.stdout
