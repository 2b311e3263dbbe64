"""Before anything is uploaded: the token; and, when an evaluation will follow, an inference endpoint that answers."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from autotrain_helpers import TunerFactory
from typer.testing import CliRunner

from tunekit.cli.app import app
from tunekit.config import parse_config
from tunekit_emulators.hub import HubEmulator

EVAL = {"metrics": ["exact_match"], "max_new_tokens": 8}


def with_eval(make_tuner: TunerFactory, **options: Any) -> Any:
    """A tuner for the emulator whose config evaluates the tuned model (which needs something to serve it)."""
    tuner = make_tuner(**options)
    fields = tuner.config.model_dump(mode="json")
    fields["provider_options"] = {k: v for k, v in tuner.config.provider_options.items() if v is not None}
    tuner.config = parse_config({**fields, "eval": {**EVAL, "data": fields["data"]["train"]}})
    return tuner


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens once the socket is closed


def test_an_evaluation_without_an_inference_endpoint_is_refused_before_upload(
    hub_emulator: HubEmulator, make_tuner: TunerFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tuner = with_eval(make_tuner, inference_url=None)
    problems = tuner.provider.evaluation_problems(tuner.config)
    assert any(p.startswith("provider_options.inference_url: the evaluation chats") for p in problems), problems
    fields = tuner.config.model_dump(mode="json", exclude_none=True)
    fields["provider_options"].pop("token")  # a saved config never holds the secret: it comes from HF_TOKEN
    monkeypatch.setenv("HF_TOKEN", hub_emulator.token)
    config = tmp_path / "autotrain.yaml"
    config.write_text(yaml.safe_dump(fields), encoding="utf-8")
    done = CliRunner().invoke(app, ["run", str(config), "--yes"])
    assert done.exit_code != 0 and "provider_options.inference_url" in done.output, done.output
    assert not [r for r in hub_emulator.requests if r.method != "GET"]  # nothing uploaded, nothing started


def test_an_inference_endpoint_that_does_not_answer_is_named_at_once(
    hub_emulator: HubEmulator, make_tuner: TunerFactory
) -> None:
    url = f"http://127.0.0.1:{closed_port()}/models/{{model}}"
    tuner = with_eval(make_tuner, inference_url=url)
    start = time.monotonic()
    problems = tuner.provider.evaluation_problems(tuner.config)
    assert time.monotonic() - start < 5  # bounded: one connection with a short timeout
    (problem,) = [p for p in problems if p.startswith("provider_options.inference_url")]
    assert url.replace("{model}", tuner.config.model) in problem and "nothing answers" in problem


def test_the_emulator_endpoint_passes(hub_emulator: HubEmulator, make_tuner: TunerFactory) -> None:
    tuner = with_eval(make_tuner)
    assert tuner.provider.check(tuner.config) == [] and tuner.provider.evaluation_problems(tuner.config) == []


def test_a_missing_token_is_refused(hub_emulator: HubEmulator, make_tuner: TunerFactory) -> None:
    tuner = make_tuner(token=None)
    assert any(
        p.startswith("provider_options.token: no Hugging Face token") for p in tuner.provider.check(tuner.config)
    )
