"""An emulator of Azure OpenAI (data plane and Resource Manager); see :class:`AzureOpenAIEmulator`."""

from tunekit_emulators.azure.emulator import AzureOpenAIEmulator

__all__ = ["AzureOpenAIEmulator"]
