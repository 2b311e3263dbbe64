"""Fixtures for the Fireworks provider's tests (all against the emulator, driven by the real SDK)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fireworks_helpers import BASE_MODEL, FAST, ConfigFactory

from tunekit_emulators.conformance.data import chat_rows, write_jsonl, write_yaml
from tunekit_emulators.fireworks import FireworksEmulator


@pytest.fixture
def fireworks() -> Iterator[FireworksEmulator]:
    with FireworksEmulator() as emu:
        yield emu


@pytest.fixture
def make_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ConfigFactory:
    """Write a tune.yaml for the emulator; the key comes from FIREWORKS_API_KEY as in real use."""

    def make(emu: FireworksEmulator, *, rows: list[dict[str, Any]] | None = None, **fields: Any) -> Path:
        monkeypatch.setenv("FIREWORKS_API_KEY", emu.api_key)
        folder = tmp_path / "run"
        folder.mkdir(exist_ok=True)
        train = write_jsonl(folder / "train.jsonl", rows or chat_rows(12))
        options = {"base_url": emu.url, "account_id": emu.account_id, **FAST, **fields.pop("provider_options", {})}
        config = {"provider": "fireworks", "model": BASE_MODEL, "data": {"train": train.name}, **fields}
        return write_yaml(folder / "tune.yaml", {**config, "provider_options": options})

    return make
