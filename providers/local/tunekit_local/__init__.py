"""tunekit-local: fine-tune on this machine with transformers, PEFT, TRL and accelerate.

Registered as the ``local`` provider. Importing this package is cheap: torch
and the training libraries load in the training process, or when a model is
loaded for chat.
"""

from __future__ import annotations

from tunekit import __version__ as __version__  # one version for every tunekit distribution
from tunekit_local.options import LocalOptions
from tunekit_local.provider import LocalProvider

__all__ = ["LocalOptions", "LocalProvider"]
