"""tunekit-fireworks: fine-tune open models on Fireworks AI; the ``fireworks`` provider (``tunekit.providers``)."""

from __future__ import annotations

from tunekit_fireworks.options import FireworksOptions
from tunekit_fireworks.provider import FireworksProvider

__all__ = ["FireworksOptions", "FireworksProvider"]
