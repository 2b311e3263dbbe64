"""Constants of the Fireworks provider's tests, importable by name (unlike a conftest)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

BASE_MODEL = "accounts/fireworks/models/llama-v3p1-8b-instruct"
FAST = {"poll_interval": 0.02, "retry_max_wait": 0.05, "timeout": 5}

ConfigFactory = Callable[..., Path]
