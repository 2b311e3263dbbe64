"""``huggingface_hub.HfApi``, and the two ways tunekit calls it: safely repeated, or created once.

``HfApi`` has no retries for most calls. Every call goes through tunekit's
shared :class:`~tunekit.retry.RetryPolicy`; a call that creates something
(a job, a Space) looks for what a failed attempt may have created before it
tries again, since a lost response does not say whether the Hub acted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from tunekit.errors import TunekitError
from tunekit.inference import map_hf_error
from tunekit.retry import RetryPolicy
from tunekit.secrets import get_logger, register_secret
from tunekit_autotrain.options import AutoTrainOptions

if TYPE_CHECKING:
    from huggingface_hub import HfApi

__all__ = ["HubConnection"]

logger = get_logger("tunekit.autotrain")

T = TypeVar("T")


class HubConnection:
    """One lazily built ``HfApi`` plus retries, error mapping and the account's namespace."""

    def __init__(self, options: AutoTrainOptions, *, provider: str = "autotrain") -> None:
        self.options = options
        self.provider = provider
        self._api: HfApi | None = None
        self._namespace: str | None = options.namespace
        self._lock = threading.Lock()
        self.policy = RetryPolicy(max_attempts=options.max_retries + 1, max_wait=options.retry_max_wait, deadline=None)
        self.create_policy = RetryPolicy(
            max_attempts=options.create_attempts, max_wait=options.retry_max_wait, deadline=None
        )

    def __repr__(self) -> str:
        return f"HubConnection(endpoint={self.options.resolved_endpoint()!r})"

    @property
    def api(self) -> HfApi:
        with self._lock:
            if self._api is None:
                from huggingface_hub import HfApi

                token = self.options.resolved_token()
                register_secret(token)
                self._api = HfApi(
                    endpoint=self.options.resolved_endpoint(),
                    token=token,
                    library_name="tunekit",
                    library_version="0.1.0",
                )
            return self._api

    @property
    def token(self) -> str:
        return self.options.resolved_token()

    @property
    def namespace(self) -> str:
        """The namespace to work in: the option, else the token's user (asked once)."""
        if self._namespace is None:
            who = self.call(self.api.whoami)
            self._namespace = str(who["name"])
        return self._namespace

    def call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """A request that is safe to repeat (reads, uploads of identical content, cancel), under the retry policy."""
        attempts = [0]

        def attempt() -> T:
            attempts[0] += 1
            return fn(*args, **kwargs)

        try:
            return self.policy.call(attempt)
        except TunekitError:
            raise
        except Exception as exc:
            raise map_hf_error(exc, provider=self.provider, attempts=attempts[0]) from exc

    def create(self, what: str, send: Callable[[], T], find: Callable[[], T | None]) -> T:
        """A request that creates something, sent again only after ``find`` saw no trace of it."""
        attempts = [0]

        def attempt() -> T:
            attempts[0] += 1
            if attempts[0] > 1:
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
            raise map_hf_error(exc, provider=self.provider, attempts=attempts[0]) from exc

    def close(self) -> None:
        with self._lock:
            self._api = None
