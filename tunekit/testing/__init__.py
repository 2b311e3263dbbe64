"""Emulators of the remote services tunekit talks to, for tests and offline development (like moto for AWS).

Each emulator is a real HTTP server on 127.0.0.1 that the official SDK clients talk to unchanged,
with moto-style lifecycle control (immediate / manual / timed), seeded fault injection and a
control API under ``/_emulator/``::

    from tunekit.testing import OpenAIEmulator, Fault

    with OpenAIEmulator(lifecycle="manual") as emu:
        client = openai.OpenAI(base_url=emu.base_url, api_key=emu.api_key)
        emu.inject("POST /v1/fine_tuning/jobs", Fault.status(429, retry_after=0.01), first_n=2)
        ...

Starlette and uvicorn (the ``tunekit[emulators]`` extra) load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tunekit.lazy import lazy_exports

if TYPE_CHECKING:
    from tunekit.testing.azure import AzureOpenAIEmulator
    from tunekit.testing.base import Emulator
    from tunekit.testing.faults import Fault, FaultRule, RecordedRequest
    from tunekit.testing.hub import HubEmulator
    from tunekit.testing.lifecycle import Lifecycle, LifecycleMode
    from tunekit.testing.openai import OpenAIEmulator
    from tunekit.testing.ratelimit import RateLimiter
    from tunekit.testing.server import EmulatorServer

_EXPORTS: dict[str, str] = {
    "OpenAIEmulator": "tunekit.testing.openai",
    "AzureOpenAIEmulator": "tunekit.testing.azure",
    "HubEmulator": "tunekit.testing.hub",
    "Emulator": "tunekit.testing.base",
    "EmulatorServer": "tunekit.testing.server",
    "Fault": "tunekit.testing.faults",
    "FaultRule": "tunekit.testing.faults",
    "RecordedRequest": "tunekit.testing.faults",
    "Lifecycle": "tunekit.testing.lifecycle",
    "LifecycleMode": "tunekit.testing.lifecycle",
    "RateLimiter": "tunekit.testing.ratelimit",
}

__all__ = [
    "AzureOpenAIEmulator",
    "Emulator",
    "EmulatorServer",
    "Fault",
    "FaultRule",
    "HubEmulator",
    "Lifecycle",
    "LifecycleMode",
    "OpenAIEmulator",
    "RateLimiter",
    "RecordedRequest",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
