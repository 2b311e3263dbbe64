"""HTTP failures into the tunekit exception tree, whatever SDK raised them.

:func:`error_for_status` is the one table from status codes to tunekit
errors; the SDK-specific mappers (:mod:`tunekit.inference.openai_errors`,
the Hugging Face client) extract the status, the service's message and ids,
and call it.
"""

from __future__ import annotations

import re

from tunekit.entrypoints import entry_points, registered
from tunekit.errors import (
    AuthenticationError,
    ConflictError,
    FineTuningUnavailableError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    ProviderError,
    QuotaExceededError,
    RateLimitedError,
    ServiceUnavailableError,
)

__all__ = ["error_for_status", "fine_tuning_unavailable", "other_providers_hint"]


_QUOTA_CODES = frozenset({"insufficient_quota", "billing_hard_limit_reached", "billing_not_active", "quota_exceeded"})
_MODEL_CODES = frozenset({"model_not_available", "model_not_found"})
_FT = re.compile(r"fine[\s_-]?tun", re.IGNORECASE)
_UNAVAILABLE = re.compile(
    r"no longer|not (?:be )?(?:available|allowed|permitted|enabled|supported)|unavailable|disabled|discontinued"
    r"|deprecated|sunset|retired|stopped|not eligible|no access|(?:does ?n[o']t|not) have access",
    re.IGNORECASE,
)


def other_providers_hint(provider: str | None) -> str:
    """Where else the same config could run: the other providers installed here (the core names none itself)."""
    others = sorted({*entry_points(), *registered()} - {provider or ""})
    if not others:
        return "Install another provider (pip install tunekit-<name>), change `provider:` and run it again."
    listing = others[0] if len(others) == 1 else ", ".join(others[:-1]) + f" or {others[-1]}"
    return (
        f"Run the same config on another provider: change `provider:` to {listing} "
        "(with its provider_options) and run it again."
    )


def fine_tuning_unavailable(
    status: int | None, code: str | None, message: str | None, *, creating_job: bool = False
) -> bool:
    """Whether a refusal says the account may not start fine-tuning jobs (as opposed to a bad key or a typo).

    ``creating_job`` says the refused request was the creation of a fine-tuning
    job: a plain 403 there means the same, unless it names a missing key scope.
    """
    if status not in (None, 400, 403, 404, 410):
        return False
    if code in _MODEL_CODES:  # "model X is not available for fine-tuning": the model is the problem, not the account
        return False
    text = " ".join(x for x in (code, message) if x)
    if _FT.search(text) and _UNAVAILABLE.search(text.replace("_", " ")):
        return True
    return creating_job and status == 403 and "scope" not in text.lower()


def error_for_status(
    status: int | None,
    message: str,
    *,
    provider: str | None,
    code: str | None = None,
    param: str | None = None,
    provider_message: str | None = None,
    request_id: str | None = None,
    retry_after: float | None = None,
    attempts: int | None = None,
    connection_failed: bool = False,
    creating_job: bool = False,
) -> ProviderError:
    """The tunekit error for an HTTP status (``None`` with ``connection_failed`` for no response)."""
    tried = f" after {attempts} attempts" if attempts and attempts > 1 else ""

    def make(cls: type[ProviderError], text: str, hint: str | None = None) -> ProviderError:
        return cls(
            text if text.endswith((".", "!", "?")) else text + ".",
            provider=provider,
            status_code=status,
            code=code,
            param=param,
            provider_message=provider_message,
            request_id=request_id,
            hint=hint,
        )

    if connection_failed or status is None:
        return make(
            ServiceUnavailableError,
            f"{message}{tried}",
            "Check the endpoint URL and your network; the service did not answer.",
        )
    if fine_tuning_unavailable(status, code, provider_message or message, creating_job=creating_job):
        return make(
            FineTuningUnavailableError,
            "this account may not start fine-tuning jobs here.",
            other_providers_hint(provider),
        )
    if status == 401:
        return make(
            AuthenticationError,
            "the credentials were rejected.",
            "Check the API key or token in provider_options or the environment.",
        )
    if status == 403:
        return make(
            PermissionDeniedError,
            "the credentials lack a permission for this request.",
            "Check the key's project, role or scopes.",
        )
    if status == 404:
        return make(NotFoundError, message, "Check the model, deployment or object id.")
    if status == 409:
        return make(ConflictError, f"{message}{tried}")
    if status == 402 or (status == 429 and code in _QUOTA_CODES):
        return make(
            QuotaExceededError,
            "the quota or billing limit is exhausted.",
            "Check the plan and billing details; retrying will not help.",
        )
    if status == 429:
        return RateLimitedError(
            f"rate limited{tried}.",
            retry_after=retry_after,
            provider=provider,
            status_code=status,
            code=code,
            param=param,
            provider_message=provider_message,
            request_id=request_id,
        )
    if status == 408 or status >= 500:
        return make(ServiceUnavailableError, f"the service failed (HTTP {status}){tried}.")
    if status in (400, 413, 415, 422):
        return make(InvalidRequestError, message)
    return make(ProviderError, f"{message} (HTTP {status})")
