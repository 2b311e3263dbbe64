"""Fixtures for the OpenAI provider's tests (all against the emulator)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from openai_helpers import BASE_MODEL, FAST_OPTIONS, ConfigFactory, chat_rows, preference_rows

from tunekit_emulators.conformance.data import write_jsonl
from tunekit_emulators.openai import OpenAIEmulator


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
