"""``huggingface_hub.HfApi`` under tunekit's retries, for a provider whose results are pushed to the Hub.

A provider without a Hub connection of its own (one that trains elsewhere and
pushes its result to a repo) uses this one to deploy that repo on an
Inference Endpoint (:mod:`tunekit.serve.inference_endpoints`).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from tunekit.errors import TunekitError
from tunekit.inference.hf_client import map_hf_error
from tunekit.remote import RemoteConnection, RemoteOptions
from tunekit.secrets import register_secret

if TYPE_CHECKING:
    from huggingface_hub import HfApi

__all__ = ["HubConnection"]


class HubConnection(RemoteConnection):
    """One lazily built ``HfApi`` plus retries, error mapping and the namespace (the token's user, asked once)."""

    def __init__(
        self,
        *,
        token: str,
        provider: str,
        endpoint: str | None = None,
        namespace: str | None = None,
        options: RemoteOptions | None = None,
    ) -> None:
        super().__init__(options or RemoteOptions(), provider=provider)
        register_secret(token)
        self._token = token
        self._endpoint = endpoint
        self._namespace = namespace
        self._api: HfApi | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"HubConnection(provider={self.provider!r}, endpoint={self._endpoint!r})"

    @property
    def api(self) -> HfApi:
        with self._lock:
            if self._api is None:
                from huggingface_hub import HfApi

                self._api = HfApi(endpoint=self._endpoint, token=self._token, library_name="tunekit")
            return self._api

    @property
    def token(self) -> str:
        return self._token

    @property
    def namespace(self) -> str:
        if self._namespace is None:
            who = self.call(self.api.whoami)
            self._namespace = str(who["name"])
        return self._namespace

    def map_error(self, exc: BaseException, attempts: int) -> TunekitError:
        return map_hf_error(exc, provider=self.provider, attempts=attempts)
