"""Fixtures for the Azure provider's tests: a clean environment, training data and configs aimed at the emulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tunekit.config import TuneConfig, parse_config
from tunekit_emulators.conformance.data import write_jsonl

AZURE_ENV = (
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_AD_TOKEN",
    "AZURE_OPENAI_API_VERSION",
    "AZURE_OPENAI_ACCOUNT",
    "AZURE_SUBSCRIPTION_ID",
    "AZURE_RESOURCE_GROUP",
    "AZURE_ARM_TOKEN",
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_SECRET",
    "OPENAI_API_VERSION",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
)

BASE_MODEL = "gpt-4.1-mini-2025-04-14"

FAST = {"poll_interval": 0.05, "file_poll_interval": 0.02, "retry_max_wait": 0.05, "max_retries": 3}
"""Polling and retry waits short enough for tests (Retry-After from the emulator is still honoured)."""


@pytest.fixture(autouse=True)
def clean_azure_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No credential or setting of the developer's machine leaks into a test."""
    for name in AZURE_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def train_file(tmp_path: Path) -> Path:
    """Twelve small chat examples (the emulator wants at least ten)."""
    path = tmp_path / "train.jsonl"
    rows = [
        {
            "messages": [
                {"role": "system", "content": "Extract the ingredient."},
                {"role": "user", "content": f"Add {n} grams of flour number {n}."},
                {"role": "assistant", "content": f"flour ({n} g)"},
            ]
        }
        for n in range(1, 13)
    ]
    write_jsonl(path, rows)
    return path


def arm_options(emu: Any, **overrides: Any) -> dict[str, Any]:
    return {
        "url": emu.arm_url,
        "subscription_id": emu.subscription_id,
        "resource_group": emu.resource_group,
        "account": emu.account,
        "token": emu.issue_token(),
        "poll_interval": 0.05,
        **overrides,
    }


def provider_options(emu: Any, **overrides: Any) -> dict[str, Any]:
    arm = overrides.pop("arm", {})
    return {
        "endpoint": emu.endpoint,
        "api_key": emu.api_key,
        "api_version": emu.api_version,
        **FAST,
        "arm": arm_options(emu, **arm),
        **overrides,
    }


@pytest.fixture
def make_config(azure_emulator: Any, train_file: Path) -> Iterator[Callable[..., TuneConfig]]:
    """``make_config(suffix=..., deploy=..., options={...})``: a TuneConfig for the running emulator."""

    def build(*, options: dict[str, Any] | None = None, **fields: Any) -> TuneConfig:
        data: dict[str, Any] = {
            "provider": "azure",
            "model": fields.pop("model", BASE_MODEL),
            "data": {"train": str(train_file)},
            "suffix": "recipes",
            "deploy": {"name": "recipes-bot", "sku": "Standard", "capacity": 1},
            "provider_options": provider_options(azure_emulator, **(options or {})),
            **fields,
        }
        return parse_config(data)

    yield build
