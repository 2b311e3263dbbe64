"""Fixtures for the Together provider's tests, all against the Together emulator over loopback HTTP."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tunekit_emulators.conformance.data import chat_rows, write_jsonl
from tunekit_emulators.together import TogetherEmulator

MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"  # its LoRA adapters answer on Together's serverless API
FAST = {"poll_interval": 0.02, "retry_max_wait": 0.05, "max_retries": 4, "timeout": 10}

ConfigFactory = Callable[..., Path]


def preference_rows(n: int) -> list[dict[str, Any]]:
    return [
        {
            "input": {"messages": [{"role": "user", "content": f"Greet guest number {i}"}]},
            "preferred_output": [{"role": "assistant", "content": f"Welcome, guest {i}!"}],
            "non_preferred_output": [{"role": "assistant", "content": "What do you want?"}],
        }
        for i in range(n)
    ]


@pytest.fixture
def make_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ConfigFactory:
    """Write a tune.yaml for the emulator; the key comes from TOGETHER_API_KEY as in real use."""

    def make(emu: TogetherEmulator, *, method: str = "sft", name: str = "tune.yaml", **fields: Any) -> Path:
        monkeypatch.setenv("TOGETHER_API_KEY", emu.api_key)
        folder = tmp_path / name.removesuffix(".yaml")
        folder.mkdir(exist_ok=True)
        rows = preference_rows(12) if method == "dpo" else chat_rows(12)
        train = write_jsonl(folder / "train.jsonl", rows)
        options = {"base_url": emu.url, **FAST, **fields.pop("provider_options", {})}
        config: dict[str, Any] = {
            "provider": "together",
            "model": MODEL,
            "method": method,
            "data": {"train": train.name},
            "hyperparameters": {"epochs": 2},
            "suffix": "capitals",
            "provider_options": options,
            **fields,
        }
        path = folder / name
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        return path

    return make
