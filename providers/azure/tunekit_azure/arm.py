"""A small Azure Resource Manager client: signed requests, bounded retries, long-running operations.

ARM has no Python SDK in tunekit's dependencies (``azure-mgmt-cognitiveservices``
would pull in the whole management stack for three calls), so deployments are
created with plain REST over ``httpx``. Each request goes through tunekit's
shared :class:`~tunekit.retry.RetryPolicy`: connection errors, 408, 429 and
5xx are retried with ``Retry-After`` honoured, and so is a 409 unless its code
says the name is taken (another operation still holds the deployment). ``PUT`` and ``DELETE`` are idempotent in
ARM, so repeating them after a lost response cannot create a second
deployment.

Long-running operations are followed the way ARM documents them: the
``Azure-AsyncOperation`` URL (or ``Location`` for a ``202``) is polled until
its ``status`` is terminal, or, when the service gives no such URL (or one on
another host, which must never receive our token), the resource itself is
polled until its ``provisioningState`` is.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from tunekit.plugin import (
    ProviderError,
    RetryPolicy,
    ServiceUnavailableError,
    get_logger,
    retry_after_of,
    status_code_of,
)
from tunekit_azure.auth import TokenProvider
from tunekit_azure.errors import PROVIDER, arm_error, is_permanent_conflict

__all__ = ["ArmClient", "ArmHTTPError", "ArmRetryPolicy", "OperationFailedError", "OperationTimeoutError", "arm_path"]

logger = get_logger("tunekit.azure.arm")

SUCCEEDED = "succeeded"
FAILED_STATES = frozenset({"failed", "canceled", "cancelled"})
_MAX_POLL_WAIT = 60.0


class ArmHTTPError(Exception):
    """One ARM response with an error status, before it becomes a tunekit error (kept for the retry policy)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.status_code = response.status_code
        try:
            self.body: Any = response.json()
        except ValueError:
            self.body = {}
        inner = self.body.get("error") if isinstance(self.body, dict) else None
        self.code: str | None = str(inner["code"]) if isinstance(inner, dict) and inner.get("code") else None
        super().__init__(f"HTTP {self.status_code} {self.code or ''}".strip())


class OperationFailedError(ProviderError):
    """A long-running ARM operation ended Failed or Canceled."""


class OperationTimeoutError(ProviderError, TimeoutError):
    """A long-running ARM operation did not finish in time (it goes on in Azure)."""


class ArmRetryPolicy(RetryPolicy):
    """The shared policy, except that a 409 whose code says the name is taken is not retried."""

    def should_retry(self, exc: BaseException) -> bool:
        if status_code_of(exc) == 409 and is_permanent_conflict(getattr(exc, "code", None)):
            return False
        return super().should_retry(exc)


def arm_path(*segments: str) -> str:
    """A resource path from raw segments, each escaped: ``arm_path("subscriptions", sub, ...)``."""
    return "/" + "/".join(quote(s, safe="") for s in segments)


