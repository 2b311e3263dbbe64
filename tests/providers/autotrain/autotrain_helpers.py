"""Helpers shared by the AutoTrain provider's tests: training data and provider_options aimed at the Hub emulator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tunekit.tuner import Tuner
from tunekit_emulators.conformance.data import write_jsonl
from tunekit_emulators.hub import HubEmulator

BASE_MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"
FAST = {"poll_interval": 0.05, "retry_max_wait": 0.05}
"""Waits short enough for tests (a Retry-After from the emulator is still honoured)."""

TunerFactory = Callable[..., Tuner]


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
    write_jsonl(path, rows)
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
    write_jsonl(path, rows)
    return path


def emulator_options(hub: HubEmulator, **options: Any) -> dict[str, Any]:
    """provider_options aimed at the emulator (its endpoint, token and chat URL)."""
    return {
        "endpoint": hub.endpoint,
        "token": hub.token,
        "inference_url": hub.inference_url("{model}"),
        **FAST,
        **options,
    }
