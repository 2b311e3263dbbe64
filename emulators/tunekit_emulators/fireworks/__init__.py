"""An emulator of Fireworks AI (datasets, fine-tuning jobs, models, deployments, chat) for the ``fireworks-ai`` SDK."""

from tunekit_emulators.fireworks.emulator import FireworksEmulator as FireworksEmulator

__all__ = ["FireworksEmulator"]
