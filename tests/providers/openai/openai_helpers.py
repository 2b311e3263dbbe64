"""Data and config helpers for the OpenAI provider's tests, importable by name (unlike a conftest)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

BASE_MODEL = "gpt-4o-mini-2024-07-18"

# Fast polling and short retry waits keep fault storms quick; the policy is the real one.
FAST_OPTIONS = {
    "poll_interval": 0.02,
    "file_poll_interval": 0.01,
    "retry_max_wait": 0.05,
    "max_retries": 4,
    "create_attempts": 6,
    "timeout": 5,
}


def chat_rows(n: int, *, start: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "messages": [
                {"role": "system", "content": "You name capitals."},
                {"role": "user", "content": f"What is the capital of country {i}?"},
                {"role": "assistant", "content": f"The capital of country {i} is City{i}."},
            ]
        }
        for i in range(start, start + n)
    ]


def preference_rows(n: int) -> list[dict[str, Any]]:
    return [
        {
            "input": {"messages": [{"role": "user", "content": f"Greet guest number {i}"}]},
            "preferred_output": [{"role": "assistant", "content": f"Welcome, guest {i}!"}],
            "non_preferred_output": [{"role": "assistant", "content": "What do you want?"}],
        }
        for i in range(n)
    ]


ConfigFactory = Callable[..., Path]
