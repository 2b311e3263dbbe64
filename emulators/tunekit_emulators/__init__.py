"""Emulators of the remote services tunekit talks to, for tests and offline development (like moto for AWS).

Each emulator is a real HTTP server on 127.0.0.1 that the official SDK clients talk to unchanged,
with moto-style lifecycle control (immediate / manual / timed), seeded fault injection and a
control API under ``/_emulator/``::

    from tunekit_emulators import OpenAIEmulator, Fault

    with OpenAIEmulator(lifecycle="manual") as emu:
        client = openai.OpenAI(base_url=emu.base_url, api_key=emu.api_key)
        emu.inject("POST /v1/fine_tuning/jobs", Fault.status(429, retry_after=0.01), first_n=2)
        ...

Starlette and uvicorn load on first use. The provider conformance kit (crash points, exactly-once,
secret hygiene, faults) is :mod:`tunekit_emulators.conformance`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tunekit.lazy import lazy_exports

if TYPE_CHECKING:
    from tunekit_emulators.azure import AzureOpenAIEmulator
    from tunekit_emulators.base import Emulator
    from tunekit_emulators.faults import Fault, FaultRule, RecordedRequest
    from tunekit_emulators.fireworks import FireworksEmulator
    from tunekit_emulators.hub import HubEmulator
    from tunekit_emulators.lifecycle import Lifecycle, LifecycleMode
    from tunekit_emulators.openai import OpenAIEmulator
    from tunekit_emulators.ratelimit import RateLimiter
    from tunekit_emulators.server import EmulatorServer
    from tunekit_emulators.together import TogetherEmulator

_EXPORTS: dict[str, str] = {
    "OpenAIEmulator": "tunekit_emulators.openai",
    "AzureOpenAIEmulator": "tunekit_emulators.azure",
    "HubEmulator": "tunekit_emulators.hub",
    "TogetherEmulator": "tunekit_emulators.together",
    "FireworksEmulator": "tunekit_emulators.fireworks",
    "Emulator": "tunekit_emulators.base",
    "EmulatorServer": "tunekit_emulators.server",
    "Fault": "tunekit_emulators.faults",
    "FaultRule": "tunekit_emulators.faults",
    "RecordedRequest": "tunekit_emulators.faults",
    "Lifecycle": "tunekit_emulators.lifecycle",
    "LifecycleMode": "tunekit_emulators.lifecycle",
    "RateLimiter": "tunekit_emulators.ratelimit",
}

__all__ = [
    "AzureOpenAIEmulator",
    "Emulator",
    "EmulatorServer",
    "Fault",
    "FaultRule",
    "FireworksEmulator",
    "HubEmulator",
    "Lifecycle",
    "LifecycleMode",
    "OpenAIEmulator",
    "RateLimiter",
    "RecordedRequest",
    "TogetherEmulator",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
