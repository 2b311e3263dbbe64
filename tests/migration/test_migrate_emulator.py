"""`tunekit migrate` against the emulators: dataset, one target run, a certificate, lineage, re-use."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openai
import pytest
from typer.testing import CliRunner

from tunekit import Ledger, Tuner, migrate, parse_config
from tunekit.cli.app import app
from tunekit.errors import ConfigError, DataError, ProviderError
from tunekit_emulators.openai import OpenAIEmulator

from .conftest import ConfigWriter, rows, write_jsonl

runner = CliRunner()


def finished_run(config: Path) -> str:
    job = Tuner.from_config(config).submit()
    job.wait(poll_interval=0.02)
    assert job.record.status.value == "succeeded"
    return job.run_id


def test_a_run_moves_to_another_model_with_one_job_and_a_certificate(
    openai_emulator: OpenAIEmulator, openai_config: ConfigWriter
) -> None:
    source = finished_run(openai_config("source"))
    target = openai_config("target", model="gpt-4.1-mini-2025-04-14")
    heard: list[str] = []
    certificate = migrate(source, target, say=heard.append)
    assert certificate.verdict == "migrate", certificate.sentence
    assert certificate.n == 6 and certificate.source_run == source
    assert certificate.source.score == certificate.target.score == 100.0  # both replay the training answers
    jobs = openai_emulator.jobs()
    assert [j["model"] for j in jobs] == ["gpt-4o-mini-2024-07-18", "gpt-4.1-mini-2025-04-14"]
    # The target trained on the source run's own data, and records where it came from.
    record = Ledger().get(certificate.target_run or "")
    assert record.remote["migrated_from"] == source
    assert record.config["data"]["train"].endswith("train.jsonl")
    assert any("the source run's training data" in line for line in heard)

    # Again: the finished target and its certificate are re-used; no second job, no second evaluation.
    requests_before = openai_emulator.request_count("POST", "/v1/chat/completions")
    again = migrate(source, target)
    assert again == certificate
    assert len(openai_emulator.jobs()) == 2
    assert openai_emulator.request_count("POST", "/v1/chat/completions") == requests_before


def test_show_prints_the_lineage_and_the_cli_prints_the_verdict(
    openai_emulator: OpenAIEmulator, openai_config: ConfigWriter
) -> None:
    source = finished_run(openai_config("source"))
    target = openai_config("target", model="gpt-4.1-mini-2025-04-14")
    result = runner.invoke(app, ["migrate", "latest", "--to", str(target), "--yes"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "migrate: on 6 held-out items" in result.output
    [target_run] = [r.run_id for r in Ledger().runs() if r.run_id != source]
    shown = runner.invoke(app, ["show", target_run], env={"COLUMNS": "200"})
    assert f"migrated from {source}" in shown.output


def test_distils_a_model_tunekit_never_trained(
    openai_emulator: OpenAIEmulator, openai_config: ConfigWriter, tmp_path: Path
) -> None:
    # A tuned model made outside tunekit, with the SDK alone.
    client = openai.OpenAI(base_url=openai_emulator.base_url, api_key=openai_emulator.api_key, max_retries=0)
    upload = client.files.create(file=(tmp_path / "train.jsonl").open("rb"), purpose="fine-tune")
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=upload.id)
    while job.status not in ("succeeded", "failed"):
        job = client.fine_tuning.jobs.retrieve(job.id)
    assert job.fine_tuned_model
    prompts = write_jsonl(tmp_path / "prompts.jsonl", [{"messages": r["messages"][:2]} for r in rows(12)])
    target = openai_config("target", model="gpt-4.1-mini-2025-04-14")
    certificate = migrate(job.fine_tuned_model, target, data=prompts, eval_data=tmp_path / "eval.jsonl")
    assert certificate.verdict == "migrate" and certificate.source_run is None

    folder = Path(certificate.eval_data or "").parent
    distilled = [json.loads(line) for line in (folder / "distilled.jsonl").read_text().splitlines()]
    # The distilled answers are exactly what the source model says to each prompt.
    for row in distilled:
        said = client.chat.completions.create(
            model=job.fine_tuned_model, messages=row["messages"][:-1], temperature=0, max_tokens=512
        )
        assert row["messages"][-1]["content"] == said.choices[0].message.content
    provenance = [json.loads(line) for line in (folder / "distilled.provenance.jsonl").read_text().splitlines()]
    assert len(provenance) == len(distilled) == 12
    assert {p["source_model"] for p in provenance} == {job.fine_tuned_model}
    assert all(len(p["prompt_sha256"]) == 64 for p in provenance)
    # The target trained on the distilled file, not on anything the source was taught.
    [target_job] = [j for j in openai_emulator.jobs() if j["model"] == "gpt-4.1-mini-2025-04-14"]
    assert target_job["training_file"] != upload.id


def test_a_source_that_refuses_stops_everything_before_training(
    openai_emulator: OpenAIEmulator, openai_config: ConfigWriter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prompts = write_jsonl(tmp_path / "prompts.jsonl", rows(12))
    target = openai_config("target", model="gpt-4.1-mini-2025-04-14")
    with pytest.raises(ProviderError, match=r"refused the distillation requests.*does not exist.*nothing was trained"):
        migrate("ft:gpt-4o-mini-2024-07-18:acme::gone", target, data=prompts, eval_data=tmp_path / "eval.jsonl")
    assert openai_emulator.jobs() == [] and Ledger().runs() == []


def test_bad_sources_and_targets_are_refused_before_anything_is_spent(
    openai_emulator: OpenAIEmulator, openai_config: ConfigWriter, tmp_path: Path
) -> None:
    source_config = openai_config("source")
    with pytest.raises(ConfigError, match="not a run in the ledger"):
        migrate("openai-19990101-000000-000000", source_config)
    source = finished_run(source_config)
    with pytest.raises(ConfigError, match="the source's own provider and base model"):
        migrate(source, openai_config("same"))
    with pytest.raises(ConfigError, match="needs the prompts"):
        migrate("ft:gpt-4o-mini-2024-07-18:acme::x", openai_config("t1", model="gpt-4.1-mini-2025-04-14"))
    with pytest.raises(ConfigError, match="no held-out data"):
        migrate(
            "ft:gpt-4o-mini-2024-07-18:acme::x",
            openai_config("t2", model="gpt-4.1-mini-2025-04-14"),
            data=tmp_path / "train.jsonl",
        )
    pending = Ledger().get(source).run_id
    assert len(openai_emulator.jobs()) == 1 and [r.run_id for r in Ledger().runs()] == [pending]


@pytest.mark.openai_emulator(lifecycle="manual")
def test_an_unfinished_source_is_refused(openai_emulator: OpenAIEmulator, openai_config: ConfigWriter) -> None:
    job = Tuner.from_config(openai_config("source")).submit()
    assert job.record.status.value != "succeeded"
    with pytest.raises(ConfigError, match="not finished"):
        migrate(job.run_id, openai_config("target", model="gpt-4.1-mini-2025-04-14"))


def test_an_openai_run_moves_to_azure_deployed_and_certified(
    openai_emulator: OpenAIEmulator, azure_emulator: Any, openai_config: ConfigWriter, tmp_path: Path
) -> None:
    source = finished_run(openai_config("source"))
    options = {
        "endpoint": azure_emulator.endpoint,
        "api_key": azure_emulator.api_key,
        "api_version": azure_emulator.api_version,
        "poll_interval": 0.05,
        "file_poll_interval": 0.02,
        "retry_max_wait": 0.05,
        "arm": {
            "url": azure_emulator.arm_url,
            "subscription_id": azure_emulator.subscription_id,
            "resource_group": azure_emulator.resource_group,
            "account": azure_emulator.account,
            "token": azure_emulator.issue_token(),
            "poll_interval": 0.05,
        },
    }
    target = parse_config(
        {
            "provider": "azure",
            "model": "gpt-4.1-mini-2025-04-14",
            "data": {"train": str(tmp_path / "train.jsonl")},
            "suffix": "recipes",
            "eval": {"data": str(tmp_path / "eval.jsonl"), "metrics": ["exact_match"], "max_new_tokens": 16},
            "deploy": {"name": "recipes-bot", "sku": "Standard", "capacity": 1},
            "provider_options": options,
        }
    )
    asked: list[str] = []
    certificate = migrate(source, target, confirm=lambda q: asked.append(q) or True)
    assert certificate.verdict == "migrate", certificate.sentence
    assert any("Deploy" in q for q in asked)  # a deployment bills by the hour: asked first
    record = Ledger().get(certificate.target_run or "")
    assert record.provider == "azure" and record.remote["migrated_from"] == source
    assert (record.result or {}).get("deployment") == "recipes-bot"
    assert len(azure_emulator.jobs()) == 1


def test_a_target_that_cannot_take_the_data_is_refused_before_upload(
    openai_emulator: OpenAIEmulator, openai_config: ConfigWriter, tmp_path: Path
) -> None:
    preferences = [
        {
            "input": {"messages": [{"role": "user", "content": f"What is the capital of country {i}?"}]},
            "preferred_output": [{"role": "assistant", "content": f"City{i}"}],
            "non_preferred_output": [{"role": "assistant", "content": "No idea."}],
        }
        for i in range(12)
    ]
    write_jsonl(tmp_path / "prefs.jsonl", preferences)
    source = finished_run(openai_config("source", method="dpo", data={"train": "prefs.jsonl"}))
    files_before = len(openai_emulator.files())
    with pytest.raises(DataError):  # preference pairs cannot train a supervised target
        migrate(source, openai_config("target", model="gpt-4.1-mini-2025-04-14"))
    assert len(openai_emulator.jobs()) == 1 and len(openai_emulator.files()) == files_before


def test_tunekit_migrate_moves_an_openai_run_to_fireworks(
    openai_emulator: OpenAIEmulator,
    fireworks_emulator: Any,
    openai_config: ConfigWriter,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = finished_run(openai_config("source"))
    monkeypatch.setenv("FIREWORKS_API_KEY", fireworks_emulator.api_key)
    target = tmp_path / "fireworks.yaml"
    config = {
        "provider": "fireworks",
        "model": "accounts/fireworks/models/llama-v3p1-8b-instruct",
        "data": {"train": "train.jsonl"},
        "eval": {"data": "eval.jsonl", "metrics": ["exact_match"], "max_new_tokens": 16},
        "deploy": {"min_replicas": 0},
        "provider_options": {
            "base_url": fireworks_emulator.url,
            "account_id": fireworks_emulator.account_id,
            "poll_interval": 0.02,
            "retry_max_wait": 0.05,
        },
    }
    target.write_text(json.dumps(config), encoding="utf-8")
    for _ in range(2):  # the second migration re-uses the finished target run: no second job
        result = runner.invoke(app, ["migrate", source, "--to", str(target), "--yes"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
    assert "migrate: on 6 held-out items" in result.output
    [job] = fireworks_emulator.jobs()
    [deployment] = fireworks_emulator.deployments()
    assert deployment["baseModel"] == job["outputModel"]
    [target_run] = [r for r in Ledger().runs() if r.run_id != source]
    assert target_run.provider == "fireworks" and target_run.remote["migrated_from"] == source


def test_tunekit_migrate_moves_an_openai_run_to_together(
    openai_emulator: OpenAIEmulator,
    together_emulator: Any,
    openai_config: ConfigWriter,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = finished_run(openai_config("source"))
    monkeypatch.setenv("TOGETHER_API_KEY", together_emulator.api_key)
    target = tmp_path / "together.yaml"
    config = {
        "provider": "together",
        "model": "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference",
        "data": {"train": "train.jsonl"},
        "eval": {"data": "eval.jsonl", "metrics": ["exact_match"], "max_new_tokens": 16},
        "provider_options": {"base_url": together_emulator.url, "poll_interval": 0.02, "retry_max_wait": 0.05},
    }
    target.write_text(json.dumps(config), encoding="utf-8")
    for _ in range(2):  # the second migration re-uses the finished target run: no second job
        result = runner.invoke(app, ["migrate", source, "--to", str(target), "--yes"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
    assert "migrate: on 6 held-out items" in result.output
    [job] = together_emulator.jobs()
    [target_run] = [r for r in Ledger().runs() if r.run_id != source]
    assert target_run.provider == "together" and target_run.remote["migrated_from"] == source
    assert target_run.remote["job_id"] == job["id"]
