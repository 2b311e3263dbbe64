"""An emulator of the OpenAI API for tests and offline development; see :class:`OpenAIEmulator`."""

from tunekit_emulators.openai.emulator import OpenAICompatibleEmulator, OpenAIEmulator

__all__ = ["OpenAICompatibleEmulator", "OpenAIEmulator"]
