"""`tunekit run` on the shipped AutoTrain example: train, deploy to an Inference Endpoint, evaluate through it.

The example names no ``inference_url``: its ``deploy:`` section serves the
adapter on its base model (vLLM), so the preflight asks nothing before
training and the evaluation's tuned model and baselines all answer at the
endpoint the run created. Everything runs against the Hub emulator through
the real ``huggingface_hub`` client.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from autotrain_helpers import BASE_MODEL, FAST
from typer.testing import CliRunner

from tunekit.cli.app import app
from tunekit.ledger import Ledger
from tunekit_emulators.hub import HubEmulator

RECIPES = Path(__file__).resolve().parents[3] / "examples" / "recipes"
runner = CliRunner()


@pytest.fixture
def example(hub_emulator: HubEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """examples/recipes/autotrain.yaml as shipped, aimed at the emulator (its URLs and shorter waits only)."""
    shutil.copytree(RECIPES / "data", tmp_path / "data")
    config = yaml.safe_load((RECIPES / "autotrain.yaml").read_text(encoding="utf-8"))
    config["eval"]["max_examples"] = 4  # every request goes over HTTP: a few examples show the path
    config["provider_options"].update(
        endpoint=hub_emulator.endpoint,
        endpoints_api=hub_emulator.endpoints_api,
        endpoint_poll_interval=0.02,
        endpoint_wait=30,
        **FAST,
    )
    path = tmp_path / "autotrain.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    monkeypatch.setenv("HF_TOKEN", hub_emulator.token)
    return path


def test_run_deploys_and_evaluates_through_the_endpoint_it_created(hub_emulator: HubEmulator, example: Path) -> None:
    done = runner.invoke(app, ["run", str(example), "--yes", "--poll-interval", "0.05"])
    assert done.exit_code in (0, 1), done.output  # 1: the verdict (the emulator's echo is no better than the base)
    assert "deployed" in done.output and "Traceback" not in done.output
    [endpoint] = hub_emulator.inference_endpoints()
    assert endpoint["status"]["state"] == "running"
    assert endpoint["model"]["repository"] == BASE_MODEL  # the base, with the adapter on it

    # Every evaluation request went to the endpoint: the tuned model as vLLM's adapter name, the baselines as the base.
    chats = [r for r in hub_emulator.requests if r.path.endswith("/chat/completions")]
    assert chats and all(r.path.startswith(f"/endpoints/{hub_emulator.namespace}/{endpoint['name']}/") for r in chats)
    run_id = json.loads(runner.invoke(app, ["runs", "--json"]).stdout)[0]["run_id"]
    predictions = Ledger().get(run_id).run_dir / "eval" / "latest" / "predictions.jsonl"
    rows = [json.loads(line) for line in predictions.read_text(encoding="utf-8").splitlines() if line]
    assert len(rows) == 4
    for row in rows:  # the emulator's vLLM answers as the model it was asked for: the adapter, or its base
        answers = {name: answer["prediction"] for name, answer in row["answers"].items()}
        assert answers["tuned"].startswith(f"[{hub_emulator.namespace}/"), answers
        baselines = [text for name, text in answers.items() if name.startswith("base ")]
        assert len(baselines) == 3 and all(t.startswith(f"[{BASE_MODEL}]") for t in baselines), answers
    shown = json.loads(runner.invoke(app, ["show", run_id, "--json"]).stdout)
    [deployment] = shown["deployments"]
    assert (deployment["state"], deployment["hourly_price"]) == ("active", 0.8)

    # Run again: the same run, the same endpoint, the stored report; nothing new is created or asked.
    again = runner.invoke(app, ["run", str(example), "--yes", "--poll-interval", "0.05"])
    assert again.exit_code in (0, 1), again.output
    assert "already deployed" in again.output
    assert len(hub_emulator.inference_endpoints()) == 1

    removed = runner.invoke(app, ["undeploy", run_id])
    assert removed.exit_code == 0, removed.output
    assert hub_emulator.inference_endpoints() == []
