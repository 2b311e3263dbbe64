"""Chat clients: one :class:`ChatClient` protocol, whoever serves the model.

- :class:`OpenAIChatClient`: OpenAI, Azure OpenAI deployments, and any
  OpenAI-compatible server (vLLM, TGI, ...) through ``base_url``.
- :class:`HuggingFaceChatClient`: Inference Endpoints and inference providers.
- :class:`LocalChatClient`: transformers with an optional PEFT adapter.

Shared parts: :class:`RateLimiter` (RPM / TPM token buckets),
:class:`~tunekit.retry.RetryPolicy`, and :func:`map_openai_error`. Names load
on first use, so importing this package imports no SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tunekit.lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "ChatClient": "tunekit.inference.base",
    "ChatResult": "tunekit.inference.base",
    "Message": "tunekit.inference.base",
    "Usage": "tunekit.inference.base",
    "RemoteChatClient": "tunekit.inference.client",
    "run_sync": "tunekit.inference.client",
    "OpenAIChatClient": "tunekit.inference.openai_client",
    "HuggingFaceChatClient": "tunekit.inference.hf_client",
    "map_hf_error": "tunekit.inference.hf_client",
    "LocalChatClient": "tunekit.inference.local",
    "RateLimiter": "tunekit.inference.ratelimit",
    "map_openai_error": "tunekit.inference.openai_errors",
}

__all__ = [
    "ChatClient",
    "ChatResult",
    "HuggingFaceChatClient",
    "LocalChatClient",
    "Message",
    "OpenAIChatClient",
    "RateLimiter",
    "RemoteChatClient",
    "Usage",
    "map_hf_error",
    "map_openai_error",
    "run_sync",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)


if TYPE_CHECKING:
    from tunekit.inference.base import ChatClient, ChatResult, Message, Usage
    from tunekit.inference.client import RemoteChatClient, run_sync
    from tunekit.inference.hf_client import HuggingFaceChatClient, map_hf_error
    from tunekit.inference.local import LocalChatClient
    from tunekit.inference.openai_client import OpenAIChatClient
    from tunekit.inference.openai_errors import map_openai_error
    from tunekit.inference.ratelimit import RateLimiter
