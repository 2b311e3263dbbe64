"""Configs for the experiment tests (tracking, sweeps): the OpenAI and Azure emulators over real HTTP, stores in a
temp folder, W&B offline."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tunekit_emulators.azure import AzureOpenAIEmulator
from tunekit_emulators.conformance.data import ConfigWriter, chat_rows, write_jsonl, write_yaml
from tunekit_emulators.openai import OpenAIEmulator

FAST = {"poll_interval": 0.02, "file_poll_interval": 0.01, "retry_max_wait": 0.05, "timeout": 5}


def _config_writer(tmp_path: Path, provider: str, model: str, options: dict[str, Any]) -> ConfigWriter:
    """``make(name, **fields)``: a tune.yaml in ``tmp_path/work`` with 12 training and 4 validation chats."""
    folder = tmp_path / "work"
    folder.mkdir(exist_ok=True)
    write_jsonl(folder / "train.jsonl", chat_rows(12))
    write_jsonl(folder / "valid.jsonl", chat_rows(4))

    def make(name: str = "tune.yaml", **fields: Any) -> Path:
        config: dict[str, Any] = {
            "provider": provider,
            "model": model,
            "data": {"train": "train.jsonl", "validation": "valid.jsonl"},
            "hyperparameters": {"epochs": 2},
            "provider_options": {**options, **fields.pop("provider_options", {})},
            **fields,
        }
        return write_yaml(folder / name, config)

    return make


@pytest.fixture
def openai_config(openai_emulator: OpenAIEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ConfigWriter:
    """``openai_config(tracking={...}, sweep={...})``: a tune.yaml for the emulator, the key in the environment."""
    monkeypatch.setenv("OPENAI_API_KEY", openai_emulator.api_key)
    options = {"base_url": openai_emulator.base_url, **FAST}
    return _config_writer(tmp_path, "openai", "gpt-4o-mini-2024-07-18", options)


@pytest.fixture
def azure_config(azure_emulator: AzureOpenAIEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ConfigWriter:
    """``azure_config(tracking={...})``: a tune.yaml for the Azure emulator, whose metrics tunekit logs itself."""
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", azure_emulator.api_key)
    options = {"endpoint": azure_emulator.endpoint, "api_version": azure_emulator.api_version, **FAST}
    return _config_writer(tmp_path, "azure", "gpt-4.1-mini-2025-04-14", options)


@pytest.fixture
def wandb_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """W&B offline with no key, every folder it writes under ``tmp_path``; returns the folder of its runs."""
    for name in ("WANDB_API_KEY", "WANDB_IDENTITY_TOKEN_FILE", "WANDB_ENTITY", "WANDB_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wb"))
    # Staged artifact files and W&B's own settings go here too, not into the home folder.
    for name in ("WANDB_DATA_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR"):
        monkeypatch.setenv(name, str(tmp_path / "wb" / name.lower()))
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    (tmp_path / "wb").mkdir(exist_ok=True)
    yield tmp_path / "wb" / "wandb"
    import wandb

    # W&B reads its variables once per process session: the next test's folders start a new session.
    wandb.teardown()
