"""Azure refusals become tunekit errors that say what to do, and bad configs fail before anything is sent."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from tunekit import Tuner
from tunekit.config import TuneConfig
from tunekit.errors import AuthenticationError, ConfigError, ConflictError, NotFoundError, RateLimitedError
from tunekit.jobs import JobStatus
from tunekit_azure import AccountScope, ArmClient, DeploymentManager, OperationFailedError
from tunekit_emulators import Fault

DEPLOYMENTS = "PUT /subscriptions/*/deployments/*"


def trained(make_config: Callable[..., TuneConfig], **options: Any) -> tuple[Tuner, str]:
    tuner = Tuner(make_config(options=options))
    job = tuner.submit()
    assert job.wait(poll_interval=0.02, timeout=30).status is JobStatus.SUCCEEDED
    return tuner, job.run_id


# -- before anything is uploaded --------------------------------------------------------------------


def test_missing_api_version_is_reported_before_any_request(
    azure_emulator: Any, make_config: Callable[..., TuneConfig]
) -> None:
    tuner = Tuner(make_config(options={"api_version": None}))
    with pytest.raises(ConfigError) as caught:
        tuner.validate()
    message = str(caught.value)
    assert "provider_options.api_version" in message
    assert "OPENAI_API_VERSION" in message and "v1" in message
    with pytest.raises(ConfigError, match="api_version"):
        tuner.submit()
    assert azure_emulator.requests == []


def test_api_version_from_the_environment(
    azure_emulator: Any, make_config: Callable[..., TuneConfig], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_VERSION", azure_emulator.api_version)
    tuner = Tuner(make_config(options={"api_version": None}))
    assert tuner.provider.check(tuner.config) == []


def test_unsupported_api_version_says_so(azure_emulator: Any, make_config: Callable[..., TuneConfig]) -> None:
    tuner = Tuner(make_config(options={"api_version": "2023-01-01"}))
    with pytest.raises(NotFoundError) as caught:
        tuner.submit()
    assert "2023-01-01" in str(caught.value)
    assert "provider_options.api_version" in str(caught.value)


@pytest.mark.parametrize("suffix", ["nineteen-characters", "a" * 40])
def test_suffix_over_18_characters_is_refused_before_upload(
    azure_emulator: Any, make_config: Callable[..., TuneConfig], suffix: str
) -> None:
    tuner = Tuner(make_config(suffix=suffix))
    with pytest.raises(ConfigError) as caught:
        tuner.submit()
    lines = [p for p in caught.value.problems if p.startswith("suffix:")]
    assert lines == [f"suffix: azure allows at most 18 characters, {suffix!r} has {len(suffix)}"]
    # Only the look-up for an earlier job of this run happened: nothing was uploaded or created.
    assert {r.method for r in azure_emulator.requests} <= {"GET"}
    assert azure_emulator.files() == [] and azure_emulator.jobs() == []


def test_suffix_of_18_characters_is_accepted(azure_emulator: Any, make_config: Callable[..., TuneConfig]) -> None:
    tuner = Tuner(make_config(suffix="x" * 18))
    assert tuner.provider.check(tuner.config) == []


def test_unknown_sku_is_refused_before_training(azure_emulator: Any, make_config: Callable[..., TuneConfig]) -> None:
    tuner = Tuner(make_config(deploy={"name": "bot", "sku": "Premium"}))
    with pytest.raises(ConfigError, match=r"deploy\.sku: unknown sku 'Premium'"):
        tuner.validate()
    assert azure_emulator.requests == []


# -- deployments --------------------------------------------------------------------------------------


def test_a_deployment_name_taken_by_another_model_is_refused(
    azure_emulator: Any, make_config: Callable[..., TuneConfig]
) -> None:
    tuner, run_id = trained(make_config)
    azure_emulator.deploy("recipes-bot", "gpt-4o-mini")
    with pytest.raises(ConflictError) as caught:
        tuner.deploy(run_id)
    text = str(caught.value)
    assert "'recipes-bot' is taken" in text and "gpt-4o-mini" in text
    assert "--name" in text
    assert not [r for r in azure_emulator.requests if r.method == "PUT"]
    [kept] = azure_emulator.deployments()
    assert kept["properties"]["model"]["name"] == "gpt-4o-mini"


def test_resource_manager_conflict_on_the_name_is_not_retried(azure_emulator: Any) -> None:
    # Another client took the name between our read and our write: ARM's own 409.
    azure_emulator.deploy("bot", "gpt-4o-mini")
    arm = ArmClient(url=azure_emulator.arm_url, api_version="2024-10-01", token_provider=azure_emulator.issue_token)
    scope = AccountScope(azure_emulator.subscription_id, azure_emulator.resource_group, azure_emulator.account)
    body = {"sku": {"name": "Standard", "capacity": 1}, "properties": {"model": {"format": "OpenAI", "name": "gpt-4o"}}}
    with pytest.raises(ConflictError) as caught:
        arm.put_and_wait(scope.deployment_path("bot"), body, what="deploy gpt-4o as bot", timeout=5)
    assert caught.value.code == "DeploymentNameTaken"
    assert "Choose another deployment name" in str(caught.value)
    assert len([r for r in azure_emulator.requests if r.method == "PUT"]) == 1


def test_arm_409_is_retried_until_the_other_operation_ends(
    azure_emulator: Any, make_config: Callable[..., TuneConfig]
) -> None:
    tuner, run_id = trained(make_config)
    azure_emulator.inject(DEPLOYMENTS, Fault.status(409), first_n=2)
    deployed = tuner.deploy(run_id)
    assert deployed.deployment == "recipes-bot"
    puts = [r.status for r in azure_emulator.requests if r.method == "PUT"]
    assert puts == [409, 409, 201]


def test_arm_409_that_persists_is_a_clear_conflict(azure_emulator: Any, make_config: Callable[..., TuneConfig]) -> None:
    tuner, run_id = trained(make_config)
    azure_emulator.inject(DEPLOYMENTS, Fault.status(409))
    with pytest.raises(ConflictError) as caught:
        tuner.deploy(run_id)
    text = str(caught.value)
    assert "after 4 attempts" in text  # max_retries=3 in the test options
    assert "still running" in text and "run the same command again" in text
    assert azure_emulator.deployments() == []
    assert "deployment" not in tuner.ledger.get(run_id).remote or not tuner.ledger.get(run_id).remote["deployment"]


def test_arm_429_honours_retry_after(azure_emulator: Any, make_config: Callable[..., TuneConfig]) -> None:
    tuner, run_id = trained(make_config)
    azure_emulator.inject(DEPLOYMENTS, Fault.status(429, retry_after=0.3), first_n=2)
    started = time.monotonic()
    deployed = tuner.deploy(run_id)
    assert time.monotonic() - started >= 0.6
    assert deployed.deployment == "recipes-bot"
    assert [r.status for r in azure_emulator.requests if r.method == "PUT"] == [429, 429, 201]


def test_arm_429_that_persists_is_a_clear_rate_limit(
    azure_emulator: Any, make_config: Callable[..., TuneConfig]
) -> None:
    tuner, run_id = trained(make_config)
    azure_emulator.inject(DEPLOYMENTS, Fault.status(429, retry_after=0.01))
    with pytest.raises(RateLimitedError) as caught:
        tuner.deploy(run_id)
    assert caught.value.status_code == 429
    assert "throttled" in str(caught.value) and "run the command again" in str(caught.value)
    assert azure_emulator.deployments() == []


def test_a_failed_deployment_surfaces_azure_s_reason(
    azure_emulator: Any, make_config: Callable[..., TuneConfig]
) -> None:
    tuner, run_id = trained(make_config)
    azure_emulator.fail_deployment("recipes-bot", "Insufficient capacity in eastus2.")
    with pytest.raises(OperationFailedError, match="Insufficient capacity in eastus2"):
        tuner.deploy(run_id)
    assert tuner.ledger.get(run_id).result is not None
    assert not tuner.ledger.get(run_id).result.get("deployment")


# -- expired tokens -----------------------------------------------------------------------------------


def test_an_expired_resource_manager_token_is_refused_before_sending(
    azure_emulator: Any, make_config: Callable[..., TuneConfig]
) -> None:
    tuner, run_id = trained(make_config, arm={"token": azure_emulator.issue_token(expires_in=-60)})
    with pytest.raises(AuthenticationError) as caught:
        tuner.deploy(run_id)
    text = str(caught.value)
    assert "Resource Manager token expired" in text
    assert "az account get-access-token --resource https://management.azure.com" in text
    assert not [r for r in azure_emulator.requests if r.path.startswith("/subscriptions")]


def test_a_resource_manager_token_that_expires_mid_run(
    azure_emulator: Any, make_config: Callable[..., TuneConfig]
) -> None:
    tuner, run_id = trained(make_config)
    azure_emulator.expire_tokens()  # valid when configured, refused by the service now (clock skew, revocation)
    with pytest.raises(AuthenticationError) as caught:
        tuner.deploy(run_id)
    assert caught.value.code == "ExpiredAuthenticationToken"
    assert "access token has expired" in str(caught.value)
    assert "cannot be refreshed" in str(caught.value)


def test_an_expired_data_plane_token_is_reported_as_expired(
    azure_emulator: Any, make_config: Callable[..., TuneConfig]
) -> None:
    tuner = Tuner(make_config(options={"api_key": None, "ad_token": azure_emulator.issue_token()}))
    azure_emulator.expire_tokens()
    with pytest.raises(AuthenticationError) as caught:
        tuner.submit()
    assert "Entra ID token for the Azure OpenAI resource has expired" in str(caught.value)
    assert "AZURE_OPENAI_AD_TOKEN" in str(caught.value)
    assert azure_emulator.files() == []


def test_a_refreshing_token_provider_keeps_working(azure_emulator: Any, make_config: Callable[..., TuneConfig]) -> None:
    tuner = Tuner(make_config(options={"api_key": None, "arm": {"token": None}}))
    tuner.provider.use_credentials(data_plane=azure_emulator.issue_token, resource_manager=azure_emulator.issue_token)  # type: ignore[attr-defined]
    job = tuner.submit()
    azure_emulator.expire_tokens()  # every token so far; the provider hands out fresh ones
    assert job.wait(poll_interval=0.02, timeout=30).status is JobStatus.SUCCEEDED
    deployed = tuner.deploy(job.run_id)
    assert deployed.client().chat([{"role": "user", "content": "hi"}]).ok
    assert tuner.undeploy(job.run_id)


def test_a_wrong_key_names_the_setting_to_fix(azure_emulator: Any, make_config: Callable[..., TuneConfig]) -> None:
    tuner = Tuner(make_config(options={"api_key": "0" * 32}))
    with pytest.raises(AuthenticationError, match="AZURE_OPENAI_API_KEY"):
        tuner.submit()


@pytest.mark.azure_emulator(lifecycle="timed", step_seconds=0.3)
def test_deployments_wait_for_operations_that_take_time(azure_emulator: Any) -> None:
    scope = AccountScope(azure_emulator.subscription_id, azure_emulator.resource_group, azure_emulator.account)
    arm = ArmClient(
        url=azure_emulator.arm_url,
        api_version="2024-10-01",
        token_provider=azure_emulator.issue_token,
        poll_interval=0.05,
    )
    manager = DeploymentManager(arm, source=scope, target=scope, timeout=10)
    created = manager.create("bot", "gpt-4o-mini", sku="Standard", capacity=1)
    assert created.state == "Succeeded"
    operation_polls = [r for r in azure_emulator.requests if "/operationStatuses/" in r.path]
    assert len(operation_polls) >= 2  # Creating for a while, then Succeeded

    # A delete still running (started by someone else): creating the same name waits for it, then creates.
    arm.request("DELETE", scope.deployment_path("bot"), what="delete bot")
    assert manager.get("bot").state == "Deleting"  # type: ignore[union-attr]
    again = manager.create("bot", "gpt-4o", sku="globalstandard", capacity=2)
    assert (again.model, again.sku, again.capacity, again.state) == ("gpt-4o", "GlobalStandard", 2, "Succeeded")
    assert [r.status for r in azure_emulator.requests if r.method == "PUT"] == [201, 201]

    assert manager.delete("bot") is True
    assert manager.get("bot") is None
    assert manager.delete("bot") is False


@pytest.mark.azure_emulator(lifecycle="manual")
def test_a_deploy_that_outlasts_its_timeout_is_picked_up_again(
    azure_emulator: Any, make_config: Callable[..., TuneConfig]
) -> None:
    from tunekit_azure import OperationTimeoutError

    tuner = Tuner(make_config(options={"arm": {"deploy_timeout": 0.3}}))
    job = tuner.submit()
    while not job.status().is_terminal:
        azure_emulator.advance(job.job_id)
    with pytest.raises(OperationTimeoutError) as caught:
        tuner.deploy(job.run_id)
    assert "still in progress" in str(caught.value) and "run the same command again" in str(caught.value)
    assert azure_emulator.deployments()[0]["properties"]["provisioningState"] == "Creating"
    azure_emulator.advance_deployment("recipes-bot")
    deployed = tuner.deploy(job.run_id)
    assert deployed.deployment == "recipes-bot"
    assert len([r for r in azure_emulator.requests if r.method == "PUT"]) == 1
