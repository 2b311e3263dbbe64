"""The training and validation examples a provider receives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["DatasetSplits"]


@dataclass
class DatasetSplits:
    """Validated canonical examples, split and shuffled as the config says."""

    train: list[Any]
    validation: list[Any] | None = None
    source: str | None = None
