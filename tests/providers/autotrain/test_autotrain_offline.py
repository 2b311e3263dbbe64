"""Offline mode (HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE) stops every Hub call; the error names both and a way out."""

from __future__ import annotations

from pathlib import Path

import pytest
from autotrain_helpers import BASE_MODEL, emulator_options

from tunekit.errors import TunekitError
from tunekit.tuner import Tuner
from tunekit_emulators.hub import HubEmulator


def test_uploading_in_offline_mode_names_both_variables(chat_data: Path) -> None:
    # Without the loopback_only() the fixture adds, huggingface_hub honours the suite's HF_HUB_OFFLINE=1.
    with HubEmulator() as hub:
        tuner = Tuner(
            provider="autotrain",
            model=BASE_MODEL,
            data={"train": str(chat_data)},
            provider_options=emulator_options(hub),
        )
        with pytest.raises(TunekitError) as caught:
            tuner.submit()
        assert hub.jobs() == [] and hub.repos("dataset") == []
    message = str(caught.value)
    assert "HF_HUB_OFFLINE" in message and "TRANSFORMERS_OFFLINE" in message
    assert "inference endpoint" not in message
    assert "tunekit emulate hub" in message  # how to keep offline and still reach a local emulator
