"""Bad input is refused before anything is uploaded or spent, and a refusal from the service is explained."""

from __future__ import annotations

import pytest
from fireworks_helpers import ConfigFactory
from typer.testing import CliRunner

from tunekit import Tuner
from tunekit.cli.app import app
from tunekit.config import load_config
from tunekit.errors import ConfigError, PermissionDeniedError
from tunekit.registry import create_provider
from tunekit_emulators.fireworks import FireworksEmulator

runner = CliRunner()


def test_a_missing_account_id_is_refused_before_any_request(
    fireworks: FireworksEmulator, make_config: ConfigFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FIREWORKS_ACCOUNT_ID", raising=False)
    config = make_config(fireworks, provider_options={"account_id": None})
    done = runner.invoke(app, ["run", str(config), "--yes"])
    assert done.exit_code != 0
    assert "provider_options.account_id: no Fireworks account id" in str(done.exception)
    assert "FIREWORKS_ACCOUNT_ID" in str(done.exception)
    assert fireworks.requests == []


def test_a_key_of_another_service_is_named(
    fireworks: FireworksEmulator, make_config: ConfigFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(make_config(fireworks))
    monkeypatch.setenv("FIREWORKS_API_KEY", "sk-proj-abcdef0123456789")
    problems = create_provider("fireworks", config.options()).check(config)
    assert problems == ["provider_options.api_key: this is an OpenAI key (sk-…), not a Fireworks API key"]
    assert "sk-proj-abcdef0123456789" not in str(problems)


def test_a_model_fireworks_cannot_tune_is_refused_with_those_it_can(
    fireworks: FireworksEmulator, make_config: ConfigFactory
) -> None:
    config = make_config(fireworks, model="accounts/fireworks/models/deepseek-v3")
    with pytest.raises(ConfigError) as caught:
        Tuner.from_config(config).submit()
    assert "fireworks cannot fine-tune 'accounts/fireworks/models/deepseek-v3'" in str(caught.value)
    assert "llama-v3p1-8b-instruct" in str(caught.value) and fireworks.requests == []


def test_an_adapter_rank_fireworks_does_not_train_is_refused(
    fireworks: FireworksEmulator, make_config: ConfigFactory
) -> None:
    with pytest.raises(ConfigError, match=r"lora.r: Fireworks trains LoRA ranks 4, 8, 16, 32, 64; got 12"):
        Tuner.from_config(make_config(fireworks, lora={"r": 12})).submit()
    assert fireworks.requests == []


def test_a_file_over_the_upload_limit_is_refused_before_upload(
    fireworks: FireworksEmulator, make_config: ConfigFactory, tunekit_home: object
) -> None:
    from tunekit.paths import tunekit_home as home

    (home() / "limits.yaml").write_text("providers:\n  fireworks:\n    max_file_bytes: 1000\n", encoding="utf-8")
    done = runner.invoke(app, ["run", str(make_config(fireworks)), "--yes"])
    assert done.exit_code != 0 and "the limit is 1,000 [file_too_large]" in done.output, done.output
    assert fireworks.requests == []


def test_an_account_the_key_cannot_reach_is_explained(fireworks: FireworksEmulator, make_config: ConfigFactory) -> None:
    config = make_config(fireworks, provider_options={"account_id": "someone-else"})
    with pytest.raises(PermissionDeniedError) as caught:
        Tuner.from_config(config).submit()
    assert "no access to account 'someone-else'" in str(caught.value)
    assert fireworks.jobs() == []
