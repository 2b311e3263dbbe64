"""The Resource Manager control plane for one Azure OpenAI account: deployments and their operations.

``PUT`` starts a deployment in ``Creating`` and answers 201 with an ``Azure-AsyncOperation`` URL;
the deployment moves to ``Succeeded`` (or ``Failed``) under the emulator's lifecycle. ``DELETE``
answers 202 and the deployment is gone once its ``Deleting`` step is over. A ``PUT`` or ``DELETE``
while another operation runs on the same deployment is a 409 ``RequestConflict``; a ``PUT`` naming
another model for an existing deployment is a 409 too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tunekit_emulators.azure.auth import ARM_API_VERSIONS, TokenIssuer
from tunekit_emulators.base import IdFactory
from tunekit_emulators.lifecycle import Lifecycle
from tunekit_emulators.openai.common import json_response
from tunekit_emulators.openai.store import OpenAIState

__all__ = ["ArmError", "ArmPlane", "DeploymentRecord"]

_SKUS = {
    s.lower(): s for s in ("Standard", "GlobalStandard", "DataZoneStandard", "DeveloperTier", "ProvisionedManaged")
}
_CREATE_PATH = ("Creating", "Succeeded")
_DELETE_PATH = ("Deleting", "Deleted")
_PROVIDER = "Microsoft.CognitiveServices"


class ArmError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> Response:
        return json_response({"error": {"code": self.code, "message": self.message}}, status=self.status)


@dataclass
class DeploymentRecord:
    name: str
    model: dict[str, Any]
    sku: dict[str, Any]
    state: str
    entered_at: float
    created_at: float
    operation: str
    error: dict[str, str] | None = None
    history: list[str] = field(default_factory=list)

    @property
    def busy(self) -> bool:
        return self.state in ("Creating", "Deleting")


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(ts))


class ArmPlane:
    """ARM routes under one account: ``/subscriptions/{sub}/resourceGroups/{rg}/providers/.../accounts/{a}``."""

    def __init__(
        self,
        *,
        subscription_id: str,
        resource_group: str,
        account: str,
        location: str,
        endpoint: Callable[[], str],
        state: OpenAIState,
        lifecycle: Lifecycle,
        ids: IdFactory,
        tokens: TokenIssuer,
        latency: float = 0.0,
    ) -> None:
        self.subscription_id = subscription_id
        self.resource_group = resource_group
        self.account = account
        self.location = location
        self.endpoint = endpoint
        self.state = state
        self.lifecycle = lifecycle
        self.ids = ids
        self.tokens = tokens
        self.latency = latency
        self.deployments: dict[str, DeploymentRecord] = {}
        self.operations: dict[str, tuple[str, str]] = {}
        self.planned_failures: dict[str, str] = {}

    # --- helpers ------------------------------------------------------------------------------------------

    @property
    def account_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/{_PROVIDER}/accounts/{self.account}"
        )

    def reset(self) -> None:
        with self.state.lock:
            self.deployments.clear()
            self.operations.clear()
            self.planned_failures.clear()

    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if not header:
            raise ArmError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
        if scheme.lower() != "bearer" or not token:
            raise ArmError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is invalid.")
        check = self.tokens.check(token.strip())
        if check.expired:
            raise ArmError(
                401,
                "ExpiredAuthenticationToken",
                f"The access token expiry UTC time '{_iso(check.expires_at)}' is earlier than current UTC time "
                f"'{_iso(time.time())}'.",
            )
        if not check.valid:
            raise ArmError(401, "InvalidAuthenticationToken", "The access token is invalid.")

    def _api_version(self, request: Request) -> None:
        version = request.query_params.get("api-version")
        if not version:
            raise ArmError(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        if version not in ARM_API_VERSIONS:
            raise ArmError(
                400,
                "NoRegisteredProviderFound",
                f"No registered resource provider found for location '{self.location}' and API version '{version}' "
                f"for type 'accounts'. The supported api-versions are '{', '.join(sorted(ARM_API_VERSIONS))}'.",
            )

    def _scope(self, request: Request) -> None:
        params = request.path_params
        if params["subscription"].lower() != self.subscription_id.lower():
            raise ArmError(
                404, "SubscriptionNotFound", f"The subscription '{params['subscription']}' could not be found."
            )
        if params["group"].lower() != self.resource_group.lower():
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{params['group']}' could not be found.")
        if params.get("account", self.account).lower() != self.account.lower():
            raise ArmError(
                404,
                "ResourceNotFound",
                f"The Resource '{_PROVIDER}/accounts/{params['account']}' under resource group "
                f"'{self.resource_group}' was not found.",
            )

    def tick(self, record: DeploymentRecord) -> DeploymentRecord | None:
        """Apply due transitions; None when a finished delete removed the deployment."""
        path = _DELETE_PATH if record.state == "Deleting" else _CREATE_PATH
        for target, at in self.lifecycle.due(path, record.state, record.entered_at):
            if target == "Deleted":
                self.deployments.pop(record.name, None)
                return None
            if target == "Succeeded" and record.name in self.planned_failures:
                message = self.planned_failures.pop(record.name)
                record.state, record.error = "Failed", {"code": "DeploymentFailed", "message": message}
            else:
                record.state = target
            record.entered_at = at
        return record

    def render(self, record: DeploymentRecord) -> dict[str, Any]:
        model_name = str(record.model.get("name", ""))
        return {
            "id": f"{self.account_id}/deployments/{record.name}",
            "type": f"{_PROVIDER}/accounts/deployments",
            "name": record.name,
            "sku": record.sku,
            "properties": {
                "model": record.model,
                "provisioningState": record.state,
                "capabilities": {"chatCompletion": "true"},
                "raiPolicyName": "Microsoft.DefaultV2",
                "versionUpgradeOption": "NoAutoUpgrade",
                "rateLimits": [{"key": "request", "renewalPeriod": 10, "count": int(record.sku.get("capacity", 1))}],
                **({"error": record.error} if record.error else {}),
            },
            "systemData": {
                "createdAt": _iso(record.created_at),
                "createdBy": "tunekit-emulator",
                "createdByType": "User",
                "lastModifiedAt": _iso(record.entered_at),
            },
            "etag": f'"{abs(hash((record.name, model_name, record.state))):x}"',
        }

    def _operation_url(self, operation: str, request: Request) -> str:
        version = request.query_params.get("api-version", "")
        return (
            f"{self.endpoint()}/subscriptions/{self.subscription_id}/providers/{_PROVIDER}/locations/{self.location}"
            f"/operationStatuses/{operation}?api-version={version}"
        )

    def _check_model(self, model: Any) -> dict[str, Any]:
        if not isinstance(model, Mapping) or not model.get("name"):
            raise ArmError(400, "InvalidResourceProperties", "properties.model.name is required.")
        name = str(model["name"])
        fmt = str(model.get("format", "OpenAI"))
        known = name in self.state.models or name in self.state.flavor.chat_models
        if fmt != "OpenAI" or not known:
            raise ArmError(
                400,
                "DeploymentModelNotSupported",
                f"The model '{fmt}/{name}/{model.get('version', '')}' is not supported by this account "
                "or does not exist.",
            )
        return {
            "format": fmt,
            "name": name,
            "version": str(model.get("version", "1")),
            **{k: v for k, v in model.items() if k == "source"},
        }

    @staticmethod
    def _check_sku(sku: Any) -> dict[str, Any]:
        if not isinstance(sku, Mapping) or not sku.get("name"):
            raise ArmError(400, "InvalidResourceProperties", "sku.name is required.")
        canonical = _SKUS.get(str(sku["name"]).lower())
        if canonical is None:
            raise ArmError(
                400,
                "InvalidSkuName",
                f"The sku '{sku['name']}' is not supported; use one of {', '.join(_SKUS.values())}.",
            )
        capacity = sku.get("capacity", 1)
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ArmError(400, "InvalidCapacity", "sku.capacity must be a positive integer.")
        return {"name": canonical, "capacity": capacity}

    # --- routes -------------------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        account = (
            "/subscriptions/{subscription}/resourceGroups/{group}"
            "/providers/Microsoft.CognitiveServices/accounts/{account}"
        )
        return [
            Route(account, self._wrap(self.get_account), methods=["GET"]),
            Route(account + "/deployments", self._wrap(self.list_deployments), methods=["GET"]),
            Route(account + "/deployments/{name}", self._wrap(self.get_deployment), methods=["GET"]),
            Route(account + "/deployments/{name}", self._wrap(self.put_deployment), methods=["PUT"]),
            Route(account + "/deployments/{name}", self._wrap(self.delete_deployment), methods=["DELETE"]),
            Route(
                "/subscriptions/{subscription}/providers/Microsoft.CognitiveServices/locations/{location}"
                "/operationStatuses/{operation}",
                self._wrap(self.get_operation, scoped=False),
                methods=["GET"],
            ),
        ]

    def _wrap(self, handler: Callable[[Request], Any], *, scoped: bool = True) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            try:
                self._authenticate(request)
                self._api_version(request)
                if scoped:
                    self._scope(request)
                elif request.path_params["subscription"].lower() != self.subscription_id.lower():
                    raise ArmError(404, "SubscriptionNotFound", "The subscription could not be found.")
                if self.latency:
                    import asyncio

                    await asyncio.sleep(self.latency)
                result: Response = await handler(request)
                return result
            except ArmError as exc:
                return exc.response()

        return endpoint

    async def get_account(self, request: Request) -> Response:
        return json_response(
            {
                "id": self.account_id,
                "name": self.account,
                "type": f"{_PROVIDER}/accounts",
                "kind": "OpenAI",
                "location": self.location,
                "sku": {"name": "S0"},
                "properties": {"endpoint": self.endpoint() + "/", "provisioningState": "Succeeded"},
            }
        )

    async def list_deployments(self, request: Request) -> Response:
        with self.state.lock:
            records = [r for r in (self.tick(d) for d in list(self.deployments.values())) if r is not None]
            return json_response({"value": [self.render(r) for r in records]})

    async def get_deployment(self, request: Request) -> Response:
        name = request.path_params["name"]
        with self.state.lock:
            record = self.deployments.get(name)
            record = self.tick(record) if record is not None else None
            if record is None:
                raise ArmError(
                    404,
                    "DeploymentNotFound",
                    f"The Resource '{_PROVIDER}/accounts/{self.account}/deployments/{name}' under resource group "
                    f"'{self.resource_group}' was not found.",
                )
            return json_response(self.render(record))

    async def put_deployment(self, request: Request) -> Response:
        name = request.path_params["name"]
        try:
            body = await request.json()
        except ValueError:
            raise ArmError(
                400, "InvalidRequestContent", "The request content was invalid and could not be deserialized."
            ) from None
        if not isinstance(body, Mapping):
            raise ArmError(400, "InvalidRequestContent", "The request content must be a JSON object.")
        properties = body.get("properties") or {}
        with self.state.lock:
            model = self._check_model(properties.get("model") if isinstance(properties, Mapping) else None)
            sku = self._check_sku(body.get("sku"))
            existing = self.deployments.get(name)
            existing = self.tick(existing) if existing is not None else None
            now = self.lifecycle.now()
            if existing is not None:
                if existing.busy:
                    raise ArmError(
                        409,
                        "RequestConflict",
                        f"Another operation is in progress on deployment '{name}' ({existing.state}); "
                        "retry when it has finished.",
                    )
                if existing.model.get("name") != model["name"]:
                    raise ArmError(
                        409,
                        "DeploymentNameTaken",
                        f"Deployment '{name}' already exists and serves model '{existing.model.get('name')}'; "
                        "its model cannot be changed.",
                    )
                existing.sku = sku
                existing.history.append("updated")
                return json_response(self.render(existing), status=200)
            operation = self.ids.new("", 32, "0123456789abcdef")
            record = DeploymentRecord(name, model, sku, "Creating", now, time.time(), operation)
            self.deployments[name] = record
            self.operations[operation] = (name, "create")
            url = self._operation_url(operation, request)
            return json_response(
                self.render(record), status=201, headers={"Azure-AsyncOperation": url, "Location": url}
            )

    async def delete_deployment(self, request: Request) -> Response:
        name = request.path_params["name"]
        with self.state.lock:
            record = self.deployments.get(name)
            record = self.tick(record) if record is not None else None
            if record is None:
                return Response(status_code=204)
            if record.busy:
                raise ArmError(
                    409,
                    "RequestConflict",
                    f"Another operation is in progress on deployment '{name}' ({record.state}); "
                    "retry when it has finished.",
                )
            operation = self.ids.new("", 32, "0123456789abcdef")
            record.state, record.entered_at, record.operation = "Deleting", self.lifecycle.now(), operation
            self.operations[operation] = (name, "delete")
            url = self._operation_url(operation, request)
            return Response(status_code=202, headers={"Azure-AsyncOperation": url, "Location": url})

    async def get_operation(self, request: Request) -> Response:
        operation = request.path_params["operation"]
        with self.state.lock:
            entry = self.operations.get(operation)
            if entry is None:
                raise ArmError(404, "OperationNotFound", f"Operation '{operation}' was not found.")
            name, kind = entry
            record = self.deployments.get(name)
            record = self.tick(record) if record is not None else None
            status, error = "InProgress", None
            if kind == "delete":
                if record is None or record.operation != operation:
                    status = "Succeeded"
            elif record is None or record.operation != operation:
                status = "Canceled"
            elif record.state == "Succeeded":
                status = "Succeeded"
            elif record.state == "Failed":
                status, error = "Failed", record.error
            body: dict[str, Any] = {"id": request.url.path, "name": operation, "status": status}
            if error:
                body["error"] = error
            return json_response(body)
