"""The OpenAI-compatible chat client: OpenAI, Azure OpenAI deployments, vLLM, TGI, any ``base_url``.

Built on the official ``openai`` SDK. The SDK's own retries are switched off
(``max_retries=0``) and tunekit's :class:`~tunekit.retry.RetryPolicy` runs
instead, so every attempt passes the shared rate limiter and retries are
bounded in one place (see :mod:`tunekit.retry`)::

    client = OpenAIChatClient("gpt-4.1-mini", rpm=500, tpm=200_000)
    client.chat([{"role": "user", "content": "Hi"}]).text

    vllm = OpenAIChatClient("meta-llama/Llama-3.1-8B-Instruct", base_url="http://gpu:8000/v1")
    azure = OpenAIChatClient.azure("my-deployment", endpoint="https://x.openai.azure.com", api_version="2025-04-01")

Parameters the SDK's ``create`` does not name (``top_k``, ``repetition_penalty``
for vLLM) travel in ``extra_body``.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from tunekit.errors import AuthenticationError, ConfigError, TunekitError
from tunekit.inference.base import ChatResult, Usage
from tunekit.inference.client import RemoteChatClient, sdk_kwargs
from tunekit.inference.openai_errors import map_openai_error
from tunekit.inference.ratelimit import RateLimiter
from tunekit.retry import DEFAULT_RETRY, RetryPolicy
from tunekit.secrets import register_secret

if TYPE_CHECKING:
    from openai import AsyncOpenAI, OpenAI
    from openai.types.chat import ChatCompletion, ChatCompletionChunk

__all__ = ["OpenAIChatClient"]

DEFAULT_TIMEOUT = 120.0


class OpenAIChatClient(RemoteChatClient):
    """Chat with a model behind an OpenAI-compatible API.

    ``api_key`` defaults to ``OPENAI_API_KEY``; with a ``base_url`` and no key
    anywhere, a placeholder is sent (local servers such as vLLM ignore it).
    ``provider`` names the service in error messages (``openai``, ``azure``,
    ``vllm``...).
    """

    provider: str = "openai"

    def __init__(
        self,
        model: str,
        *,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        organization: str | None = None,
        project: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        default_headers: Mapping[str, str] | None = None,
        provider: str | None = None,
        rpm: float | None = None,
        tpm: float | None = None,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        concurrency: int = 8,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(model, rpm=rpm, tpm=tpm, limiter=limiter, retry=retry, concurrency=concurrency, params=params)
        self.provider = provider or ("openai" if base_url is None else "openai-compatible")
        key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        if key is None:
            key = os.environ.get("OPENAI_API_KEY")
        if key is None and base_url is None:
            raise AuthenticationError(
                "no API key",
                provider=self.provider,
                hint="Set OPENAI_API_KEY or pass api_key (provider_options.api_key in a config).",
            )
        register_secret(key)
        options: dict[str, Any] = {
            "api_key": key or "EMPTY",
            "base_url": base_url,
            "organization": organization,
            "project": project,
            "timeout": timeout,
            "max_retries": 0,
            "default_headers": dict(default_headers) if default_headers else None,
        }
        self.base_url = base_url

        def make_sync() -> OpenAI:
            from openai import OpenAI

            return OpenAI(**options)

        def make_async() -> AsyncOpenAI:
            from openai import AsyncOpenAI

            return AsyncOpenAI(**options)

        self._init_factories(make_sync, make_async)

    @classmethod
    def azure(
        cls,
        deployment: str,
        *,
        endpoint: str,
        api_version: str | None = None,
        api_key: str | SecretStr | None = None,
        azure_ad_token_provider: Callable[[], str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        rpm: float | None = None,
        tpm: float | None = None,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        concurrency: int = 8,
        params: Mapping[str, Any] | None = None,
    ) -> OpenAIChatClient:
        """A client for an Azure OpenAI deployment (the deployment name is the model).

        ``api_key`` defaults to ``AZURE_OPENAI_API_KEY``; give
        ``azure_ad_token_provider`` (from ``azure-identity``) for Entra ID.
        """
        self = cls.__new__(cls)
        RemoteChatClient.__init__(
            self, deployment, rpm=rpm, tpm=tpm, limiter=limiter, retry=retry, concurrency=concurrency, params=params
        )
        self.provider = "azure"
        self.base_url = endpoint
        key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        if key is None and azure_ad_token_provider is None:
            key = os.environ.get("AZURE_OPENAI_API_KEY")
            if key is None and not os.environ.get("AZURE_OPENAI_AD_TOKEN"):
                raise AuthenticationError(
                    "no Azure credential",
                    provider="azure",
                    hint="Set AZURE_OPENAI_API_KEY, pass api_key, or pass azure_ad_token_provider (azure-identity).",
                )
        version = api_version or os.environ.get("OPENAI_API_VERSION")
        if not version:
            raise ConfigError("Azure OpenAI needs an api_version (or OPENAI_API_VERSION)")
        register_secret(key)
        options: dict[str, Any] = {
            "azure_endpoint": endpoint,
            "api_version": version,
            "timeout": timeout,
            "max_retries": 0,
        }
        if azure_ad_token_provider is not None:
            options["azure_ad_token_provider"] = azure_ad_token_provider
        elif key is not None:
            options["api_key"] = key

        def make_sync() -> OpenAI:
            from openai import AzureOpenAI

            return AzureOpenAI(**options)

        def make_async() -> AsyncOpenAI:
            from openai import AsyncAzureOpenAI

            return AsyncAzureOpenAI(**options)

        self._init_factories(make_sync, make_async)
        return self

    def _init_factories(self, make_sync: Callable[[], OpenAI], make_async: Callable[[], AsyncOpenAI]) -> None:
        self._make_async = make_async
        self._aclients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncOpenAI] = weakref.WeakKeyDictionary()
        try:
            self._sync = make_sync()
        except Exception as exc:  # the SDK validates options (credentials, URLs) at construction
            raise map_openai_error(exc, provider=self.provider) from exc

    def __repr__(self) -> str:
        where = f", base_url={self.base_url!r}" if self.base_url else ""
        return f"{type(self).__name__}(model={self.model!r}, provider={self.provider!r}{where})"

    @property
    def endpoint(self) -> str:
        """The base URL requests go to (``OPENAI_BASE_URL`` or the SDK's default when none was given)."""
        return str(self._sync.base_url).rstrip("/")

    # -- SDK clients -------------------------------------------------------------------

    @property
    def sdk(self) -> OpenAI:
        """The underlying synchronous ``openai`` client."""
        return self._sync

    def _aclient(self) -> AsyncOpenAI:
        # httpx async connection pools belong to the loop that opened them: one SDK client per loop.
        loop = asyncio.get_running_loop()
        client = self._aclients.get(loop)
        if client is None:
            client = self._aclients[loop] = self._make_async()
        return client

    async def _release_loop_resources(self) -> None:
        client = self._aclients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.close()

    def close(self) -> None:
        self._sync.close()
        self._aclients.clear()

    async def aclose(self) -> None:
        await self._release_loop_resources()
        self.close()

    # -- one attempt -------------------------------------------------------------------

    def _kwargs(self, messages: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
        return sdk_kwargs(params, _create_parameters(), model=self.model, messages=messages)

    def _create(self, messages: list[dict[str, Any]], params: dict[str, Any]) -> ChatResult:
        start = time.perf_counter()
        response = self._sync.chat.completions.create(**self._kwargs(messages, params))
        return self._result(response, time.perf_counter() - start)

    async def _acreate(self, messages: list[dict[str, Any]], params: dict[str, Any]) -> ChatResult:
        start = time.perf_counter()
        response = await self._aclient().chat.completions.create(**self._kwargs(messages, params))
        return self._result(response, time.perf_counter() - start)

    def _result(self, response: ChatCompletion, latency: float) -> ChatResult:
        choice = response.choices[0] if response.choices else None
        text = (choice.message.content or "") if choice is not None else ""
        usage = (
            Usage(response.usage.prompt_tokens or 0, response.usage.completion_tokens or 0)
            if response.usage is not None
            else Usage()
        )
        return ChatResult(
            text=text,
            model=response.model or self.model,
            finish_reason=choice.finish_reason if choice is not None else None,
            usage=usage,
            latency_s=latency,
        )

    def _stream_kwargs(self, messages: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
        kwargs = self._kwargs(messages, params)
        kwargs["stream"] = True
        kwargs.setdefault("stream_options", {"include_usage": True})
        return kwargs

    def _open_stream(self, messages: list[dict[str, Any]], params: dict[str, Any], usage: list[Usage]) -> Iterator[str]:
        stream = self._sync.chat.completions.create(**self._stream_kwargs(messages, params))

        def chunks() -> Iterator[str]:
            with stream:
                for chunk in stream:
                    yield from _chunk_text(chunk, usage)

        return chunks()

    async def _aopen_stream(
        self, messages: list[dict[str, Any]], params: dict[str, Any], usage: list[Usage]
    ) -> AsyncIterator[str]:
        stream = await self._aclient().chat.completions.create(**self._stream_kwargs(messages, params))

        async def chunks() -> AsyncIterator[str]:
            async with stream:
                async for chunk in stream:
                    for text in _chunk_text(chunk, usage):
                        yield text

        return chunks()

    def _map_error(self, exc: BaseException, attempts: int) -> TunekitError:
        return map_openai_error(exc, provider=self.provider, attempts=attempts)


def _chunk_text(chunk: ChatCompletionChunk, usage: list[Usage]) -> Iterator[str]:
    if chunk.usage is not None:
        usage.append(Usage(chunk.usage.prompt_tokens or 0, chunk.usage.completion_tokens or 0))
    for choice in chunk.choices:
        if choice.index == 0 and choice.delta is not None and choice.delta.content:
            yield choice.delta.content


@lru_cache(maxsize=1)
def _create_parameters() -> frozenset[str]:
    from openai.resources.chat.completions import Completions

    return frozenset(inspect.signature(Completions.create).parameters) - {"self", "model", "messages"}
