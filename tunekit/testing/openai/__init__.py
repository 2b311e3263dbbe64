"""An emulator of the OpenAI API for tests and offline development; see :class:`OpenAIEmulator`."""

from tunekit.testing.openai.emulator import OpenAICompatibleEmulator, OpenAIEmulator

__all__ = ["OpenAICompatibleEmulator", "OpenAIEmulator"]
