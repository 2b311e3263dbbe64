"""``huggingface_hub.HfApi`` under tunekit's retries, for every provider that works with the Hub.

``HfApi`` has no retries for most calls. Every call goes through tunekit's
:class:`~tunekit.remote.RemoteConnection`. A provider that trains on the Hub
(AutoTrain) builds on this class; one that trains elsewhere and pushes its
result to a repo uses it as is to deploy that repo on an Inference Endpoint
(:mod:`tunekit.serve.inference_endpoints`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from tunekit.errors import TunekitError
from tunekit.inference.hf_client import map_hf_error
from tunekit.remote import RemoteConnection, RemoteOptions
from tunekit.secrets import register_secret

if TYPE_CHECKING:
    from huggingface_hub import HfApi

__all__ = ["HubConnection"]


class HubConnection(RemoteConnection):
    """One lazily built ``HfApi`` plus retries, error mapping and the namespace (the token's user, asked once).

    ``token`` may be a function: a provider whose token comes from the environment reads it when the
    first request needs it, so building the provider (``tunekit estimate``, ``validate``) needs none.
    """

    def __init__(
        self,
        *,
        token: str | Callable[[], str],
        provider: str,
        endpoint: str | None = None,
        namespace: str | None = None,
        options: RemoteOptions | None = None,
        library_version: str | None = None,
    ) -> None:
        super().__init__(options or RemoteOptions(), provider=provider)
        if isinstance(token, str):
            register_secret(token)
        self._token = token
        self._endpoint = endpoint
        self._namespace = namespace
        self._library_version = library_version  # the Hub's user agent names the caller
        self._api: HfApi | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"HubConnection(provider={self.provider!r}, endpoint={self._endpoint!r})"

    @property
    def api(self) -> HfApi:
        with self._lock:
            if self._api is None:
                from huggingface_hub import HfApi

                self._api = HfApi(
                    endpoint=self._endpoint,
                    token=self.token,
                    library_name="tunekit",
                    library_version=self._library_version,
                )
            return self._api

    @property
    def token(self) -> str:
        if isinstance(self._token, str):
            return self._token
        token = self._token()
        register_secret(token)
        return token

    @property
    def namespace(self) -> str:
        """The namespace to work in: the one given, else the token's user (asked once)."""
        if self._namespace is None:
            who = self.call(self.api.whoami)
            self._namespace = str(who["name"])
        return self._namespace

    def map_error(self, exc: BaseException, attempts: int) -> TunekitError:
        return map_hf_error(exc, provider=self.provider, attempts=attempts)

    def close(self) -> None:
        with self._lock:
            self._api = None
