"""Azure's own values (``pending``, ``notRunning``, ``null`` fields) read as tunekit's, and Azure-only inputs work."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tunekit import Tuner
from tunekit.config import TuneConfig
from tunekit.errors import ConfigError
from tunekit.jobs import JobStatus
from tunekit_emulators import Fault


@pytest.mark.azure_emulator(lifecycle="manual")
def test_azure_statuses_are_normalized(
    azure_emulator: Any, make_config: Callable[..., TuneConfig], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    job = Tuner(make_config()).submit()
    seen = []
    state = job.status()
    seen.append((state.raw_status, state.status))
    while not state.is_terminal:
        azure_emulator.advance(job.job_id)
        state = job.status()
        seen.append((state.raw_status, state.status))
    assert seen == [
        ("pending", JobStatus.PENDING),
        ("notRunning", JobStatus.QUEUED),
        ("running", JobStatus.RUNNING),
        ("succeeded", JobStatus.SUCCEEDED),
    ]
    assert not [r for r in caplog.records if "unknown" in r.getMessage()]
    model = job.result()
    assert model.metadata["job_id"] == job.job_id


@pytest.mark.azure_emulator(lifecycle="manual", file_lifecycle="manual")
def test_pending_files_are_waited_for(azure_emulator: Any, make_config: Callable[..., TuneConfig]) -> None:
    import threading

    tuner = Tuner(make_config())
    result: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: result.setdefault("job", tuner.submit()))
    worker.start()
    # The upload lands as `pending`; the job is only created once Azure has processed it.
    for _ in range(200):
        files = azure_emulator.files()
        if files:
            break
        worker.join(0.02)
    [pending] = azure_emulator.files()
    assert pending["status"] == "pending"
    assert azure_emulator.jobs() == []
    azure_emulator.advance_file(pending["id"])
    worker.join(20)
    assert result["job"].job_id == azure_emulator.jobs()[0]["id"]


def test_training_file_imported_from_a_url(
    azure_emulator: Any, make_config: Callable[..., TuneConfig], train_file: Path
) -> None:
    url = "https://data.blob.core.windows.net/c/train.jsonl?sv=2024-11-04&sp=r&sig=c2VjcmV0LXNpZ25hdHVyZS12YWx1ZQ%3D%3D"
    azure_emulator.serve_url(url, train_file.read_bytes())
    # The first import is carried out but its response is lost: the retry must adopt it, not import twice.
    azure_emulator.inject("POST /openai/files/import", Fault.reset(after_processing=True), first_n=1)
    tuner = Tuner(make_config(options={"training_file_url": url}))
    job = tuner.submit()
    assert job.wait(poll_interval=0.02, timeout=30).status is JobStatus.SUCCEEDED
    [only] = [f for f in azure_emulator.files() if f["purpose"] == "fine-tune"]
    assert only["filename"].startswith("tunekit-import-train-") and "sig" not in only["filename"]
    assert azure_emulator.jobs()[0]["training_file"] == only["id"]
    assert next(r.path for r in azure_emulator.requests if r.method == "POST") == "/openai/files/import"
    assert [r.fault for r in azure_emulator.requests if r.path == "/openai/files/import"] == ["reset"]
    assert not [r for r in azure_emulator.requests if r.method == "POST" and r.path == "/openai/files"]


def test_an_unreachable_import_url_fails_with_the_service_message(
    azure_emulator: Any, make_config: Callable[..., TuneConfig]
) -> None:
    from tunekit.errors import InvalidRequestError

    url = "https://data.blob.core.windows.net/c/missing.jsonl?sv=1&sig=c2VjcmV0LXNpZ25hdHVyZS12YWx1ZQ%3D%3D"
    tuner = Tuner(make_config(options={"training_file_url": url}))
    with pytest.raises(InvalidRequestError) as caught:
        tuner.submit()
    assert "could not be retrieved" in str(caught.value)
    assert "sig=" not in str(caught.value)


def test_a_cross_region_deploy_names_its_source(azure_emulator: Any, make_config: Callable[..., TuneConfig]) -> None:
    # Trained on another resource ("train-aoai"), deployed into the emulator's.
    target = {"resource_group": azure_emulator.resource_group, "account": azure_emulator.account}
    arm = {"account": "train-aoai", "target": {**target, "endpoint": azure_emulator.endpoint}}
    tuner = Tuner(make_config(options={"arm": arm}))
    job = tuner.submit()
    assert job.wait(poll_interval=0.02, timeout=30).status is JobStatus.SUCCEEDED
    deployed = tuner.deploy(job.run_id)
    [view] = azure_emulator.deployments()
    assert view["properties"]["model"]["source"] == (
        f"/subscriptions/{azure_emulator.subscription_id}/resourceGroups/{azure_emulator.resource_group}"
        "/providers/Microsoft.CognitiveServices/accounts/train-aoai"
    )
    assert deployed.metadata["account"] == azure_emulator.account
    assert deployed.client().chat([{"role": "user", "content": "hi"}]).ok
    assert tuner.undeploy(job.run_id)
    assert azure_emulator.deployments() == []


def test_a_base_model_deployment_answers(azure_emulator: Any, make_config: Callable[..., TuneConfig]) -> None:
    azure_emulator.deploy("gpt-4o-mini", "gpt-4o-mini")
    reply = Tuner(make_config()).provider.base_client("gpt-4o-mini").chat([{"role": "user", "content": "hello"}])
    assert reply.ok and reply.text
    # Deployments are named freely: the baseline's is configured.
    azure_emulator.deploy("baseline", "gpt-4.1-mini")
    tuner = Tuner(make_config(options={"base_deployment": "baseline"}))
    assert tuner.provider.base_client(tuner.config.model).chat([{"role": "user", "content": "hello"}]).ok


def test_ignored_settings_name_azure_once_each(
    azure_emulator: Any, make_config: Callable[..., TuneConfig], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="tunekit")
    config = make_config(
        hyperparameters={"epochs": 1, "learning_rate": 0.001}, lora={"r": 8, "alpha": 16, "dropout": 0.0}
    )
    tuner = Tuner(config)
    tuner.validate()
    tuner.submit()
    warned = sorted(r.getMessage() for r in caplog.records if "is ignored on" in r.getMessage())
    assert [message.split(":")[0] for message in warned] == [
        "hyperparameters.learning_rate is ignored on Azure OpenAI",
        "lora is ignored on Azure OpenAI",
    ]
    assert not [message for message in warned if "OpenAI takes" in message and "Azure OpenAI takes" not in message]


def test_rft_on_a_model_azure_does_not_train_that_way_is_refused_before_upload(
    azure_emulator: Any, make_config: Callable[..., TuneConfig]
) -> None:
    with pytest.raises(ConfigError, match=r"model: azure trains rft \(reinforcement fine-tuning\) only on o4-mini"):
        Tuner(make_config(method="rft", reward=["exact_match"], deploy=None)).submit()
    assert azure_emulator.files() == [] and azure_emulator.jobs() == []
