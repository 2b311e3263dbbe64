"""The data-plane connection: the ``openai`` SDK pointed at an Azure OpenAI resource.

With an api-version, the SDK's ``AzureOpenAI`` client (``/openai/...?api-version=``,
``api-key`` header or an Entra ID token provider); with ``api_version: v1``,
the plain ``OpenAI`` client on the resource's ``/openai/v1/`` base URL, which
takes the key or a token as a bearer credential. Retries and the
create-once discipline are tunekit's (:class:`tunekit.remote.RemoteConnection`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tunekit.plugin import TunekitError
from tunekit_azure.auth import DataPlaneAuth, TokenProvider, data_plane_auth
from tunekit_azure.errors import refine_data_plane_error
from tunekit_azure.options import V1, AzureOptions
from tunekit_openai.connection import Connection

if TYPE_CHECKING:
    import openai

__all__ = ["AzureConnection"]


class AzureConnection(Connection):
    """One lazily built Azure data-plane client, with tunekit's retries and Azure's error reading."""

    def __init__(self, options: AzureOptions, *, token_provider: TokenProvider | None = None) -> None:
        super().__init__(options, provider="azure")
        self.azure = options
        self._token_override = token_provider
        self._auth: DataPlaneAuth | None = None

    @property
    def auth(self) -> DataPlaneAuth:
        if self._auth is None:
            self._auth = data_plane_auth(self.azure, self._token_override)
        return self._auth

    @property
    def api_version(self) -> str:
        return self.azure.resolved_api_version()

    @property
    def endpoint(self) -> str:
        return self.azure.resolved_endpoint()

    def build_client(self) -> openai.OpenAI:
        import openai

        endpoint, version, auth = self.endpoint, self.api_version, self.auth
        if version == V1:
            credential = auth.api_key if auth.api_key is not None else auth.token_provider
            assert credential is not None
            return openai.OpenAI(
                api_key=credential,
                base_url=f"{endpoint}/openai/v1",
                timeout=self.azure.timeout,
                max_retries=0,
            )
        if auth.api_key is not None:
            return openai.AzureOpenAI(
                azure_endpoint=endpoint,
                api_version=version,
                api_key=auth.api_key,
                timeout=self.azure.timeout,
                max_retries=0,
            )
        return openai.AzureOpenAI(
            azure_endpoint=endpoint,
            api_version=version,
            azure_ad_token_provider=auth.token_provider,
            timeout=self.azure.timeout,
            max_retries=0,
        )

    def map_error(self, exc: BaseException, attempts: int) -> TunekitError:
        error = super().map_error(exc, attempts)
        try:
            version: str | None = self.api_version
            endpoint: str | None = self.endpoint
        except TunekitError:
            version = endpoint = None
        auth_kind = self._auth.kind if self._auth is not None else "key"
        return refine_data_plane_error(error, auth_kind=auth_kind, api_version=version, endpoint=endpoint)
