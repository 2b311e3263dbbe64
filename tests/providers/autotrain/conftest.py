"""Fixtures for the AutoTrain provider's tests: a clean environment, training data, tuners aimed at the Hub emulator."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tunekit.ledger import Ledger
from tunekit.testing.hub import HubEmulator
from tunekit.tuner import Tuner

BASE_MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"
FAST = {"poll_interval": 0.05, "retry_max_wait": 0.05}
"""Waits short enough for tests (a Retry-After from the emulator is still honoured)."""


@pytest.fixture(autouse=True)
def clean_hf_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No token or endpoint of the developer's machine leaks into a test."""
    for name in ("HF_TOKEN", "HF_ENDPOINT", "HUGGING_FACE_HUB_TOKEN", "HF_USERNAME"):
        monkeypatch.delenv(name, raising=False)


def write_chat(path: Path, count: int = 24) -> Path:
    rows = [
        {
            "messages": [
                {"role": "system", "content": "Answer with a number."},
                {"role": "user", "content": f"What is {i} plus {i}?"},
                {"role": "assistant", "content": str(2 * i)},
            ]
        }
        for i in range(count)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_pairs(path: Path, count: int = 12) -> Path:
    rows = [
        {
            "prompt": [{"role": "user", "content": f"Say hello to user {i}."}],
            "chosen": [{"role": "assistant", "content": f"Hello, user {i}!"}],
            "rejected": [{"role": "assistant", "content": "No."}],
        }
        for i in range(count)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def chat_data(tmp_path: Path) -> Path:
    return write_chat(tmp_path / "train.jsonl")


TunerFactory = Callable[..., Tuner]


def emulator_options(hub: HubEmulator, **options: Any) -> dict[str, Any]:
    """provider_options aimed at the emulator (its endpoint, token and chat URL)."""
    return {
        "endpoint": hub.endpoint,
        "token": hub.token,
        "inference_url": hub.inference_url("{model}"),
        **FAST,
        **options,
    }


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
