"""Azure's refusals as tunekit errors that say what to do.

The data plane answers in OpenAI's error shape, so the shared mapping
(:func:`tunekit.inference.openai_errors.map_openai_error`) does most of the
work; :func:`refine_data_plane_error` adds what only Azure needs (an expired
Entra ID token, an api-version the resource does not know). Resource Manager
answers ``{"error": {"code", "message"}}`` with its own codes, mapped by
:func:`arm_error`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tunekit.plugin import (
    AuthenticationError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    ProviderError,
    QuotaExceededError,
    RateLimitedError,
    ServiceUnavailableError,
    TunekitError,
    error_for_status,
)
from tunekit_azure.auth import ARM_TOKEN_HINT, DATA_TOKEN_HINT, REFRESH_HINT

__all__ = ["arm_error", "is_expired_token", "is_permanent_conflict", "refine_data_plane_error"]

PROVIDER = "azure"

_PERMANENT_CONFLICT = ("nametaken", "alreadyexists", "notupdatable", "cannotbechanged", "resourceexists")
"""Words of the ARM 409 codes that no wait resolves (the name serves another model); other 409s,
such as ``RequestConflict`` or ``AnotherOperationInProgress``, clear once the other operation ends."""

_QUOTA_CODES = frozenset({"insufficientquota", "quotaexceeded", "skunotavailable", "capacityexceeded"})
_EXPIRED_MARKERS = ("expired", "expiry", "lifetime validation failed", "token is not yet valid")

_DATA_TOKEN_HINT = {"token": DATA_TOKEN_HINT, "entra": REFRESH_HINT}
_ARM_TOKEN_HINT = {"token": ARM_TOKEN_HINT, "entra": REFRESH_HINT}


def is_permanent_conflict(code: str | None) -> bool:
    """Whether an ARM 409 code says retrying cannot help."""
    squashed = (code or "").lower().replace("_", "").replace("-", "")
    return any(word in squashed for word in _PERMANENT_CONFLICT)


def is_expired_token(code: str | None, message: str | None, www_authenticate: str | None = None) -> bool:
    text = " ".join(x for x in (code, message, www_authenticate) if x).lower()
    return any(marker in text for marker in _EXPIRED_MARKERS)


def refine_data_plane_error(
    error: TunekitError, *, auth_kind: str, api_version: str | None, endpoint: str | None = None
) -> TunekitError:
    """Azure's reading of an error the shared OpenAI mapping produced."""
    if not isinstance(error, ProviderError):
        return error
    common: dict[str, Any] = {
        "provider": PROVIDER,
        "status_code": error.status_code,
        "code": error.code,
        "param": error.param,
        "provider_message": error.provider_message,
        "request_id": error.request_id,
    }
    said = " ".join(x for x in (error.code, error.provider_message) if x)
    if isinstance(error, AuthenticationError):
        if auth_kind != "key" and is_expired_token(error.code, error.provider_message):
            return AuthenticationError(
                "the Entra ID token for the Azure OpenAI resource has expired",
                hint=_DATA_TOKEN_HINT.get(auth_kind, _DATA_TOKEN_HINT["entra"]),
                **common,
            )
        hint = (
            "Check that provider_options.api_key (or AZURE_OPENAI_API_KEY) is a key of this resource "
            "(Keys and Endpoint in the Azure portal)."
            if auth_kind == "key"
            else "Check that the signed-in identity has the Cognitive Services OpenAI Contributor role on the resource."
        )
        return AuthenticationError("the Azure OpenAI resource rejected the credentials", hint=hint, **common)
    if error.status_code in (400, 404) and "api-version" in said.lower().replace("api version", "api-version"):
        return InvalidRequestError(
            f"the resource does not accept api-version {api_version!r}",
            hint="Set provider_options.api_version to a version the resource supports (e.g. 2025-04-01-preview), "
            "or api_version: v1 for the /openai/v1/ API.",
            **common,
        )
    if error.status_code == 404 and (error.provider_message or "").strip().rstrip(".").lower() == "resource not found":
        # What Azure answers for an api-version it does not serve, or a host that is no Azure OpenAI resource.
        return NotFoundError(
            f"the resource answered 'Resource not found' (api-version {api_version})",
            hint="Check provider_options.api_version (a version this resource supports, e.g. 2025-04-01-preview, "
            "or v1) and that provider_options.endpoint is the resource's endpoint, https://NAME.openai.azure.com.",
            **common,
        )
    if isinstance(error, NotFoundError) and endpoint:
        return NotFoundError(
            str(error.provider_message or "not found"),
            hint=f"Check the model, deployment or object id, and that {endpoint} is the resource that holds it.",
            **common,
        )
    return error


