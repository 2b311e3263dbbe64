"""The openai SDK client, and the two ways tunekit calls it: safely repeated, or created once.

The SDK's own retries are switched off (``max_retries=0``): they would repeat
a ``POST`` that creates a job when the first attempt's response was lost, and
the API takes no idempotency key. Every call goes through tunekit's shared
:class:`~tunekit.retry.RetryPolicy` instead, and a call that creates
something looks for what the failed attempt may have created before trying
again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from tunekit.errors import TunekitError
from tunekit.inference.openai_errors import map_openai_error
from tunekit.retry import RetryPolicy
from tunekit.secrets import get_logger, register_secret
from tunekit_openai.options import OpenAIOptions

if TYPE_CHECKING:
    import openai

__all__ = ["Connection"]

logger = get_logger("tunekit.openai")

T = TypeVar("T")


class _Attempts:
    """Counts the attempts of one call, for the error message."""

    def __init__(self) -> None:
        self.count = 0


class Connection:
    """One lazily built ``openai.OpenAI`` client plus tunekit's retry and error mapping."""

    def __init__(
        self,
        options: OpenAIOptions,
        *,
        provider: str = "openai",
        explain: Callable[[TunekitError], TunekitError] | None = None,
    ) -> None:
        self.options = options
        self.provider = provider
        self.explain = explain
        self._client: openai.OpenAI | None = None
        self._lock = threading.Lock()
        self.policy = RetryPolicy(
            max_attempts=options.max_retries + 1,
            max_wait=options.retry_max_wait,
            deadline=None,
        )
        self.create_policy = RetryPolicy(
            max_attempts=options.create_attempts,
            max_wait=options.retry_max_wait,
            deadline=None,
        )

    def __repr__(self) -> str:
        return f"Connection(provider={self.provider!r})"

    @property
    def client(self) -> openai.OpenAI:
        with self._lock:
            if self._client is None:
                self._client = self.build_client()
            return self._client

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

    def call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """A request that is safe to repeat (reads, cancel, pause, resume), under the retry policy."""
        attempts = _Attempts()

        def attempt() -> T:
            attempts.count += 1
            return fn(*args, **kwargs)

        try:
            return self.policy.call(attempt)
        except TunekitError:
            raise
        except Exception as exc:
            raise self._map(exc, attempts.count) from exc

    def create(self, what: str, send: Callable[[], T], find: Callable[[], T | None]) -> T:
        """A request that creates something, sent again only after ``find`` saw no trace of it.

        A lost response (timeout, reset, 5xx) does not say whether the object
        was created; retrying blindly could start a second job. So before
        each retry ``find`` looks for it (by metadata, by content hash) and
        its answer, when not None, is adopted.
        """
        attempts = _Attempts()

        def attempt() -> T:
            attempts.count += 1
            if attempts.count > 1:
                existing = find()
                if existing is not None:
                    logger.info("%s: the earlier attempt had succeeded; adopting it", what)
                    return existing
            return send()

        try:
            return self.create_policy.call(attempt)
        except TunekitError:
            raise
        except Exception as exc:
            raise self._map(exc, attempts.count) from exc

    def _map(self, exc: BaseException, attempts: int) -> TunekitError:
        error = map_openai_error(exc, provider=self.provider, attempts=attempts)
        return self.explain(error) if self.explain is not None else error

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
