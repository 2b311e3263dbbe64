"""The ChatClient protocol: one way to call a model, whoever trained it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = ["ChatClient", "ChatResult", "Message", "Usage"]

Message = Mapping[str, Any]
"""An OpenAI-style chat message: ``{"role": "user", "content": "..."}``."""


@dataclass(frozen=True)
class Usage:
    """Tokens billed (or counted, for local models) for one request."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class ChatResult:
    """One reply: its text, why generation stopped, tokens and latency."""

    text: str
    model: str
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    latency_s: float = 0.0
    """Seconds the answering attempt took, from sending the request to the full reply."""
    error: str | None = None
    """Set instead of raising when a batch keeps going past a failed request."""
    attempts: int = 1
    """Requests sent for this reply, retries included."""

    @property
    def ok(self) -> bool:
        return self.error is None


@runtime_checkable
class ChatClient(Protocol):
    """What every inference client offers; see ``tunekit.inference`` for implementations."""

    model: str

    def chat(self, messages: Sequence[Message], **params: Any) -> ChatResult: ...

    async def achat(self, messages: Sequence[Message], **params: Any) -> ChatResult: ...

    def stream(self, messages: Sequence[Message], **params: Any) -> Iterator[str]: ...

    def astream(self, messages: Sequence[Message], **params: Any) -> AsyncIterator[str]: ...

    def batch(
        self, requests: Sequence[Sequence[Message]], *, concurrency: int = 8, **params: Any
    ) -> list[ChatResult]: ...

    def close(self) -> None: ...
