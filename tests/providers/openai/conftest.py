"""Data, configs and a ledger for the OpenAI provider's tests (all against the emulator)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tunekit.testing.openai import OpenAIEmulator

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


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


ConfigFactory = Callable[..., Path]


@pytest.fixture
def make_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ConfigFactory:
    """Write a tune.yaml for the emulator: ``make_config(emu, method="dpo", provider_options={...})``.

    The key comes from ``OPENAI_API_KEY`` as in real use: the ledger never stores it, so a later
    ``tunekit watch RUN`` finds it in the environment again.
    """

    def make(emu: OpenAIEmulator, *, method: str = "sft", name: str = "tune.yaml", **fields: Any) -> Path:
        monkeypatch.setenv("OPENAI_API_KEY", emu.api_key)
        folder = tmp_path / name.removesuffix(".yaml")
        folder.mkdir(exist_ok=True)
        if method == "dpo":
            train = write_jsonl(folder / "train.jsonl", preference_rows(12))
            validation = None
        else:
            train = write_jsonl(folder / "train.jsonl", chat_rows(12))
            validation = write_jsonl(folder / "valid.jsonl", chat_rows(4, start=100))
        options = {"base_url": emu.base_url, **FAST_OPTIONS}
        options.update(fields.pop("provider_options", {}))
        config: dict[str, Any] = {
            "provider": "openai",
            "model": BASE_MODEL,
            "method": method,
            "data": {"train": train.name, **({"validation": validation.name} if validation else {})},
            "hyperparameters": {"epochs": 2},
            "suffix": "capitals",
            "provider_options": options,
            **fields,
        }
        path = folder / name
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        return path

    return make
