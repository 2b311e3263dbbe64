from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tunekit.registry import installed_providers


def test_builtin_providers_found_through_entry_points() -> None:
    infos = {i.name: i for i in installed_providers(load=False)}
    for name, package in {
        "openai": "tunekit-openai",
        "azure": "tunekit-azure",
        "autotrain": "tunekit-autotrain",
        "local": "tunekit-local",
    }.items():
        assert name in infos, f"{name} not registered"
        assert infos[name].package == package


def test_broken_provider_is_reported_not_fatal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dist = tmp_path / "broken_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[tunekit.providers]\nbroken = broken_plugin_mod:Provider\n")
    (tmp_path / "broken_plugin_mod.py").write_text("raise RuntimeError('plugin exploded on import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    infos = {i.name: i for i in installed_providers()}
    assert not infos["broken"].ok
    assert "plugin exploded on import" in (infos["broken"].error or "")
    assert infos["broken"].package == "broken-plugin"
    assert infos["memo"].ok
    sys.modules.pop("broken_plugin_mod", None)
