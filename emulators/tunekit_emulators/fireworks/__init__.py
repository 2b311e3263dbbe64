"""An emulator of Fireworks AI (datasets, fine-tuning jobs, evaluators, models, deployments, chat)."""

from tunekit_emulators.fireworks.emulator import FireworksEmulator as FireworksEmulator

__all__ = ["FireworksEmulator"]
