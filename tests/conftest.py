"""Test isolation: every test gets its own tunekit home and runs offline."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

# A test session started in the background by a non-interactive shell inherits SIGINT ignored, and so would
# every tunekit process a test starts: the Ctrl-C tests would send a signal nobody hears. With a handler
# here, children start with SIGINT at its default, as under a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def tunekit_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private $TUNEKIT_HOME, so no test sees another's runs or the user's."""
    home = tmp_path_factory.mktemp("tunekit-home")
    monkeypatch.setenv("TUNEKIT_HOME", str(home))
    yield home
