"""An emulator of Together AI's fine-tuning, files and chat API, driven by the official ``together`` SDK."""

from tunekit_emulators.together.emulator import TogetherEmulator as TogetherEmulator

__all__ = ["TogetherEmulator"]
