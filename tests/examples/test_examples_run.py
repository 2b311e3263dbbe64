"""The examples run end to end: remote providers against tunekit's emulators, over real HTTP."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tunekit.ledger import Ledger

ROOT = Path(__file__).resolve().parents[2]
RECIPES = ROOT / "examples" / "recipes"
MIGRATION = ROOT / "examples" / "migration"

CLEARED = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
    "OPENAI_API_VERSION",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_AD_TOKEN",
    "AZURE_OPENAI_API_VERSION",
    "AZURE_OPENAI_ACCOUNT",
    "AZURE_SUBSCRIPTION_ID",
    "AZURE_RESOURCE_GROUP",
    "AZURE_ARM_TOKEN",
    "AZURE_ARM_URL",
    "HF_TOKEN",
    "HF_ENDPOINT",
    "FIREWORKS_API_KEY",
    "FIREWORKS_ACCOUNT_ID",
    "FIREWORKS_BASE_URL",
)


def _script(path: Path) -> ModuleType:
    """An example script, imported as a module so its main() runs in this process."""
    spec = importlib.util.spec_from_file_location(f"example_{path.parent.name}_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _no_real_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def openai_env(openai_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """examples/recipes/openai.yaml, unchanged, aimed at the OpenAI emulator through its ${ENV} references."""
    monkeypatch.setenv("OPENAI_API_KEY", openai_emulator.api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", openai_emulator.base_url)
    return openai_emulator


@pytest.fixture
def azure_env(azure_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """examples/recipes/azure.yaml, unchanged, aimed at the Azure emulator (data plane and Resource Manager)."""
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", azure_emulator.endpoint)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", azure_emulator.api_key)
    monkeypatch.setenv("AZURE_OPENAI_API_VERSION", azure_emulator.api_version)
    monkeypatch.setenv("AZURE_OPENAI_ACCOUNT", azure_emulator.account)
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", azure_emulator.subscription_id)
    monkeypatch.setenv("AZURE_RESOURCE_GROUP", azure_emulator.resource_group)
    monkeypatch.setenv("AZURE_ARM_TOKEN", azure_emulator.issue_token())
    monkeypatch.setenv("AZURE_ARM_URL", azure_emulator.arm_url)
    # Azure serves even a base model through a deployment: the baselines call the one named after the model.
    azure_emulator.deploy("gpt-4.1-mini-2025-04-14", "gpt-4.1-mini-2025-04-14")
    return azure_emulator


def _training_rows(emulator: Any) -> list[dict[str, Any]]:
    files = [f for f in emulator.files() if f["purpose"] == "fine-tune"]
    content = emulator.file_content(files[0]["id"]).decode("utf-8-sig")
    return [json.loads(line) for line in content.splitlines()]


@pytest.mark.slow
def test_library_api_on_openai(openai_env: Any, capsys: pytest.CaptureFixture[str]) -> None:
    library_api = _script(RECIPES / "library_api.py")
    assert library_api.main([str(RECIPES / "openai.yaml"), "--yes", "--poll-interval", "0.01"]) == 0
    out = capsys.readouterr().out

    jobs = openai_env.jobs()
    assert len(jobs) == 1 and jobs[0]["status"] == "succeeded"
    assert jobs[0]["model"] == "gpt-4.1-mini-2025-04-14"
    assert len(_training_rows(openai_env)) == 400
    assert f"tuned model: {jobs[0]['fine_tuned_model']}" in out
    # The evaluation asked base zero-shot, few-shot, retrieval and the tuned model about each held-out example.
    assert openai_env.request_count("POST", "/v1/chat/completions") == 1 + 4 * 40
    assert "base zero-shot" in out and "base few-shot (k=3)" in out and "tuned" in out

    # Running the script again trains nothing: the finished run is returned, not paid for twice.
    assert library_api.main([str(RECIPES / "openai.yaml"), "--poll-interval", "0.01"]) == 0  # no --yes: no prompt
    assert len(openai_env.jobs()) == 1
    runs = Ledger().runs()
    assert [r.status.value for r in runs] == ["succeeded"]


@pytest.mark.slow
def test_library_api_on_azure_deploys_and_evaluates(azure_env: Any, capsys: pytest.CaptureFixture[str]) -> None:
    library_api = _script(RECIPES / "library_api.py")
    assert library_api.main([str(RECIPES / "azure.yaml"), "--yes", "--poll-interval", "0.01"]) == 0
    out = capsys.readouterr().out

    jobs = azure_env.jobs()
    assert len(jobs) == 1 and jobs[0]["status"] == "succeeded"
    assert jobs[0].get("trainingType") == "developer" or jobs[0].get("trainingType") == "Developer"
    tuned = [d for d in azure_env.deployments() if d["properties"]["model"]["name"] == jobs[0]["fine_tuned_model"]]
    assert len(tuned) == 1
    assert tuned[0]["sku"]["name"] == "DeveloperTier"  # the ARM name; "Developer" is the portal's
    assert "base few-shot (k=3)" in out


@pytest.mark.slow
def test_fireworks_recipe_runs_twice_through_tunekit_run_with_one_job(
    fireworks_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from tunekit.cli.app import app

    monkeypatch.setenv("FIREWORKS_API_KEY", fireworks_emulator.api_key)
    monkeypatch.setenv("FIREWORKS_ACCOUNT_ID", fireworks_emulator.account_id)
    monkeypatch.setenv("FIREWORKS_BASE_URL", fireworks_emulator.url)
    monkeypatch.setenv("COLUMNS", "200")
    for _ in range(2):  # the second run trains nothing and deploys nothing: it shows the finished run
        done = CliRunner().invoke(app, ["run", str(RECIPES / "fireworks.yaml"), "--yes"])
        assert done.exit_code == 0, done.output
    [job] = fireworks_emulator.jobs()
    assert (job["state"], job["loraRank"], job["batchSizeSamples"]) == ("JOB_STATE_COMPLETED", 16, 8)
    [deployment] = fireworks_emulator.deployments()
    assert deployment["baseModel"] == job["outputModel"] and deployment["minReplicaCount"] == 0
    assert "base few-shot (k=3)" in done.output and "tuned" in done.output
    [run] = Ledger().runs()
    assert run.status.value == "succeeded"


@pytest.mark.slow
def test_library_api_on_autotrain(hub_emulator: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import yaml

    monkeypatch.setenv("HF_TOKEN", hub_emulator.token)
    monkeypatch.setenv("HF_ENDPOINT", hub_emulator.endpoint)
    # The one addition: the emulator's Inference Endpoints API. The recipe's deploy section creates the
    # endpoint the evaluation asks, base model and tuned adapter alike: no hand-made inference_url.
    config = yaml.safe_load((RECIPES / "autotrain.yaml").read_text())
    config["provider_options"]["endpoints_api"] = hub_emulator.endpoints_api
    config["data"] = {"train": str(RECIPES / "data/train.jsonl"), "validation": str(RECIPES / "data/valid.jsonl")}
    config["eval"]["data"] = str(RECIPES / "data/eval.jsonl")
    path = tmp_path / "autotrain.yaml"
    path.write_text(yaml.safe_dump(config))

    library_api = _script(RECIPES / "library_api.py")
    assert library_api.main([str(path), "--yes", "--poll-interval", "0.01"]) == 0
    [run] = Ledger().runs()
    assert run.status.value == "succeeded"
    repo = run.result["model_id"] if run.result else None
    assert repo is not None and repo.startswith(hub_emulator.namespace + "/")


@pytest.mark.slow
def test_migration_compares_openai_and_azure_side_by_side(
    openai_env: Any, azure_env: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    compare = _script(MIGRATION / "compare.py")
    table = tmp_path / "comparison.md"
    argv = [str(RECIPES / "openai.yaml"), str(RECIPES / "azure.yaml"), "--yes", "--poll-interval", "0.01"]
    assert compare.main([*argv, "--max-examples", "10", "--out", str(table)]) == 0
    text = table.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| openai") or line.startswith("| azure")]
    assert len(rows) == 8  # zero-shot, few-shot, retrieval and tuned on each provider
    assert "tuned model" in text.splitlines()[-1]
    assert len(openai_env.jobs()) == 1 and len(azure_env.jobs()) == 1

    # A second comparison re-uses both finished runs: no new training job anywhere.
    assert compare.main([*argv, "--max-examples", "5"]) == 0
    assert len(openai_env.jobs()) == 1 and len(azure_env.jobs()) == 1
    assert "| azure | tuned |" in capsys.readouterr().out


def test_together_recipe_trains_and_is_evaluated_on_a_base_together_serves(
    together_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """examples/recipes/together.yaml, unchanged: its base model's LoRA adapters answer serverless, so the
    evaluation after training reaches the tuned model (another base would be refused before any upload)."""
    from typer.testing import CliRunner

    from tunekit.cli.app import app

    monkeypatch.setenv("TOGETHER_API_KEY", together_emulator.api_key)
    monkeypatch.setenv("TOGETHER_BASE_URL", together_emulator.url)
    result = CliRunner().invoke(app, ["run", str(RECIPES / "together.yaml"), "--yes", "--poll-interval", "0.02"])
    assert result.exit_code == 0, result.output
    assert "tuned model" in result.output and "dedicated" not in result.output
    job = together_emulator.jobs()[-1]
    assert job["model"] == "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference" and job["status"] == "completed"
    chats = [r for r in together_emulator.requests if r.path == "/v1/chat/completions"]
    answered = [r for r in chats if r.json()["model"] == job["model_output_name"] and r.status == 200]
    assert len(answered) >= 40 and all(r.status == 200 for r in chats)  # the tuned model answered every eval row
