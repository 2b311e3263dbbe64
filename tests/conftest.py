"""Test isolation: every test gets its own tunekit home and runs offline."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


@pytest.fixture(autouse=True)
def tunekit_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private $TUNEKIT_HOME, so no test sees another's runs or the user's."""
    home = tmp_path_factory.mktemp("tunekit-home")
    monkeypatch.setenv("TUNEKIT_HOME", str(home))
    yield home
