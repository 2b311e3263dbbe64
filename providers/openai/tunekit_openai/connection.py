"""The openai SDK client under tunekit's shared retries and create-once discipline.

The SDK's own retries are switched off (``max_retries=0``): they would repeat
a ``POST`` that creates a job when the first attempt's response was lost, and
the API takes no idempotency key. Every call goes through tunekit's
:class:`~tunekit.remote.RemoteConnection` instead, whose ``create`` looks for
what a failed attempt may have created before trying again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from tunekit.plugin import RemoteConnection, TunekitError, map_openai_error, register_secret, remaining_time
from tunekit_openai.options import OpenAIOptions

if TYPE_CHECKING:
    import openai

__all__ = ["Connection"]


class Connection(RemoteConnection):
    """One lazily built ``openai.OpenAI`` client plus tunekit's retry and error mapping."""

    def __init__(
        self,
        options: OpenAIOptions,
        *,
        provider: str = "openai",
        explain: Callable[[TunekitError], TunekitError] | None = None,
    ) -> None:
        super().__init__(options, provider=provider)
        self.options: OpenAIOptions = options
        self.explain = explain
        self._client: openai.OpenAI | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> openai.OpenAI:
        with self._lock:
            if self._client is None:
                self._client = self.build_client()
            client = self._client
        left = remaining_time()
        if left is None:
            return client
        # Inside a caller's deadline (`tunekit watch --timeout`): no single request may outlast it either.
        return client.with_options(timeout=max(0.5, min(self.options.timeout, left)))

    def build_client(self) -> openai.OpenAI:
        """The SDK client; subclasses (Azure) build theirs."""
        import openai

        key = self.options.resolved_api_key()
        register_secret(key)
        return openai.OpenAI(
            api_key=key,
            organization=self.options.organization,
            project=self.options.project,
            base_url=self.options.resolved_base_url(),
            timeout=self.options.timeout,
            max_retries=0,
        )

    def map_error(self, exc: BaseException, attempts: int) -> TunekitError:
        error = map_openai_error(exc, provider=self.provider, attempts=attempts)
        return self.explain(error) if self.explain is not None else error

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
