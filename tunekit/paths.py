"""Where tunekit keeps its files: ``$TUNEKIT_HOME`` (the ledger, run folders, caches).

A bottom-layer module: the ledger, the data layer's tokenizer cache and the
model loaders all find their folders here without importing one another.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir", "tunekit_home"]


def tunekit_home() -> Path:
    """``$TUNEKIT_HOME``, or ``~/.tunekit``."""
    return Path(os.environ.get("TUNEKIT_HOME") or Path.home() / ".tunekit").expanduser()


def cache_dir(*parts: str) -> Path:
    """A folder under ``$TUNEKIT_HOME/cache`` (not created)."""
    return tunekit_home().joinpath("cache", *parts)
