"""Configs for the experiment tests (tracking, sweeps): the OpenAI emulator over real HTTP, stores in a temp folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tunekit_emulators.conformance.data import ConfigWriter, chat_rows, write_jsonl, write_yaml
from tunekit_emulators.openai import OpenAIEmulator

FAST = {"poll_interval": 0.02, "file_poll_interval": 0.01, "retry_max_wait": 0.05, "timeout": 5}


@pytest.fixture
def openai_config(openai_emulator: OpenAIEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ConfigWriter:
    """``openai_config(tracking={...}, sweep={...})``: a tune.yaml for the emulator, the key in the environment."""
    monkeypatch.setenv("OPENAI_API_KEY", openai_emulator.api_key)
    folder = tmp_path / "work"
    folder.mkdir(exist_ok=True)
    write_jsonl(folder / "train.jsonl", chat_rows(12))
    write_jsonl(folder / "valid.jsonl", chat_rows(4))

    def make(name: str = "tune.yaml", **fields: Any) -> Path:
        options = {"base_url": openai_emulator.base_url, **FAST, **fields.pop("provider_options", {})}
        config: dict[str, Any] = {
            "provider": "openai",
            "model": "gpt-4o-mini-2024-07-18",
            "data": {"train": "train.jsonl", "validation": "valid.jsonl"},
            "hyperparameters": {"epochs": 2},
            "provider_options": options,
            **fields,
        }
        return write_yaml(folder / name, config)

    return make
