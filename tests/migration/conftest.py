"""Sources and targets for migration tests: runs on the OpenAI emulator, configs for other models and providers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tunekit_emulators.conformance.data import write_jsonl
from tunekit_emulators.openai import OpenAIEmulator

FAST = {"poll_interval": 0.02, "file_poll_interval": 0.01, "retry_max_wait": 0.05, "max_retries": 3, "timeout": 5}


def rows(n: int, *, start: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "messages": [
                {"role": "system", "content": "You name capitals."},
                {"role": "user", "content": f"What is the capital of country {i}?"},
                {"role": "assistant", "content": f"City{i}"},
            ]
        }
        for i in range(start, start + n)
    ]


ConfigWriter = Callable[..., Path]


@pytest.fixture
def openai_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, openai_emulator: OpenAIEmulator) -> ConfigWriter:
    """``openai_config(name, model=...)``: a config on the OpenAI emulator; eval items repeat training prompts."""
    monkeypatch.setenv("OPENAI_API_KEY", openai_emulator.api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", openai_emulator.base_url)
    write_jsonl(tmp_path / "train.jsonl", rows(12))
    write_jsonl(tmp_path / "eval.jsonl", rows(6))

    def make(name: str, *, model: str = "gpt-4o-mini-2024-07-18", **fields: Any) -> Path:
        config: dict[str, Any] = {
            "name": name,
            "provider": "openai",
            "model": model,
            "data": {"train": "train.jsonl"},
            "hyperparameters": {"epochs": 1},
            "eval": {"data": "eval.jsonl", "metrics": ["exact_match"], "max_new_tokens": 16},
            "provider_options": {"base_url": openai_emulator.base_url, **FAST},
            **fields,
        }
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        return path

    return make
