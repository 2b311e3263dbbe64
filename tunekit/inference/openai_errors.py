"""``openai`` SDK exceptions into the tunekit exception tree.

Used by the OpenAI-compatible chat client and by the OpenAI and Azure
providers, so a rejected key, an exhausted quota or an organization that may
no longer start fine-tuning jobs reads the same everywhere::

    try:
        client.fine_tuning.jobs.create(...)
    except openai.OpenAIError as exc:
        raise map_openai_error(exc, provider="openai") from exc

The service's own message, error code, parameter and request id are kept on
the tunekit error (``provider_message``, ``code``, ``param``, ``request_id``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tunekit.errors import ProviderError, TunekitError
from tunekit.inference.http_errors import error_for_status
from tunekit.retry import is_connection_error, retry_after_of, status_code_of

__all__ = ["map_openai_error", "resource_of"]

# The last path segments that name a resource, and what to call it: /v1/files/ID, /openai/deployments/NAME/...
_RESOURCES = (
    ("fine_tuning/jobs", "fine-tuning job"),
    ("fine-tunes", "fine-tuning job"),
    ("checkpoints", "checkpoint"),
    ("files", "file"),
    ("uploads", "upload"),
    ("models", "model"),
    ("deployments", "deployment"),
)


def _body_error(body: object) -> Mapping[str, Any]:
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping):
            return inner
    return {}


def map_openai_error(exc: BaseException, *, provider: str = "openai", attempts: int | None = None) -> TunekitError:
    """The tunekit error for an exception raised by the ``openai`` SDK.

    ``attempts`` (when the call was retried) goes into the message. A
    :class:`~tunekit.errors.TunekitError` is returned unchanged; anything
    unrecognised becomes a plain :class:`~tunekit.errors.ProviderError`.
    """
    if isinstance(exc, TunekitError):
        return exc
    body = _body_error(getattr(exc, "body", None))
    raw_message = body.get("message") if isinstance(body.get("message"), str) else None
    message = str(raw_message or getattr(exc, "message", None) or exc or type(exc).__name__)
    code = body.get("code") if body.get("code") is not None else getattr(exc, "code", None)
    param = body.get("param") if body.get("param") is not None else getattr(exc, "param", None)
    status = status_code_of(exc)
    request_id = getattr(exc, "request_id", None)
    if status is None and is_connection_error(exc):
        what = "the request timed out" if "timeout" in type(exc).__name__.lower() else "could not reach the service"
        return error_for_status(
            None,
            what,
            provider=provider,
            provider_message=_endpoint(exc),
            attempts=attempts,
            connection_failed=True,
        )
    if status is None:
        return ProviderError(message, provider=provider, provider_message=None)
    summary = message
    if status == 404:
        wanted = resource_of(exc)
        if wanted is not None:  # "not found" alone does not say whether the file, the job or the model is missing
            summary = f"{wanted} was not found"
    return error_for_status(
        status,
        summary,
        provider=provider,
        code=str(code) if code is not None else None,
        param=str(param) if param is not None else None,
        provider_message=message,
        request_id=str(request_id) if request_id else None,
        retry_after=retry_after_of(exc),
        attempts=attempts,
        creating_job=_creates_fine_tuning_job(exc),
    )


def resource_of(exc: BaseException) -> str | None:
    """What a failed request asked for, from its URL (``file file-abc``, ``deployment NAME``) or its model."""
    import json

    request = getattr(exc, "request", None)
    path = str(getattr(getattr(request, "url", None), "path", "") or "").strip("/")
    segments = path.split("/")
    found: str | None = None
    for index in range(len(segments) - 1):
        for prefix, noun in _RESOURCES:
            parts = prefix.split("/")
            if segments[index : index + len(parts)] == parts and index + len(parts) < len(segments):
                found = f"{noun} {segments[index + len(parts)]}"  # the innermost wins: jobs/ID/checkpoints/ID
    if found is not None:
        return found
    content = getattr(request, "content", None)
    if isinstance(content, bytes) and content[:1] == b"{":
        try:
            model = json.loads(content).get("model")
        except ValueError:
            return None
        if isinstance(model, str) and model:
            return f"model {model}"
    return None


def _creates_fine_tuning_job(exc: BaseException) -> bool:
    request = getattr(exc, "request", None)
    if request is None or str(getattr(request, "method", "")).upper() != "POST":
        return False
    path = str(getattr(getattr(request, "url", None), "path", "") or "").rstrip("/")
    return path.endswith("/fine_tuning/jobs")


def _endpoint(exc: BaseException) -> str | None:
    request = getattr(exc, "request", None)
    url = getattr(request, "url", None)
    if url is None:
        return None
    # The URL never carries credentials for the SDK (they travel in headers); drop the query anyway.
    return f"{getattr(request, 'method', 'POST')} {str(url).split('?', 1)[0]}"
