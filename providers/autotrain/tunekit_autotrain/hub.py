"""``huggingface_hub.HfApi`` under tunekit's shared retries and create-once discipline.

``HfApi`` has no retries for most calls. Every call goes through tunekit's
:class:`~tunekit.remote.RemoteConnection`; a call that creates something
(a job, a Space) looks for what a failed attempt may have created before it
tries again, since a lost response does not say whether the Hub acted.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import tunekit
from tunekit.plugin import RemoteConnection, TunekitError, map_hf_error, register_secret
from tunekit_autotrain.options import AutoTrainOptions

if TYPE_CHECKING:
    from huggingface_hub import HfApi

__all__ = ["HubConnection"]


class HubConnection(RemoteConnection):
    """One lazily built ``HfApi`` plus retries, error mapping and the account's namespace."""

    def __init__(self, options: AutoTrainOptions, *, provider: str = "autotrain") -> None:
        super().__init__(options, provider=provider)
        self.options: AutoTrainOptions = options
        self._api: HfApi | None = None
        self._namespace: str | None = options.namespace
        self._lock = threading.Lock()

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
                    library_version=tunekit.__version__,
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

    def map_error(self, exc: BaseException, attempts: int) -> TunekitError:
        return map_hf_error(exc, provider=self.provider, attempts=attempts)

    def close(self) -> None:
        with self._lock:
            self._api = None
