"""The Azure OpenAI emulator: the data plane under ``/openai`` and ``/openai/v1``, plus Resource Manager.

It shares the OpenAI emulator's service and renders Azure's values: job status ``pending`` (then
``notRunning`` while queued), file status ``pending`` until processed, ``trainingType`` on jobs,
fine-tuned model names ``BASE.ft-JOBID[-SUFFIX]``, and 201 with ``Location`` for file creation.
"""

from __future__ import annotations

import base64
import secrets
import urllib.parse
from collections.abc import Mapping
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from tunekit.endpoints import is_loopback
from tunekit_emulators.azure.arm import ArmError, ArmPlane
from tunekit_emulators.azure.auth import DATA_PLANE_API_VERSIONS, TokenIssuer
from tunekit_emulators.azure.control import azure_control_routes
from tunekit_emulators.lifecycle import LifecycleMode
from tunekit_emulators.openai.common import json_body, json_response
from tunekit_emulators.openai.emulator import OpenAICompatibleEmulator
from tunekit_emulators.openai.errors import APIError, invalid_request
from tunekit_emulators.openai.files import FILE_PURPOSES
from tunekit_emulators.openai.store import Flavor

__all__ = ["AZURE_CHAT_MODELS", "AZURE_FINE_TUNABLE_MODELS", "AzureOpenAIEmulator"]

AZURE_FINE_TUNABLE_MODELS: dict[str, frozenset[str]] = {
    "gpt-35-turbo-0125": frozenset({"supervised"}),
    "gpt-35-turbo-1106": frozenset({"supervised"}),
    "gpt-4o-mini-2024-07-18": frozenset({"supervised", "dpo"}),
    "gpt-4o-2024-08-06": frozenset({"supervised", "dpo"}),
    "gpt-4.1-2025-04-14": frozenset({"supervised", "dpo"}),
    "gpt-4.1-mini-2025-04-14": frozenset({"supervised", "dpo"}),
    "gpt-4.1-nano-2025-04-14": frozenset({"supervised", "dpo"}),
    "o4-mini-2025-04-16": frozenset({"reinforcement"}),
}
AZURE_CHAT_MODELS: tuple[str, ...] = (
    "gpt-35-turbo",
    "gpt-4o-mini",
    "gpt-4o",
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-4.1-nano",
    "o4-mini",
    *AZURE_FINE_TUNABLE_MODELS,
)
TRAINING_TYPES = {t.lower(): t for t in ("Standard", "GlobalStandard", "Developer")}
DEFAULT_API_VERSION = "2025-04-01-preview"

_HEX = "0123456789abcdef"
_KEY_DENIED = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an "
    "active subscription and use a correct regional API endpoint for your resource."
)
_TOKEN_DENIED = (
    "Unauthorized. Access token is missing, invalid, audience is incorrect (https://cognitiveservices.azure.com), "
    "or have expired."
)


def _azure_model_name(base: str, suffix: str | None, job_id: str, organization: str) -> str:
    name = f"{base}.ft-{job_id.removeprefix('ftjob-')}"
    return f"{name}-{suffix}" if suffix else name


def _check_training_type(body: Mapping[str, Any]) -> None:
    value = body.get("trainingType")
    if value is not None and (not isinstance(value, str) or value.lower() not in TRAINING_TYPES):
        raise invalid_request(
            f"Invalid trainingType {value!r}; expected one of {', '.join(TRAINING_TYPES.values())}.",
            param="trainingType",
            code="invalidPayload",
        )


def azure_flavor(min_examples: int = 10) -> Flavor:
    return Flavor(
        name="azure",
        organization="azure-openai",
        fine_tunable=dict(AZURE_FINE_TUNABLE_MODELS),
        chat_models=AZURE_CHAT_MODELS,
        job_status={"validating_files": "pending", "queued": "notRunning"},
        file_status={"uploaded": "pending"},
        model_name=_azure_model_name,
        id_alphabet=_HEX,
        id_length=32,
        min_examples=min_examples,
        suffix_max=18,  # Azure's limit; OpenAI allows 64
        file_create_status=201,
        not_ready_code="invalidPayload",
        not_ready_message="The specified file reference must point to a completed file import.",
        job_defaults={"trainingType": "Standard"},
        validate_extra=_check_training_type,
    )


