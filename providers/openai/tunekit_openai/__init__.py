"""tunekit-openai: fine-tune OpenAI models with tunekit.

Registered as the ``openai`` provider (entry point group ``tunekit.providers``)::

    provider: openai
    model: gpt-4.1-mini-2025-04-14
    data: {train: train.jsonl}
    provider_options:
      api_key: ${OPENAI_API_KEY}
"""

from __future__ import annotations

from tunekit_openai.connection import Connection
from tunekit_openai.options import OpenAIOptions, ReinforcementOptions, WandbOptions
from tunekit_openai.provider import OpenAIProvider
from tunekit_openai.states import OPENAI_STATUSES

__all__ = ["OPENAI_STATUSES", "Connection", "OpenAIOptions", "OpenAIProvider", "ReinforcementOptions", "WandbOptions"]
