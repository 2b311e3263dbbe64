"""Which credential signs each plane, and what happens when none is given."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

import pytest

from tunekit import Tuner
from tunekit.config import DeployConfig, TuneConfig
from tunekit.errors import ConfigError, DependencyMissingError
from tunekit.jobs import JobStatus
from tunekit_azure.auth import data_plane_auth, token_expiry
from tunekit_azure.options import AzureOptions

HAS_IDENTITY = importlib.util.find_spec("azure") is not None and importlib.util.find_spec("azure.identity") is not None


def test_the_key_wins_over_a_token_unless_entra_is_asked_for(azure_emulator: Any) -> None:
    token = azure_emulator.issue_token()
    both = {"api_key": azure_emulator.api_key, "ad_token": token}
    assert data_plane_auth(AzureOptions.model_validate(both)).kind == "key"
    entra = data_plane_auth(AzureOptions.model_validate({**both, "auth": "entra"}))
    assert entra.kind == "token" and entra.token_provider is not None and entra.token_provider() == token
    assert "token" not in repr(entra).replace("kind='token'", "")


def test_the_key_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "k" * 32)
    auth = data_plane_auth(AzureOptions())
    assert (auth.kind, auth.api_key) == ("key", "k" * 32)


def test_token_expiry_reads_the_jwt(azure_emulator: Any) -> None:
    import time

    expiry = token_expiry(azure_emulator.issue_token(expires_in=600))
    assert expiry is not None and 590 < expiry - time.time() <= 600
    assert token_expiry("not-a-jwt") is None


@pytest.mark.skipif(HAS_IDENTITY, reason="azure-identity is installed: DefaultAzureCredential would try to sign in")
def test_without_credentials_entra_sign_in_needs_the_identity_extra(
    azure_emulator: Any, make_config: Callable[..., TuneConfig]
) -> None:
    tuner = Tuner(make_config(options={"api_key": None}))
    with pytest.raises(ConfigError) as caught:  # found by check(), before any request
        tuner.submit()
    assert "pip install 'tunekit-azure[identity]'" in str(caught.value)
    assert azure_emulator.requests == []
    with pytest.raises(DependencyMissingError, match=r"pip install 'tunekit-azure\[identity\]'"):
        data_plane_auth(AzureOptions())  # what signing in would need


@pytest.mark.skipif(HAS_IDENTITY, reason="azure-identity is installed: DefaultAzureCredential would try to sign in")
def test_deploying_without_an_arm_credential_needs_the_identity_extra(
    azure_emulator: Any, make_config: Callable[..., TuneConfig]
) -> None:
    # A config that deploys is refused before training: the deploy could not happen after paying for it.
    with pytest.raises(ConfigError, match=r"provider_options\.arm\.token"):
        Tuner(make_config(options={"arm": {"token": None}})).submit()
    assert azure_emulator.jobs() == []
    # A later `tunekit deploy` of a run whose config had no deploy section says what signing in needs.
    tuner = Tuner(make_config(options={"arm": {"token": None}}, deploy=None))
    job = tuner.submit()
    assert job.wait(poll_interval=0.02, timeout=30).status is JobStatus.SUCCEEDED
    with pytest.raises(DependencyMissingError, match="Entra ID"):
        tuner.deploy(job.run_id, DeployConfig(name="recipes-bot"))
    assert not [r for r in azure_emulator.requests if r.path.startswith("/subscriptions")]


def test_a_token_provider_error_becomes_an_authentication_error(
    azure_emulator: Any, make_config: Callable[..., TuneConfig]
) -> None:
    from tunekit.errors import AuthenticationError

    def broken() -> str:
        raise RuntimeError("no managed identity endpoint on this machine")

    tuner = Tuner(make_config(options={"api_key": None}))
    tuner.provider.use_credentials(data_plane=broken)  # type: ignore[attr-defined]
    with pytest.raises(AuthenticationError, match=r"could not get a Microsoft Entra ID token.*az login"):
        tuner.submit()
