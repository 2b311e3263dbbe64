"""The Hugging Face chat client: Inference Endpoints, inference providers, or any TGI ``base_url``.

Built on ``huggingface_hub.InferenceClient`` (and its async twin). That client
has no retries of its own; tunekit's :class:`~tunekit.retry.RetryPolicy` and
rate limiter wrap every attempt exactly as for the OpenAI-compatible client::

    HuggingFaceChatClient("meta-llama/Llama-3.1-8B-Instruct", provider="together")
    HuggingFaceChatClient("tgi", base_url="https://xyz.endpoints.huggingface.cloud")

Note that ``huggingface_hub`` refuses every request, local ones included,
while ``HF_HUB_OFFLINE=1`` is set; the error says so.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import time
import weakref
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from tunekit.errors import DependencyMissingError, ProviderError, TunekitError
from tunekit.inference.base import ChatResult, Usage
from tunekit.inference.client import RemoteChatClient, sdk_kwargs
from tunekit.inference.http_errors import error_for_status
from tunekit.inference.ratelimit import RateLimiter
from tunekit.retry import DEFAULT_RETRY, RetryPolicy, is_connection_error, retry_after_of, status_code_of
from tunekit.secrets import register_secret

if TYPE_CHECKING:
    from huggingface_hub import AsyncInferenceClient, InferenceClient

__all__ = ["HuggingFaceChatClient", "map_hf_error"]


class HuggingFaceChatClient(RemoteChatClient):
    """Chat with a model through ``huggingface_hub``'s inference clients.

    ``provider`` picks an inference provider (``"auto"``, ``"hf-inference"``,
    ``"together"``, ...); ``base_url`` targets an Inference Endpoint or a TGI
    server directly. ``token`` defaults to the logged-in Hugging Face token
    (``HF_TOKEN``).
    """

    provider: str = "huggingface"

    def __init__(
        self,
        model: str,
        *,
        provider: str | None = None,
        base_url: str | None = None,
        token: str | SecretStr | None = None,
        bill_to: str | None = None,
        timeout: float | None = 120.0,
        headers: Mapping[str, str] | None = None,
        rpm: float | None = None,
        tpm: float | None = None,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        concurrency: int = 8,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(model, rpm=rpm, tpm=tpm, limiter=limiter, retry=retry, concurrency=concurrency, params=params)
        try:
            import huggingface_hub  # noqa: F401
        except ImportError as exc:
            raise DependencyMissingError("the Hugging Face chat client", "tunekit[hf]") from exc
        if base_url is not None and provider is not None:
            raise ValueError("give either an inference provider or a base_url, not both")
        secret = token.get_secret_value() if isinstance(token, SecretStr) else token
        secret = secret or os.environ.get("HF_TOKEN")
        register_secret(secret)
        self.inference_provider = provider
        self.base_url = base_url
        self._options: dict[str, Any] = {
            "provider": provider,
            "base_url": base_url,
            "token": secret,
            "bill_to": bill_to,
            "timeout": timeout,
            "headers": dict(headers) if headers else None,
        }
        self._sync: InferenceClient | None = None
        self._aclients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncInferenceClient] = (
            weakref.WeakKeyDictionary()
        )

    def __repr__(self) -> str:
        where = self.base_url or self.inference_provider or "auto"
        return f"{type(self).__name__}(model={self.model!r}, via={where!r})"

    @property
    def endpoint(self) -> str:
        """The Inference Endpoint or server URL, else the inference provider through Hugging Face's router."""
        if self.base_url:
            return self.base_url
        return f"Hugging Face inference providers ({self.inference_provider or 'auto'}, no base_url)"

    def _client(self) -> InferenceClient:
        if self._sync is None:
            from huggingface_hub import InferenceClient

            self._sync = InferenceClient(**self._options)
        return self._sync

    def _aclient(self) -> AsyncInferenceClient:
        loop = asyncio.get_running_loop()
        client = self._aclients.get(loop)
        if client is None:
            from huggingface_hub import AsyncInferenceClient

            client = self._aclients[loop] = AsyncInferenceClient(**self._options)
        return client

    async def _release_loop_resources(self) -> None:
        client = self._aclients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.close()  # type: ignore[no-untyped-call]

    def close(self) -> None:
        if self._sync is not None:
            self._sync.close()  # type: ignore[no-untyped-call]
            self._sync = None
        self._aclients.clear()

    async def aclose(self) -> None:
        await self._release_loop_resources()
        self.close()

    # -- one attempt -------------------------------------------------------------------

    def _kwargs(self, params: dict[str, Any]) -> dict[str, Any]:
        return sdk_kwargs(params, _chat_parameters(), model=self.model)

    def _create(self, messages: list[dict[str, Any]], params: dict[str, Any]) -> ChatResult:
        start = time.perf_counter()
        output = self._client().chat_completion(messages, **self._kwargs(params))
        return self._result(output, time.perf_counter() - start)

    async def _acreate(self, messages: list[dict[str, Any]], params: dict[str, Any]) -> ChatResult:
        start = time.perf_counter()
        output = await self._aclient().chat_completion(messages, **self._kwargs(params))
        return self._result(output, time.perf_counter() - start)

    def _result(self, output: Any, latency: float) -> ChatResult:
        choices = getattr(output, "choices", None) or []
        choice = choices[0] if choices else None
        message = getattr(choice, "message", None)
        return ChatResult(
            text=getattr(message, "content", None) or "",
            model=getattr(output, "model", None) or self.model,
            finish_reason=getattr(choice, "finish_reason", None),
            usage=_usage(getattr(output, "usage", None)) or Usage(),
            latency_s=latency,
        )

    def _stream_kwargs(self, params: dict[str, Any]) -> dict[str, Any]:
        kwargs = self._kwargs(params)
        kwargs["stream"] = True
        kwargs.setdefault("stream_options", {"include_usage": True})
        return kwargs

    def _open_stream(self, messages: list[dict[str, Any]], params: dict[str, Any], usage: list[Usage]) -> Iterator[str]:
        stream: Iterable[Any] = self._client().chat_completion(messages, **self._stream_kwargs(params))

        def chunks() -> Iterator[str]:
            for chunk in stream:
                yield from _chunk_text(chunk, usage)

        return chunks()

    async def _aopen_stream(
        self, messages: list[dict[str, Any]], params: dict[str, Any], usage: list[Usage]
    ) -> AsyncIterator[str]:
        stream: AsyncIterable[Any] = await self._aclient().chat_completion(messages, **self._stream_kwargs(params))

        async def chunks() -> AsyncIterator[str]:
            async for chunk in stream:
                for text in _chunk_text(chunk, usage):
                    yield text

        return chunks()

    def _map_error(self, exc: BaseException, attempts: int) -> TunekitError:
        return map_hf_error(exc, provider=self.provider, attempts=attempts)


