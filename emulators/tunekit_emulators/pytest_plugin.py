"""tunekit's pytest plugin: emulator fixtures for your own tests.

Registered through the ``pytest11`` entry point; it imports nothing heavy
until a fixture is used.

Fixtures (function-scoped, started and stopped around each test):

* ``openai_emulator`` — a running :class:`tunekit_emulators.OpenAIEmulator`;
* ``azure_emulator`` — a running :class:`tunekit_emulators.AzureOpenAIEmulator`;
* ``fireworks_emulator`` — a running :class:`tunekit_emulators.FireworksEmulator`;
* ``hub_emulator`` — a running :class:`tunekit_emulators.HubEmulator`, with ``huggingface_hub``
  allowed to reach loopback hosts (and only those) even under ``HF_HUB_OFFLINE=1``;
* ``together_emulator`` — a running :class:`tunekit_emulators.TogetherEmulator`.

Pass constructor arguments with a marker of the same name::

    @pytest.mark.openai_emulator(lifecycle="manual", rpm=3)
    def test_retry(openai_emulator): ...
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tunekit_emulators.azure import AzureOpenAIEmulator
    from tunekit_emulators.fireworks import FireworksEmulator
    from tunekit_emulators.hub import HubEmulator
    from tunekit_emulators.openai import OpenAIEmulator
    from tunekit_emulators.together import TogetherEmulator

_MARKERS = {
    "openai_emulator": "openai_emulator(**kwargs): arguments for the openai_emulator fixture's OpenAIEmulator",
    "azure_emulator": "azure_emulator(**kwargs): arguments for the azure_emulator fixture's AzureOpenAIEmulator",
    "hub_emulator": "hub_emulator(**kwargs): arguments for the hub_emulator fixture's HubEmulator",
    "together_emulator": "together_emulator(**kwargs): arguments for the together_emulator fixture's TogetherEmulator",
    "fireworks_emulator": "fireworks_emulator(**kwargs): arguments for the fireworks_emulator fixture",
}


def pytest_configure(config: pytest.Config) -> None:
    for description in _MARKERS.values():
        config.addinivalue_line("markers", description)


def _marker_kwargs(request: pytest.FixtureRequest, name: str) -> dict[str, Any]:
    marker = request.node.get_closest_marker(name)
    return dict(marker.kwargs) if marker is not None else {}


@pytest.fixture
def openai_emulator(request: pytest.FixtureRequest) -> Iterator[OpenAIEmulator]:
    """A running OpenAI emulator; point ``openai.OpenAI(base_url=emu.base_url, api_key=emu.api_key)`` at it."""
    from tunekit_emulators.openai import OpenAIEmulator

    with OpenAIEmulator(**_marker_kwargs(request, "openai_emulator")) as emulator:
        yield emulator


@pytest.fixture
def azure_emulator(request: pytest.FixtureRequest) -> Iterator[AzureOpenAIEmulator]:
    """A running Azure OpenAI emulator (data plane and ARM control plane)."""
    from tunekit_emulators.azure import AzureOpenAIEmulator

    with AzureOpenAIEmulator(**_marker_kwargs(request, "azure_emulator")) as emulator:
        yield emulator


@pytest.fixture
def hub_emulator(request: pytest.FixtureRequest) -> Iterator[HubEmulator]:
    """A running Hugging Face Hub emulator; use ``HfApi(endpoint=hub.endpoint, token=hub.token)``."""
    from tunekit_emulators.hub import HubEmulator, loopback_only

    with HubEmulator(**_marker_kwargs(request, "hub_emulator")) as emulator, loopback_only():
        yield emulator


@pytest.fixture
def together_emulator(request: pytest.FixtureRequest) -> Iterator[TogetherEmulator]:
    """A running Together AI emulator; use ``together.Together(base_url=emu.url, api_key=emu.api_key)``."""
    from tunekit_emulators.together import TogetherEmulator

    with TogetherEmulator(**_marker_kwargs(request, "together_emulator")) as emulator:
        yield emulator


@pytest.fixture
def fireworks_emulator(request: pytest.FixtureRequest) -> Iterator[FireworksEmulator]:
    """A running Fireworks emulator; ``fireworks.Fireworks(base_url=emu.url, api_key=emu.api_key, account_id=...)``."""
    from tunekit_emulators.fireworks import FireworksEmulator

    with FireworksEmulator(**_marker_kwargs(request, "fireworks_emulator")) as emulator:
        yield emulator
