"""tunekit-together: fine-tune open models on Together AI (the ``together`` provider)."""

from __future__ import annotations

from tunekit_together.options import TogetherOptions
from tunekit_together.provider import TogetherProvider

__all__ = ["TogetherOptions", "TogetherProvider"]