class ArmClient:
    """Signed, retried requests to Resource Manager, and waiting on what they start."""

    def __init__(
        self,
        *,
        url: str,
        api_version: str,
        token_provider: TokenProvider,
        token_kind: str = "entra",
        policy: RetryPolicy | None = None,
        timeout: float = 60.0,
        poll_interval: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.api_version = api_version
        self.token_kind = token_kind
        self.poll_interval = poll_interval
        self.policy = policy or ArmRetryPolicy()
        self._token = token_provider
        self._origin = _origin(self.url)
        self._http = httpx.Client(base_url=self.url, timeout=timeout, transport=transport, follow_redirects=False)

    def __repr__(self) -> str:
        return f"ArmClient(url={self.url!r}, api_version={self.api_version!r})"

    def close(self) -> None:
        self._http.close()

    # -- single requests ------------------------------------------------------------

    def _send(self, method: str, url: str, body: Mapping[str, Any] | None) -> httpx.Response:
        absolute = "://" in url
        if absolute and _origin(url) != self._origin:
            raise ProviderError(f"refusing to send the Resource Manager token to {_origin(url)[1]}", provider=PROVIDER)
        headers = {
            "Authorization": f"Bearer {self._token()}",
            "x-ms-client-request-id": str(uuid.uuid4()),
            "Accept": "application/json",
        }
        params = None if absolute else {"api-version": self.api_version}
        response = self._http.request(method, url, params=params, json=body, headers=headers)
        if response.status_code >= 400:
            raise ArmHTTPError(response)
        return response

    def request(
        self,
        method: str,
        url: str,
        *,
        what: str,
        body: Mapping[str, Any] | None = None,
        missing_ok: bool = False,
    ) -> httpx.Response | None:
        """One request under the retry policy; ``None`` for a 404 when ``missing_ok``."""
        attempts = 0

        def attempt() -> httpx.Response:
            nonlocal attempts
            attempts += 1
            return self._send(method, url, body)

        try:
            return self.policy.call(attempt)
        except ArmHTTPError as exc:
            if exc.status_code == 404 and missing_ok:
                return None
            raise arm_error(
                exc.status_code,
                exc.body,
                what=what,
                headers=exc.response.headers,
                attempts=attempts,
                retry_after=retry_after_of(exc),
                token_kind=self.token_kind,
            ) from None
        except httpx.TransportError as exc:
            raise ServiceUnavailableError(
                f"{what}: could not reach Resource Manager at {self.url} ({type(exc).__name__})"
                + (f" after {attempts} attempts" if attempts > 1 else ""),
                provider=PROVIDER,
                hint="Check provider_options.arm.url and the network; run the command again, nothing is duplicated.",
            ) from None

    def get(self, path: str, *, what: str) -> dict[str, Any] | None:
        response = self.request("GET", path, what=what, missing_ok=True)
        return None if response is None else _json(response)

    # -- long-running operations --------------------------------------------------------

    def put_and_wait(self, path: str, body: Mapping[str, Any], *, what: str, timeout: float) -> dict[str, Any]:
        """``PUT`` a resource and wait until its provisioning succeeded; the final resource."""
        response = self.request("PUT", path, what=what, body=body)
        assert response is not None
        resource = _json(response)
        if response.status_code == 200 and _provisioning(resource) == SUCCEEDED:
            return resource
        self._wait(response, path, what=what, timeout=timeout, gone=False)
        final = self.get(path, what=what)
        if final is None:
            raise OperationFailedError(f"{what}: the resource vanished while being created", provider=PROVIDER)
        state = _provisioning(final)
        if state != SUCCEEDED:
            raise OperationFailedError(f"{what}: provisioning ended {state or 'unknown'}", provider=PROVIDER)
        return final

    def delete_and_wait(self, path: str, *, what: str, timeout: float) -> bool:
        """``DELETE`` a resource and wait until it is gone; False when there was nothing to delete."""
        response = self.request("DELETE", path, what=what, missing_ok=True)
        if response is None or response.status_code == 204:  # ARM's 204: there was nothing to delete
            return False
        if response.status_code == 200 and not _has_operation(response):
            return True
        self._wait(response, path, what=what, timeout=timeout, gone=True)
        return True

    def wait_for(self, path: str, *, what: str, timeout: float, gone: bool = False) -> dict[str, Any] | None:
        """Poll a resource until its provisioning ends (or, with ``gone``, until it no longer exists)."""
        self._wait(None, path, what=what, timeout=timeout, gone=gone)
        return None if gone else self.get(path, what=what)

    def _wait(self, started: httpx.Response | None, path: str, *, what: str, timeout: float, gone: bool) -> None:
        deadline = time.monotonic() + timeout
        operation = _operation_url(started) if started is not None else None
        if operation is not None and _origin(operation) != self._origin:
            logger.warning("%s: the operation URL is on another host; polling the resource instead", what)
            operation = None
        last = started
        while True:
            if time.monotonic() >= deadline:
                raise OperationTimeoutError(
                    f"{what}: still in progress after {timeout:.0f} s",
                    provider=PROVIDER,
                    hint="It goes on in Azure; run the same command again to keep waiting "
                    "(or raise provider_options.arm.deploy_timeout).",
                )
            time.sleep(self._pause(last, deadline))
            if operation is not None:
                response = self.request("GET", operation, what=f"{what} (operation status)")
                assert response is not None
                last = response
                data = _json(response)
                status = str(data.get("status") or "").lower()
                if status == SUCCEEDED or (not status and response.status_code in (200, 204)):
                    return
                if status in FAILED_STATES:
                    raise _failed(what, status, data)
                continue
            resource_response = self.request("GET", path, what=what, missing_ok=gone)
            if resource_response is None:
                return  # deleted
            last = resource_response
            resource = _json(resource_response)
            state = _provisioning(resource)
            if not gone and state in (SUCCEEDED, None):
                return
            if state in FAILED_STATES:
                raise _failed(what, state, resource.get("properties") or {})

    def _pause(self, response: httpx.Response | None, deadline: float) -> float:
        wait = self.poll_interval
        after = response.headers.get("retry-after") if response is not None else None
        if after is not None:
            with contextlib.suppress(ValueError):
                wait = float(after)
        return max(0.0, min(wait, _MAX_POLL_WAIT, deadline - time.monotonic()))


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def _json(response: httpx.Response) -> dict[str, Any]:
    if not response.content:
        return {}
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _provisioning(resource: Mapping[str, Any]) -> str | None:
    properties = resource.get("properties")
    if isinstance(properties, Mapping) and properties.get("provisioningState"):
        return str(properties["provisioningState"]).lower()
    return None


def _operation_url(response: httpx.Response) -> str | None:
    url = response.headers.get("azure-asyncoperation")
    if url:
        return str(url)
    location = response.headers.get("location")
    if response.status_code == 202 and location:
        return str(location)
    return None


def _has_operation(response: httpx.Response) -> bool:
    return _operation_url(response) is not None


def _failed(what: str, state: str, data: Mapping[str, Any]) -> OperationFailedError:
    error = data.get("error")
    code = message = None
    if isinstance(error, Mapping):
        code = str(error["code"]) if error.get("code") else None
        message = str(error["message"]) if error.get("message") else None
    return OperationFailedError(
        f"{what}: the operation ended {state}",
        provider=PROVIDER,
        code=code,
        provider_message=message,
        hint="See the deployment in the Azure portal for details; fix the cause and run the command again.",
    )