def map_hf_error(exc: BaseException, *, provider: str = "huggingface", attempts: int | None = None) -> TunekitError:
    """The tunekit error for an exception raised by ``huggingface_hub``'s inference clients."""
    if isinstance(exc, TunekitError):
        return exc
    if type(exc).__name__ == "OfflineModeIsEnabled":
        # huggingface_hub turns offline for either variable; the call may be an upload, a job or a chat.
        return ProviderError(
            "huggingface_hub is in offline mode (HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE is set) and refuses every "
            "request",
            provider=provider,
            hint="Set HF_HUB_OFFLINE=0 and TRANSFORMERS_OFFLINE=0 to reach the Hub; to stay off the internet, run "
            "`tunekit emulate hub` and point HF_ENDPOINT (or the endpoint option) at it.",
        )
    status = status_code_of(exc)
    if status is None:
        if is_connection_error(exc):
            return error_for_status(None, "could not reach the service", provider=provider, attempts=attempts)
        return ProviderError(str(exc) or type(exc).__name__, provider=provider)
    code, message = _response_error(exc)
    if message is None:
        server_message = getattr(exc, "server_message", None)
        message = server_message if isinstance(server_message, str) and server_message else None
    message = message or (str(exc).splitlines() or [""])[0]
    return error_for_status(
        status,
        message,
        provider=provider,
        code=code,
        provider_message=message,
        request_id=getattr(exc, "request_id", None),
        retry_after=retry_after_of(exc),
        attempts=attempts,
    )


def _response_error(exc: BaseException) -> tuple[str | None, str | None]:
    """``(code, message)`` from an OpenAI-shaped error body (``{"error": {...}}``) or TGI's (``{"error": "..."}``)."""
    response = getattr(exc, "response", None)
    try:
        body = response.json() if response is not None else None
    except Exception:  # not JSON, or the stream was already consumed
        return None, None
    if not isinstance(body, dict):
        return None, None
    inner = body.get("error", body)
    if isinstance(inner, str):
        return None, inner
    if isinstance(inner, dict):
        code = inner.get("code")
        message = inner.get("message")
        return (str(code) if code is not None else None), (str(message) if message is not None else None)
    return None, None


def _usage(raw: Any) -> Usage | None:
    if raw is None:
        return None
    return Usage(int(getattr(raw, "prompt_tokens", 0) or 0), int(getattr(raw, "completion_tokens", 0) or 0))


def _chunk_text(chunk: Any, usage: list[Usage]) -> Iterator[str]:
    found = _usage(getattr(chunk, "usage", None))
    if found is not None:
        usage.append(found)
    for choice in getattr(chunk, "choices", None) or []:
        delta = getattr(choice, "delta", None)
        content = getattr(delta, "content", None)
        if getattr(choice, "index", 0) == 0 and content:
            yield content


@lru_cache(maxsize=1)
def _chat_parameters() -> frozenset[str]:
    from huggingface_hub import InferenceClient

    return frozenset(inspect.signature(InferenceClient.chat_completion).parameters) - {"self", "messages", "model"}
