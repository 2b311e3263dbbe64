"""AzureProvider: fine-tune on Azure OpenAI, deploy the result through Resource Manager, chat with it.

The data plane is the OpenAI API, so uploading, submitting, watching,
recovering after a crash, events, metrics and checkpoints are the OpenAI
provider's, run through the ``openai`` SDK's Azure client. What Azure adds
lives here: its credentials, files written UTF-8 with a byte-order mark,
imports from a Blob URL, ``trainingType``, an 18-character suffix, its job
values, and deployments.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar, cast

from tunekit.plugin import (
    DEFAULT_RETRY,
    ConfigError,
    FineTunedModel,
    JobStatus,
    NotFoundError,
    PreparedData,
    RemoteFile,
    RetryPolicy,
    RunContext,
    get_logger,
)
from tunekit_azure.arm import ArmClient, ArmRetryPolicy
from tunekit_azure.auth import DataPlaneAuth, TokenProvider, arm_token_provider, identity_installed
from tunekit_azure.connection import AzureConnection
from tunekit_azure.deployments import (
    BILLING_WARNING,
    SKUS,
    AccountScope,
    DeploymentManager,
    check_deployment_name,
    normalize_sku,
)
from tunekit_azure.files import import_file
from tunekit_azure.options import V1, AzureOptions
from tunekit_azure.pricing import hosting_cost
from tunekit_azure.states import AZURE_STATUSES
from tunekit_openai.provider import OpenAIProvider

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pydantic import BaseModel, SecretStr

    from tunekit.plugin import ChatClient, DeployConfig, HostingCost, TrackingConfig, TuneConfig

__all__ = ["MAX_SUFFIX", "AzureProvider"]

logger = get_logger("tunekit.azure")

MAX_SUFFIX = 18
"""Azure appends at most 18 characters to a tuned model's name (``limits.yaml``'s max_suffix)."""

_FINE_TUNED = re.compile(r"\.ft-|^ft:|:ckpt-step-")


class AzureProvider(OpenAIProvider[AzureOptions]):
    """Fine-tune on an Azure OpenAI resource; deploy, serve and delete the tuned model.

    Credentials come from ``provider_options`` and the environment; to sign
    in with a credential object of your own (a managed identity, a service
    principal), hand token providers to :meth:`use_credentials`.
    """

    name: ClassVar[str] = "azure"
    Options: ClassVar[type[BaseModel]] = AzureOptions
    statuses: ClassVar[Mapping[str, JobStatus]] = AZURE_STATUSES
    service: ClassVar[str] = "Azure OpenAI"

    def __init__(
        self,
        options: BaseModel | None = None,
        *,
        token_provider: TokenProvider | None = None,
        arm_token_provider: TokenProvider | None = None,
    ) -> None:
        super().__init__(options)
        self._token_provider = token_provider
        self._arm_token_provider = arm_token_provider
        self._arm: ArmClient | None = None

    @property
    def azure(self) -> AzureOptions:
        return self.options

    def use_credentials(
        self, *, data_plane: TokenProvider | None = None, resource_manager: TokenProvider | None = None
    ) -> None:
        """Sign requests with these token providers (e.g. ``azure.identity.get_bearer_token_provider(cred, scope)``)."""
        if data_plane is not None:
            self._token_provider = data_plane
            if self._conn is not None:
                self._conn.close()
                self._conn = None
        if resource_manager is not None:
            self._arm_token_provider = resource_manager
            if self._arm is not None:
                self._arm.close()
                self._arm = None

    def make_connection(self) -> AzureConnection:
        return AzureConnection(self.azure, token_provider=self._token_provider)

    @property
    def azure_conn(self) -> AzureConnection:
        return cast(AzureConnection, self.conn)

    @property
    def arm(self) -> ArmClient:
        if self._arm is None:
            options = self.azure
            provider, kind = arm_token_provider(options, self._arm_token_provider)
            self._arm = ArmClient(
                url=options.arm.url,
                api_version=options.arm.api_version,
                token_provider=provider,
                token_kind=kind,
                policy=ArmRetryPolicy(
                    max_attempts=options.max_retries + 1, max_wait=options.retry_max_wait, deadline=None
                ),
                timeout=options.timeout,
                poll_interval=options.arm.poll_interval,
            )
        return self._arm

    def close(self) -> None:
        super().close()
        if self._arm is not None:
            self._arm.close()
            self._arm = None

    # -- before spending ---------------------------------------------------------

    @classmethod
    def hosting_cost(cls, model: str, deploy: DeployConfig | None) -> HostingCost | None:
        return hosting_cost(cls.__module__.split(".")[0], cls.name, model, deploy)

    def check(self, config: TuneConfig) -> list[str]:
        # The limits in limits.yaml (model, 18-character suffix, epochs) and the credentials (credential_problems).
        problems = super().check(config)
        if config.deploy is not None:
            problems.extend(self._deploy_problems(config.deploy))
        return problems

    def credential_problems(self) -> list[str]:
        """The resource's endpoint and API version, and a way to sign data-plane requests (key, token, Entra ID)."""
        options = self.azure
        problems = []
        for field, resolve in (("api_version", options.resolved_api_version), ("endpoint", options.resolved_endpoint)):
            try:
                resolve()
            except ConfigError as exc:
                problems.append(f"provider_options.{field}: {exc}")
        try:
            key = options.resolved_key()
        except ConfigError as exc:
            return [*problems, f"provider_options.api_key: {exc}"]
        signed = key is not None or self._token_provider is not None or options.resolved_ad_token() is not None
        if not signed and not identity_installed():
            problems.append(
                "provider_options.api_key: nothing signs requests to the Azure OpenAI resource: set "
                "AZURE_OPENAI_API_KEY (or provider_options.api_key) or AZURE_OPENAI_AD_TOKEN, or install the identity "
                "extra (pip install 'tunekit-azure[identity]') to sign in with Microsoft Entra ID (az login)"
            )
        return problems

    def _arm_credential_problem(self) -> str | None:
        """Resource Manager takes Entra ID tokens only: a fixed token, an injected provider, or azure-identity."""
        import os

        arm = self.azure.arm
        has_token = (arm.token is not None and arm.token.get_secret_value()) or os.environ.get("AZURE_ARM_TOKEN")
        if has_token or self._arm_token_provider is not None or identity_installed():
            return None
        return (
            "provider_options.arm.token: deployments are made through Azure Resource Manager, which takes Entra ID "
            "tokens only (not the resource key): set AZURE_ARM_TOKEN (az account get-access-token --resource "
            "https://management.azure.com) or provider_options.arm.token, or install the identity extra "
            "(pip install 'tunekit-azure[identity]') and sign in (az login)"
        )

    def _deploy_problems(self, deploy: DeployConfig) -> list[str]:
        problems = []
        try:
            normalize_sku(deploy.sku)
        except ConfigError:
            problems.append(f"deploy.sku: unknown sku {deploy.sku!r}; choose one of {', '.join(SKUS)}")
        if deploy.name is not None:
            problem = check_deployment_name(deploy.name)
            if problem:
                problems.append(f"deploy.name: {problem}")
        try:
            self._source_scope()
        except ConfigError as exc:
            problems.append(f"provider_options.arm: {exc}")
        arm_problem = self._arm_credential_problem()
        if arm_problem:
            problems.append(arm_problem)
        return problems

    # -- data ----------------------------------------------------------------------

    def data_target(self, config: TuneConfig) -> str:
        """Azure reads the OpenAI JSONL formats, written UTF-8 with a byte-order mark."""
        return super().data_target(config).replace("openai", "azure", 1)

    def place_split(self, run: RunContext, role: str, examples: Any, target: str) -> RemoteFile | None:
        """Have Azure import the split from its URL when one is configured; else upload it."""
        url = self._file_urls()[role]
        if url is None:
            return super().place_split(run, role, examples, target)
        run.intent(f"import_{role}", "from a URL")
        remote = import_file(self.conn, url.get_secret_value(), role=role)
        run.outcome(f"import_{role}", remote.id, file_id=remote.id, name=remote.name)
        return remote

    def _file_urls(self) -> dict[str, SecretStr | None]:
        return {"train": self.azure.training_file_url, "validation": self.azure.validation_file_url}

    def prepared_extra(self) -> dict[str, Any]:
        return {"imported": sorted(role for role, url in self._file_urls().items() if url is not None)}

    # -- the job -----------------------------------------------------------------

    def create_params(self, prepared: PreparedData, config: TuneConfig, run: RunContext) -> dict[str, Any]:
        """The OpenAI job body plus Azure's ``trainingType``."""
        params = super().create_params(prepared, config, run)
        if self.azure.training_type is not None:
            params["extra_body"] = {"trainingType": self.azure.training_type}
        return params

    def create_intent(self, params: dict[str, Any]) -> dict[str, Any]:
        return {**super().create_intent(params), "training_type": self.azure.training_type}

    def native_tracking(self, tracking: TrackingConfig) -> bool:
        return False  # Azure OpenAI jobs take no W&B integration: tunekit logs the metrics itself

    # -- deployments -----------------------------------------------------------------

    def _source_scope(self) -> AccountScope:
        import os

        arm = self.azure.arm
        subscription = arm.subscription_id or os.environ.get("AZURE_SUBSCRIPTION_ID")
        group = arm.resource_group or os.environ.get("AZURE_RESOURCE_GROUP")
        account = self.azure.account_name()
        missing = [
            label
            for label, value in (
                ("subscription_id (or AZURE_SUBSCRIPTION_ID)", subscription),
                ("resource_group (or AZURE_RESOURCE_GROUP)", group),
                ("account (or AZURE_OPENAI_ACCOUNT)", account),
            )
            if not value
        ]
        if missing:
            raise ConfigError("deploying needs provider_options.arm." + ", ".join(missing))
        assert subscription and group and account
        return AccountScope(subscription, group, account)

    def _target_scope(self, source: AccountScope) -> AccountScope:
        target = self.azure.arm.target
        if target is None:
            return source
        return AccountScope(target.subscription_id or source.subscription_id, target.resource_group, target.account)

    def _deployments(self, source: AccountScope, target: AccountScope) -> DeploymentManager:
        return DeploymentManager(self.arm, source=source, target=target, timeout=self.azure.arm.deploy_timeout)

    def deploy(self, model: FineTunedModel, deploy: DeployConfig, run: RunContext) -> FineTunedModel:
        """Serve ``model`` (a tuned model or one of its checkpoints) as a deployment; wait until it answers.

        A deployed fine-tuned model is billed by the hour until it is deleted
        (:meth:`undeploy`), which this warns about.
        """
        served = model.model_id
        name = deploy.name or run.run_id
        sku = normalize_sku(deploy.sku)
        source = self._source_scope()
        target = self._target_scope(source)
        manager = self._deployments(source, target)
        hosting = self.hosting_cost(model.base_model, deploy)
        billing = hosting.warning() if hosting is not None else "billed while deployed"
        logger.warning(BILLING_WARNING.format(name=name, model=served, run=run.run_id, hosting=billing))
        run.intent(
            "create_deployment",
            f"{served} as {name} ({sku} x{deploy.capacity}) on {target.account}",
            deployment=name,
            model=served,
            sku=sku,
            capacity=deploy.capacity,
            account=target.account,
            resource_group=target.resource_group,
            source=source.resource_id if manager.cross_resource else None,
        )
        deployment = manager.create(name, served, sku=sku, capacity=deploy.capacity)
        run.outcome("create_deployment", name, deployment=name, state=deployment.state, resource=deployment.resource_id)
        run.remember(deployment=name, deployment_account=target.account)
        metadata = {
            **model.metadata,
            "sku": deployment.sku or sku,
            "capacity": deployment.capacity or deploy.capacity,
            "subscription_id": target.subscription_id,
            "resource_group": target.resource_group,
            "account": target.account,
            "billing": billing,
        }
        if hosting is not None and hosting.per_hour is not None:
            metadata["hourly_price"], metadata["currency"] = hosting.per_hour, hosting.currency
        if manager.cross_resource:
            metadata["endpoint"] = self._target_endpoint()
        return FineTunedModel(
            provider=self.name,
            model_id=served,
            base_model=model.base_model,
            kind="deployment",
            run_id=model.run_id or run.run_id,
            path=model.path,
            checkpoint=model.checkpoint,
            deployment=deployment.name,
            metadata=metadata,
        ).bind(self)

    def undeploy(self, model: FineTunedModel, run: RunContext) -> None:
        """Delete the model's deployment (billing stops); nothing happens when there is none."""
        name = model.deployment or run.remote.get("deployment")
        if not name:
            logger.info("run %s has no deployment to delete", run.run_id)
            return
        source = self._source_scope()
        meta = model.metadata
        if meta.get("account") and meta.get("resource_group") and meta.get("subscription_id"):
            target = AccountScope(str(meta["subscription_id"]), str(meta["resource_group"]), str(meta["account"]))
        else:
            target = self._target_scope(source)
        run.intent("delete_deployment", f"{name} on {target.account}", deployment=name, account=target.account)
        existed = self._deployments(source, target).delete(str(name))
        run.outcome("delete_deployment", f"{name} {'deleted' if existed else 'was already gone'}", deployment=name)
        run.remember(deployment=None, deployment_account=None)
        logger.info("deployment %s %s; it no longer bills", name, "deleted" if existed else "was already gone")

    def _target_endpoint(self) -> str:
        target = self.azure.arm.target
        assert target is not None
        return target.endpoint or f"https://{target.account}.openai.azure.com"

    # -- inference -----------------------------------------------------------------

    def client(self, model: FineTunedModel) -> ChatClient:
        """A chat client for a deployment (Azure serves models only through deployments)."""
        from functools import partial

        from tunekit_azure.chat import AzureChatClient
        from tunekit_azure.errors import refine_data_plane_error

        deployment = model.deployment or (model.model_id if model.kind == "deployment" else None)
        if deployment is None:
            if _FINE_TUNED.search(model.model_id):
                raise NotFoundError(
                    f"no deployment serves {model.model_id}",
                    provider=self.name,
                    hint="On Azure a tuned model answers only once deployed: tunekit deploy RUN --name NAME "
                    "(or Tuner.deploy), then chat with the deployment.",
                )
            deployment = model.model_id  # a base model is called by the name of its deployment
        options = self.azure
        endpoint = str(model.metadata.get("endpoint") or options.resolved_endpoint())
        version = options.resolved_api_version()
        auth = self.azure_conn.auth
        target = options.arm.target
        if target is not None and target.api_key is not None and model.metadata.get("endpoint"):
            # Served by another resource: its own key, not the training resource's.
            auth = DataPlaneAuth(api_key=target.api_key.get_secret_value(), kind="key")
        refine = partial(refine_data_plane_error, auth_kind=auth.kind, api_version=version, endpoint=endpoint)
        client: AzureChatClient
        if version == V1:
            # The plain client takes a string key; a token is fetched now and lasts the client's working life.
            credential = auth.api_key
            if credential is None and auth.token_provider is not None:
                credential = auth.token_provider()
            client = AzureChatClient(
                deployment,
                api_key=credential,
                base_url=f"{endpoint}/openai/v1",
                timeout=options.timeout,
                provider=self.name,
                retry=self._chat_retry(),
            )
        else:
            client = AzureChatClient.azure(  # type: ignore[assignment]  # built as cls, typed as the base
                deployment,
                endpoint=endpoint,
                api_version=version,
                api_key=auth.api_key,
                azure_ad_token_provider=auth.token_provider,
                timeout=options.timeout,
                retry=self._chat_retry(),
            )
        client.refine = refine
        return client

    def base_client(self, model: str) -> ChatClient:
        """A chat client for the untuned base model, through ``base_deployment`` when one is configured."""
        name = self.azure.base_deployment or model
        return self.client(FineTunedModel(provider=self.name, model_id=name, base_model=model, deployment=name))

    def _chat_retry(self) -> RetryPolicy:
        return self.azure.retry_policy(deadline=DEFAULT_RETRY.deadline)