def _error_body(body: object) -> Mapping[str, Any]:
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping):
            return inner
    return {}


def arm_error(
    status: int,
    body: object,
    *,
    what: str,
    headers: Mapping[str, str] | None = None,
    attempts: int = 1,
    retry_after: float | None = None,
    token_kind: str = "entra",
) -> ProviderError:
    """The tunekit error for a Resource Manager response ``status`` to ``what`` (a short description)."""
    inner = _error_body(body)
    code = str(inner["code"]) if inner.get("code") is not None else None
    message = str(inner["message"]) if inner.get("message") is not None else None
    request_id = (headers or {}).get("x-ms-request-id") or (headers or {}).get("x-ms-correlation-request-id")
    tried = f" after {attempts} attempts" if attempts > 1 else ""
    common: dict[str, Any] = {
        "provider": PROVIDER,
        "status_code": status,
        "code": code,
        "provider_message": message,
        "request_id": request_id,
    }
    lowered = (code or "").lower()
    if status == 401:
        if is_expired_token(code, message, (headers or {}).get("www-authenticate")):
            return AuthenticationError(
                f"{what}: the Resource Manager access token has expired",
                hint=_ARM_TOKEN_HINT.get(token_kind, _ARM_TOKEN_HINT["entra"]),
                **common,
            )
        return AuthenticationError(
            f"{what}: Resource Manager rejected the credentials",
            hint="Resource Manager takes Entra ID tokens only (not the resource key): set provider_options.arm.token "
            "or install tunekit-azure[identity] and sign in (az login).",
            **common,
        )
    if status == 403:
        return PermissionDeniedError(
            f"{what}: the signed-in identity may not manage deployments on this resource",
            hint="Grant it the Cognitive Services Contributor role on the Azure OpenAI resource.",
            **common,
        )
    if status == 404:
        return NotFoundError(
            f"{what}: not found",
            hint="Check provider_options.arm.subscription_id, resource_group and account.",
            **common,
        )
    if status == 409:
        if is_permanent_conflict(code):
            return ConflictError(
                f"{what}: the deployment name is taken",
                hint="Choose another deployment name (--name / deploy.name) or undeploy the existing one first.",
                **common,
            )
        return ConflictError(
            f"{what}: Resource Manager refused with a conflict{tried}",
            hint="Another operation on the deployment or the resource is still running: wait until it ends and run "
            "the same command again (nothing is duplicated).",
            **common,
        )
    if status == 429 or lowered in _QUOTA_CODES:
        if lowered in _QUOTA_CODES:
            return QuotaExceededError(
                f"{what}: the subscription has no quota left for this deployment",
                hint="Lower deploy.capacity, choose another sku, or request more quota for the region.",
                **common,
            )
        wait = f" (it asked for {retry_after:.0f} s)" if retry_after else ""
        return RateLimitedError(
            f"{what}: Resource Manager throttled the requests{tried}{wait}",
            retry_after=retry_after,
            hint="Wait a minute and run the command again; Resource Manager limits writes per subscription per hour.",
            **common,
        )
    if status == 408 or status >= 500:
        return ServiceUnavailableError(
            f"{what}: Resource Manager failed (HTTP {status}){tried}",
            hint="Run the command again later; what was already created is reused.",
            **common,
        )
    if status == 400:
        return InvalidRequestError(f"{what}: {message or 'the request was rejected'}", **common)
    return error_for_status(
        status, f"{what}: {message or 'refused'}", provider=PROVIDER, code=code, provider_message=message
    )
