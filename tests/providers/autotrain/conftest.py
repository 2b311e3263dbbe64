"""Fixtures for the AutoTrain provider's tests: a clean environment, training data, tuners aimed at the Hub emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from autotrain_helpers import BASE_MODEL, TunerFactory, emulator_options, write_chat

from tunekit.ledger import Ledger
from tunekit.tuner import Tuner
from tunekit_emulators.hub import HubEmulator


@pytest.fixture(autouse=True)
def clean_hf_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No token or endpoint of the developer's machine leaks into a test."""
    for name in ("HF_TOKEN", "HF_ENDPOINT", "HUGGING_FACE_HUB_TOKEN", "HF_USERNAME"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def chat_data(tmp_path: Path) -> Path:
    return write_chat(tmp_path / "train.jsonl")


@pytest.fixture
def make_tuner(hub_emulator: HubEmulator, chat_data: Path) -> TunerFactory:
    """Tuners for the emulator: ``make_tuner(method="dpo", data=..., **provider_options)``."""

    def make(*, data: Path | None = None, method: str = "sft", ledger: Ledger | None = None, **options: Any) -> Tuner:
        return Tuner(
            provider="autotrain",
            model=BASE_MODEL,
            method=method,
            data={"train": str(data or chat_data)},
            provider_options=emulator_options(hub_emulator, **options),
            ledger=ledger,
        )

    return make
