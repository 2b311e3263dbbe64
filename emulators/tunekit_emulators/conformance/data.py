"""Files a conformance check (or any test) writes: JSON Lines data, YAML configs, chat rows."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

__all__ = ["ConfigWriter", "chat_rows", "write_jsonl", "write_yaml"]

ConfigWriter = Callable[..., Path]
"""A fixture that writes a tune.yaml from keyword fields (``make(tracking={...})``) and returns its path."""


def write_jsonl(path: Path, rows: Iterable[Any]) -> Path:
    """Write ``rows`` to ``path`` (creating its folder), one JSON value per line, UTF-8; returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def write_yaml(path: Path, config: dict[str, Any]) -> Path:
    """Write a config mapping as YAML; returns ``path``."""
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def chat_rows(n: int) -> list[dict[str, Any]]:
    """``n`` distinct three-message conversations (system, user, assistant) that pass every provider's checks."""
    return [
        {
            "messages": [
                {"role": "system", "content": "You name capitals."},
                {"role": "user", "content": f"What is the capital of country {i}?"},
                {"role": "assistant", "content": f"The capital of country {i} is City{i}."},
            ]
        }
        for i in range(n)
    ]
