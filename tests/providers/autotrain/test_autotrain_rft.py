"""AutoTrain has no reinforcement fine-tuning: method rft is refused by check(), with the reason, before any upload."""

from __future__ import annotations

from pathlib import Path

import pytest
from autotrain_helpers import BASE_MODEL, emulator_options

from tunekit.errors import ConfigError
from tunekit.tuner import Tuner
from tunekit_emulators.hub import HubEmulator


def test_rft_is_refused_with_the_reason_before_anything_is_uploaded(hub_emulator: HubEmulator, chat_data: Path) -> None:
    tuner = Tuner(
        provider="autotrain",
        model=BASE_MODEL,
        method="grpo",
        reward=["json_valid"],
        data={"train": str(chat_data)},
        provider_options=emulator_options(hub_emulator),
    )
    problems = tuner.provider.check(tuner.config)
    assert (
        "method: autotrain cannot train rft (reinforcement fine-tuning from reward functions); it trains sft, dpo"
        in problems
    )
    with pytest.raises(ConfigError, match=r"autotrain cannot train rft"):
        tuner.submit()
    assert not hub_emulator.repos()