class AzureOpenAIEmulator(OpenAICompatibleEmulator):
    """Azure OpenAI on ``http://127.0.0.1:PORT``: ``/openai/...?api-version=``, ``/openai/v1/...`` and ARM.

    >>> with AzureOpenAIEmulator() as emu:                            # doctest: +SKIP
    ...     client = openai.AzureOpenAI(azure_endpoint=emu.endpoint, api_key=emu.api_key,
    ...                                 api_version=emu.api_version)

    Deploy a model through ARM (``emu.arm_url``, a bearer token from :meth:`issue_token`) or with
    :meth:`deploy`, then chat with ``model=<deployment name>``.
    """

    service: ClassVar[str] = "azure"

    def __init__(
        self,
        lifecycle: LifecycleMode = "immediate",
        seed: int | None = None,
        latency: float = 0.0,
        token_latency: float = 0.0,
        rpm: int | None = None,
        tpm: int | None = None,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        step_seconds: float = 1.0,
        file_lifecycle: LifecycleMode | None = None,
        min_examples: int = 10,
        subscription_id: str = "00000000-0000-0000-0000-000000000001",
        resource_group: str = "tunekit-rg",
        account: str = "tunekit-aoai",
        location: str = "eastus2",
        api_version: str = DEFAULT_API_VERSION,
        access_log: bool = False,
    ) -> None:
        super().__init__(
            flavor=azure_flavor(min_examples),
            lifecycle=lifecycle,
            seed=seed,
            latency=latency,
            token_latency=token_latency,
            rpm=rpm,
            tpm=tpm,
            port=port,
            host=host,
            step_seconds=step_seconds,
            file_lifecycle=file_lifecycle,
            processed_on_create=False,
            extra_job_fields=frozenset({"trainingType"}),
            access_log=access_log,
        )
        if api_version not in DATA_PLANE_API_VERSIONS:
            raise ValueError(
                f"unsupported api_version {api_version!r}; choose one of {sorted(DATA_PLANE_API_VERSIONS)}"
            )
        self.api_version = api_version
        # Random per start: a fixed, printed key would open the emulator to anyone on the machine.
        self.api_key = self.ids.new("", 32, _HEX) if seed is not None else secrets.token_hex(16)
        self.subscription_id = subscription_id
        self.resource_group = resource_group
        self.account = account
        self.tokens = TokenIssuer()
        self.imports: dict[str, bytes] = {}
        self.arm = ArmPlane(
            subscription_id=subscription_id,
            resource_group=resource_group,
            account=account,
            location=location,
            endpoint=lambda: self.url,
            state=self.svc.state,
            lifecycle=self.lifecycle,
            ids=self.ids,
            tokens=self.tokens,
            latency=latency,
        )
        self.svc.chat.resolve = self._resolve_deployment

    # --- addresses ----------------------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        """The resource endpoint, for ``AzureOpenAI(azure_endpoint=...)``."""
        return self.url

    @property
    def base_url(self) -> str:
        """``{endpoint}/openai/v1``, for the version-less API through ``openai.OpenAI(base_url=...)``."""
        return f"{self.url}/openai/v1"

    @property
    def arm_url(self) -> str:
        """The Resource Manager base URL (paths start with ``/subscriptions/...``)."""
        return self.url

    @property
    def deployments_path(self) -> str:
        return f"{self.arm.account_id}/deployments"

    def describe(self) -> dict[str, str]:
        return {
            "endpoint": self.endpoint,
            "api_key": self.api_key,
            "api_version": self.api_version,
            "v1_base_url": self.base_url,
            "arm_url": self.arm_url,
            "subscription_id": self.subscription_id,
            "resource_group": self.resource_group,
            "account": self.account,
            **super().describe(),
        }

    # --- control ------------------------------------------------------------------------------------------

    def issue_token(self, expires_in: float = 3600.0) -> str:
        """A bearer token both planes accept until it expires (``expires_in`` seconds; <= 0 is already expired)."""
        return self.tokens.issue(expires_in)

    def expire_tokens(self) -> None:
        """Expire every token issued so far."""
        self.tokens.expire_all()

    def serve_url(self, url: str, content: bytes) -> None:
        """Make ``url`` importable through ``POST /openai/files/import`` with ``content``."""
        self.imports[url] = content

    def deploy(self, name: str, model: str, *, sku: str = "Standard", capacity: int = 1) -> dict[str, Any]:
        """Create a deployment directly (already ``Succeeded``), bypassing ARM."""
        from tunekit_emulators.azure.arm import DeploymentRecord

        with self.svc.state.lock:
            try:
                checked = self.arm._check_model({"format": "OpenAI", "name": model, "version": "1"})
            except ArmError as exc:
                raise ValueError(exc.message) from None
            record = DeploymentRecord(
                name, checked, {"name": sku, "capacity": capacity}, "Succeeded", 0.0, self.lifecycle.now(), ""
            )
            self.arm.deployments[name] = record
            return self.arm.render(record)

    def deployments(self) -> list[dict[str, Any]]:
        with self.svc.state.lock:
            return [self.arm.render(r) for r in self.arm.deployments.values()]

    def advance_deployment(self, name: str) -> dict[str, Any]:
        """Finish a deployment's current operation now (Creating -> Succeeded, Deleting -> gone)."""
        with self.svc.state.lock:
            record = self.arm.deployments.get(name)
            if record is None:
                raise KeyError(f"no deployment {name!r}")
            if record.state == "Deleting":
                del self.arm.deployments[name]
                return {"name": name, "deleted": True}
            if record.state == "Creating":
                failure = self.arm.planned_failures.pop(name, None)
                record.state = "Failed" if failure else "Succeeded"
                record.error = {"code": "DeploymentFailed", "message": failure} if failure else None
            return self.arm.render(record)

    def fail_deployment(self, name: str, message: str = "The deployment failed due to an internal error.") -> None:
        """Make deployment ``name`` end ``Failed``: now if it is being created, else when it is next created."""
        with self.svc.state.lock:
            record = self.arm.deployments.get(name)
            if record is not None and record.state == "Creating":
                record.state, record.error = "Failed", {"code": "DeploymentFailed", "message": message}
            else:
                self.arm.planned_failures[name] = message

    def control_routes(self) -> list[BaseRoute]:
        return [*super().control_routes(), *azure_control_routes(self)]

    def reset_state(self) -> None:
        super().reset_state()
        self.arm.reset()
        self.tokens.clear()
        self.imports.clear()

    # --- data plane ---------------------------------------------------------------------------------------

    def _resolve_deployment(self, name: str) -> tuple[str, str]:
        record = self.arm.deployments.get(name)
        record = self.arm.tick(record) if record is not None else None
        if record is None or record.state != "Succeeded":
            raise APIError(
                404,
                "The API deployment for this resource does not exist. If you created the deployment within the last "
                "5 minutes, please wait a moment and try again.",
                code="DeploymentNotFound",
            )
        model = str(record.model["name"])
        shown = self.svc.state.models[model].base or model if model in self.svc.state.models else model
        return model, shown

    def _credentials(self, request: Request) -> None:
        key = request.headers.get("api-key")
        if key is not None:
            if key != self.api_key or key in self.svc.state.rejected_keys:
                raise APIError(401, _KEY_DENIED, code="401")
            return
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise APIError(401, _KEY_DENIED, code="401")
        if token == self.api_key and token not in self.svc.state.rejected_keys:
            return
        if not self.tokens.check(token).valid:
            raise APIError(401, _TOKEN_DENIED, code="401")

    def _versioned_guard(self, request: Request) -> None:
        version = request.query_params.get("api-version")
        if version not in DATA_PLANE_API_VERSIONS:
            raise APIError(404, "Resource not found", code="404")
        self._credentials(request)

    def _v1_guard(self, request: Request) -> None:
        version = request.query_params.get("api-version")
        if version not in (None, "preview", "latest", "v1"):
            raise APIError(400, f"api-version '{version}' is not supported on the /openai/v1 API.", code="BadRequest")
        self._credentials(request)

    async def _deployment_chat(self, request: Request) -> Response:
        body = await json_body(request)
        with self.svc.state.lock:
            actual, shown = self._resolve_deployment(request.path_params["deployment"])
        return await self.svc.chat.respond(actual, body, response_model=shown)

    async def _import_file(self, request: Request) -> Response:
        body = await json_body(request)
        for name in ("content_url", "filename", "purpose"):
            if not body.get(name):
                raise invalid_request(f"Missing required parameter: '{name}'.", param=name, code="invalidPayload")
        purpose = str(body["purpose"])
        if purpose not in FILE_PURPOSES:
            raise invalid_request(f"Invalid purpose '{purpose}'.", param="purpose", code="invalidPayload")
        content, failure = await self._fetch(str(body["content_url"]))
        with self.svc.state.lock:
            record = self.svc.files.add_file(str(body["filename"]), purpose, content, failure=failure, processed=False)
            rendered = record.to_api(self.svc.state.flavor)
        location = f"{self.url}/openai/files/{record.id}"
        return json_response(rendered, status=201, headers={"Location": location})

    async def _fetch(self, url: str) -> tuple[bytes, str | None]:
        """The content behind ``url``: registered with :meth:`serve_url`, a ``data:`` URL, or http(s) on loopback.

        Nothing else is read: a ``file://`` URL (or a remote host) would let anyone who can reach the
        emulator read, or make it fetch, whatever its process can.
        """
        if url in self.imports:
            return self.imports[url], None
        if url.startswith("data:"):
            header, _, payload = url[5:].partition(",")
            if header.endswith(";base64"):
                return base64.b64decode(payload), None
            return urllib.parse.unquote_to_bytes(payload), None
        parts = urllib.parse.urlsplit(url)
        shown = parts._replace(query="").geturl()
        failure = f"Error downloading file from content_url {shown}: the resource could not be retrieved."
        if parts.scheme in ("http", "https") and is_loopback(parts.hostname or ""):
            import httpx

            try:
                async with httpx.AsyncClient(timeout=30.0, follow_redirects=False) as client:
                    answer = await client.get(url)
            except httpx.HTTPError:
                return b"", failure
            return (answer.content, None) if answer.status_code == 200 else (b"", failure)
        return b"", failure

    def api_mounts(self) -> list[BaseRoute]:
        def extra(guard: Any) -> list[BaseRoute]:
            return [
                Route("/files/import", self.svc.guarded(self._import_file, guard), methods=["POST"]),
                Route(
                    "/deployments/{deployment}/chat/completions",
                    self.svc.guarded(self._deployment_chat, guard),
                    methods=["POST"],
                ),
            ]

        return [
            Mount("/openai/v1", routes=[*extra(self._v1_guard), *self.svc.routes(self._v1_guard)]),
            Mount("/openai", routes=[*extra(self._versioned_guard), *self.svc.routes(self._versioned_guard)]),
            *self.arm.routes(),
        ]
