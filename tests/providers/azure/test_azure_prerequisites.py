"""Prerequisites checked before any request: a data-plane credential, the Resource Manager credential a
deployment needs (the identity extra when nothing else signs), and a 404 that names the missing deployment."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tunekit.config import TuneConfig
from tunekit.errors import ConfigError, NotFoundError
from tunekit.tuner import Tuner
from tunekit_azure.auth import identity_installed

needs_no_identity = pytest.mark.skipif(identity_installed(), reason="azure-identity would sign in")


@needs_no_identity
def test_no_data_plane_credential_is_refused_before_any_request(
    azure_emulator: Any, make_config: Callable[..., TuneConfig]
) -> None:
    tuner = Tuner(make_config(options={"api_key": None}))
    with pytest.raises(ConfigError) as caught:
        tuner.submit()
    problems = "\n".join(caught.value.problems)
    assert "provider_options.api_key" in problems and "AZURE_OPENAI_API_KEY" in problems
    assert "tunekit-azure[identity]" in problems
    assert azure_emulator.requests == [] and azure_emulator.jobs() == []


@needs_no_identity
def test_a_deploy_without_a_resource_manager_credential_is_refused_before_training(
    azure_emulator: Any, make_config: Callable[..., TuneConfig]
) -> None:
    tuner = Tuner(make_config(options={"arm": {"token": None}}))  # the resource key cannot sign ARM requests
    with pytest.raises(ConfigError) as caught:
        tuner.submit()
    problems = "\n".join(caught.value.problems)
    assert "provider_options.arm.token" in problems and "AZURE_ARM_TOKEN" in problems
    assert "tunekit-azure[identity]" in problems
    assert azure_emulator.requests == [] and azure_emulator.jobs() == []


def test_the_credentials_given_pass_the_check(azure_emulator: Any, make_config: Callable[..., TuneConfig]) -> None:
    config = make_config()
    assert Tuner(config).provider.check(config) == []


def test_a_missing_base_deployment_is_named(azure_emulator: Any, make_config: Callable[..., TuneConfig]) -> None:
    config = make_config(options={"base_deployment": "base-mini"})
    client = Tuner(config).provider.base_client(config.model)
    with pytest.raises(NotFoundError) as caught:
        client.chat([{"role": "user", "content": "hi"}])
    text = str(caught.value)
    assert "deployment base-mini was not found" in text and "provider_options.base_deployment" in text
