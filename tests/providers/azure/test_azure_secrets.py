"""No key, token or SAS signature reaches a log line, an error, the ledger or a file in the run folder."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tunekit import Tuner
from tunekit.config import TuneConfig
from tunekit.errors import AuthenticationError, TunekitError
from tunekit.jobs import JobStatus


def sas_url(name: str) -> str:
    signature = secrets.token_urlsafe(32)
    return (
        f"https://tunekitdata.blob.core.windows.net/training/{name}"
        f"?sv=2024-11-04&se=2030-01-01T00%3A00%3A00Z&sr=b&sp=r&sig={signature}"
    )


def every_file(root: Path) -> Iterator[Path]:
    yield from (p for p in root.rglob("*") if p.is_file())


def assert_nowhere(secret_values: list[str], *, texts: list[str], files: list[Path]) -> None:
    for value in secret_values:
        assert value, "an empty secret would match everything"
        for text in texts:
            assert value not in text, f"a secret leaked into: {text[:200]}"
        for path in files:
            assert value.encode() not in path.read_bytes(), f"a secret leaked into {path}"


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every record of every logger (tunekit's, httpx's, openai's, uvicorn's) down to DEBUG."""
    caplog.set_level(logging.DEBUG)
    return caplog


def test_no_secret_in_logs_errors_ledger_or_files(
    azure_emulator: Any,
    make_config: Callable[..., TuneConfig],
    all_logs: pytest.LogCaptureFixture,
    train_file: Path,
    tunekit_home: Path,
) -> None:
    url = sas_url("train.jsonl")
    signature = url.rsplit("sig=", 1)[1]
    azure_emulator.serve_url(url, train_file.read_bytes())
    arm_token = azure_emulator.issue_token()
    config = make_config(options={"training_file_url": url, "arm": {"token": arm_token}})
    tuner = Tuner(config)
    job = tuner.submit()
    assert job.wait(poll_interval=0.02, timeout=30).status is JobStatus.SUCCEEDED
    [imported] = azure_emulator.files()[:1]
    assert imported["filename"].startswith("tunekit-import-train-")
    deployed = tuner.deploy(job.run_id)
    assert deployed.client().chat([{"role": "user", "content": "Add 2 grams of flour number 2."}]).ok
    tuner.undeploy(job.run_id)

    errors: list[TunekitError] = []
    # Failures carry the service's words: they must not carry credentials either.
    expired = Tuner(make_config(options={"arm": {"token": azure_emulator.issue_token(expires_in=-5)}}))
    with pytest.raises(AuthenticationError) as caught:
        expired.deploy(job.run_id)
    errors.append(caught.value)
    wrong_key = Tuner(make_config(options={"api_key": "f" * 32}))
    with pytest.raises(AuthenticationError) as caught:
        wrong_key.submit(new=True)
    errors.append(caught.value)

    logged = [r.getMessage() for r in all_logs.records]
    assert any("billed by the hour" in m for m in logged)
    assert any("HTTP Request" in m for m in logged), "the HTTP clients' own logs were captured too"
    texts = [*logged, *(str(e) for e in errors), *(repr(e) for e in errors), repr(config), repr(tuner.provider)]
    texts += [config.to_yaml(), str(config.model_dump())]
    for record in tuner.ledger.runs():
        texts.append(str(record.to_json()))
        texts += [f"{e.message} {e.data}" for e in tuner.ledger.events(record.run_id)]
    assert_nowhere(
        [azure_emulator.api_key, arm_token, url, signature, "f" * 32],
        texts=texts,
        files=list(every_file(tunekit_home)),
    )


def test_entra_tokens_never_logged(
    azure_emulator: Any, make_config: Callable[..., TuneConfig], all_logs: pytest.LogCaptureFixture, tunekit_home: Path
) -> None:
    handed_out: list[str] = []

    def provider() -> str:
        token: str = azure_emulator.issue_token()
        handed_out.append(token)
        return token

    tuner = Tuner(make_config(options={"api_key": None, "api_version": "v1", "arm": {"token": None}}))
    tuner.provider.use_credentials(data_plane=provider, resource_manager=provider)  # type: ignore[attr-defined]
    job = tuner.submit()
    assert job.wait(poll_interval=0.02, timeout=30).status is JobStatus.SUCCEEDED
    deployed = tuner.deploy(job.run_id)
    assert deployed.client().chat([{"role": "user", "content": "hi"}]).ok
    tuner.undeploy(job.run_id)
    assert handed_out
    texts = [r.getMessage() for r in all_logs.records]
    for record in tuner.ledger.runs():
        texts += [f"{e.message} {e.data}" for e in tuner.ledger.events(record.run_id)]
    assert_nowhere(handed_out, texts=texts, files=list(every_file(tunekit_home)))
