"""Credentials for the two Azure planes: a key or Entra ID tokens for the data plane, tokens for ARM.

A token provider is a function returning a bearer token, called before each
request (the ``openai`` SDK's ``azure_ad_token_provider`` contract). With
``azure-identity`` installed (``tunekit-azure[identity]``), the default is
``DefaultAzureCredential`` wrapped by ``get_bearer_token_provider``, which
caches tokens and refreshes them before they expire; a fixed token from the
options or the environment cannot be refreshed, and an expired one is
reported as such.

Every token handed out is registered as a secret, so no log line, error or
ledger entry can carry it.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from tunekit.plugin import AuthenticationError, DependencyMissingError, TunekitError, get_logger, register_secret
from tunekit_azure.options import AzureOptions

__all__ = [
    "ARM_TOKEN_HINT",
    "DATA_TOKEN_HINT",
    "DataPlaneAuth",
    "TokenProvider",
    "arm_token_provider",
    "data_plane_auth",
    "default_token_provider",
    "token_expiry",
]

logger = get_logger("tunekit.azure")

TokenProvider = Callable[[], str]

DATA_TOKEN_HINT = (
    "A fixed token (provider_options.ad_token or AZURE_OPENAI_AD_TOKEN) cannot be refreshed: get a new one "
    "(az account get-access-token --resource https://cognitiveservices.azure.com), or leave it unset so that "
    "DefaultAzureCredential (tunekit-azure[identity]) signs in and refreshes tokens itself."
)
ARM_TOKEN_HINT = (
    "A fixed token (provider_options.arm.token or AZURE_ARM_TOKEN) cannot be refreshed: get a new one "
    "(az account get-access-token --resource https://management.azure.com), or leave it unset so that "
    "DefaultAzureCredential (tunekit-azure[identity]) signs in and refreshes tokens itself."
)
REFRESH_HINT = "The credential handed out an expired token: sign in again (az login) or check the machine's clock."


@dataclass(frozen=True)
class DataPlaneAuth:
    """Exactly one of a resource key and a token provider."""

    api_key: str | None = None
    token_provider: TokenProvider | None = None
    kind: str = "key"
    """``key``, ``token`` (a fixed Entra ID token) or ``entra`` (a refreshing credential)."""

    def __repr__(self) -> str:
        return f"DataPlaneAuth(kind={self.kind!r})"


def _registering(provider: TokenProvider) -> TokenProvider:
    def token() -> str:
        try:
            value = provider()
        except TunekitError:
            raise
        except Exception as exc:  # azure-identity raises its own types; the caller needs ours
            raise AuthenticationError(
                f"could not get a Microsoft Entra ID token ({type(exc).__name__}: {exc})",
                provider="azure",
                hint="Sign in (az login), set the AZURE_CLIENT_ID / AZURE_TENANT_ID / AZURE_CLIENT_SECRET variables "
                "of a service principal, or give a resource key for the data plane.",
            ) from exc
        register_secret(value)
        return value

    return token


def token_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT bearer token (seconds since the epoch), read without verifying it; None if absent."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    return float(exp) if isinstance(exp, (int, float)) and not isinstance(exp, bool) else None


def _fixed(token: str, *, where: str, hint: str) -> TokenProvider:
    """A token that cannot be refreshed: refused before any request once its ``exp`` has passed."""
    register_secret(token)

    def provide() -> str:
        expiry = token_expiry(token)
        if expiry is not None and expiry <= time.time():
            stamp = datetime.fromtimestamp(expiry, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
            raise AuthenticationError(f"the {where} token expired at {stamp}", provider="azure", hint=hint)
        return token

    return provide


def default_token_provider(scope: str) -> TokenProvider:
    """``DefaultAzureCredential`` for ``scope``, refreshed as needed (needs ``azure-identity``)."""
    try:
        from azure.identity import DefaultAzureCredential, get_bearer_token_provider
    except ImportError:
        raise DependencyMissingError(
            "signing in to Azure with Microsoft Entra ID (no key or token was given)",
            "'tunekit-azure[identity]'",
        ) from None
    logger.info("signing in with DefaultAzureCredential for %s", scope)
    provider: TokenProvider = get_bearer_token_provider(DefaultAzureCredential(), scope)
    return _registering(provider)


def data_plane_auth(options: AzureOptions, token_provider: TokenProvider | None = None) -> DataPlaneAuth:
    """How data-plane requests are signed: an explicit provider, a key, a fixed token, or Entra ID."""
    if token_provider is not None:
        return DataPlaneAuth(token_provider=_registering(token_provider), kind="entra")
    key = options.resolved_key()
    if key is not None:
        register_secret(key)
        return DataPlaneAuth(api_key=key, kind="key")
    token = options.resolved_ad_token()
    if token is not None:
        return DataPlaneAuth(token_provider=_fixed(token, where="Entra ID", hint=DATA_TOKEN_HINT), kind="token")
    return DataPlaneAuth(token_provider=default_token_provider(options.scope), kind="entra")


def arm_token_provider(options: AzureOptions, token_provider: TokenProvider | None = None) -> tuple[TokenProvider, str]:
    """The Resource Manager token provider and its kind (``token`` fixed, ``entra`` refreshing)."""
    if token_provider is not None:
        return _registering(token_provider), "entra"
    arm = options.arm
    fixed = arm.token.get_secret_value() if arm.token is not None else os.environ.get("AZURE_ARM_TOKEN")
    if fixed:
        return _fixed(fixed, where="Resource Manager", hint=ARM_TOKEN_HINT), "token"
    return default_token_provider(arm.scope), "entra"
