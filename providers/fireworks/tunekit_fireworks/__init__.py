"""tunekit-fireworks: fine-tune open models on Fireworks AI with tunekit.

Registered as the ``fireworks`` provider (entry point group ``tunekit.providers``)::

    provider: fireworks
    model: accounts/fireworks/models/llama-v3p1-8b-instruct
    data: {train: train.jsonl}
    provider_options:
      account_id: ${FIREWORKS_ACCOUNT_ID}
"""

from __future__ import annotations

from tunekit_fireworks.options import FireworksOptions
from tunekit_fireworks.provider import FireworksProvider

__all__ = ["FireworksOptions", "FireworksProvider"]
