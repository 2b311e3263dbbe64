"""tunekit estimate: a row per installed provider from its own hooks, no credentials, money never cut short."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

from tests.core.memo_provider import MemoProvider
from tunekit import entrypoints, registry
from tunekit.cli.app import app
from tunekit.config import TuneConfig, load_config
from tunekit.data import TokenStats
from tunekit.data.cost import CostEstimate, price_hours
from tunekit.data.profile import Limits

runner = CliRunner()


class RentedGpuProvider(MemoProvider):
    """A fifth provider, as a third party writes it: its limits and prices come from its own hooks."""

    name: ClassVar[str] = "rentedgpu"

    @classmethod
    def limits(cls, model: str) -> Limits:
        return Limits(min_examples=1, max_epochs=5)

    @classmethod
    def estimate_cost(cls, config: TuneConfig, stats: TokenStats, estimate: CostEstimate) -> CostEstimate:
        estimate.prices_as_of = "2026-11-30"
        price_hours(config, stats, estimate, hardware="A10G", gpu="A10G", count=1, per_hour=0.9)
        return estimate


@pytest.fixture
def rented(monkeypatch: pytest.MonkeyPatch) -> type[RentedGpuProvider]:
    monkeypatch.setattr(entrypoints, "_registered", entrypoints.registered())
    registry.register_provider(RentedGpuProvider)
    return RentedGpuProvider


def chat(i: int) -> dict[str, Any]:
    return {
        "messages": [
            {"role": "system", "content": "You answer in one line."},
            {"role": "user", "content": f"question number {i}"},
            {"role": "assistant", "content": f"answer number {i}"},
        ]
    }


def project(tmp_path: Path, body: str) -> Path:
    (tmp_path / "t.jsonl").write_text("".join(json.dumps(chat(i)) + "\n" for i in range(40)), encoding="utf-8")
    config = tmp_path / "tune.yaml"
    config.write_text(body + "data:\n  train: t.jsonl\n", encoding="utf-8")
    return config


def rows(config: Path) -> dict[str, dict[str, Any]]:
    result = runner.invoke(app, ["estimate", str(config), "--json"])
    assert result.exit_code == 0, result.output
    return {r["provider"]: r for r in json.loads(result.stdout)["estimates"]}


def test_a_fifth_provider_gets_its_own_cost_row(tmp_path: Path, rented: type[RentedGpuProvider]) -> None:
    config = project(tmp_path, "provider: local\nmodel: Qwen/Qwen2.5-0.5B-Instruct\n")
    row = rows(config)["rentedgpu"]
    assert row["hardware"] == "A10G" and row["price_per_hour"] == 0.9
    assert row["total"] is not None and row["total"] == pytest.approx(row["hours"] * 0.9)
    assert row["prices_as_of"] == "2026-11-30"
    table = runner.invoke(app, ["estimate", str(config)])
    assert "rentedgpu" in table.stdout and "rentedgpu: prices as of 2026-11-30" in table.stdout


def test_estimating_needs_no_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    config = project(
        tmp_path, "provider: openai\nmodel: gpt-4o-mini\nprovider_options:\n  api_key: ${OPENAI_API_KEY}\n"
    )
    assert rows(config)["openai"]["training_cost"] > 0


def test_providers_that_cannot_take_the_model_say_so(tmp_path: Path) -> None:
    gpt = rows(project(tmp_path, "provider: openai\nmodel: gpt-4o-mini\n"))
    assert gpt["openai"]["training_cost"] > 0 and gpt["openai"]["unavailable"] is None
    for name in ("local", "autotrain"):
        assert gpt[name]["unavailable"] == "n/a: gpt-4o-mini is hosted only by openai"
        assert gpt[name]["total"] is None
    qwen = rows(project(tmp_path, "provider: local\nmodel: Qwen/Qwen2.5-0.5B-Instruct\n"))
    assert qwen["openai"]["unavailable"] == "n/a: tunes its own models"
    assert qwen["azure"]["unavailable"] == "n/a: tunes its own models"
    assert qwen["local"]["unavailable"] is None and qwen["local"]["total"] == 0.0
    table = runner.invoke(app, ["estimate", str(tmp_path / "tune.yaml")])
    assert "openai: n/a: tunes its own models" in table.stdout


def test_azure_developer_sku_has_no_hourly_fee(tmp_path: Path) -> None:
    config = project(tmp_path, "provider: azure\nmodel: gpt-4.1-mini\ndeploy:\n  sku: Developer\n")
    azure = rows(config)["azure"]
    assert azure["hosting_per_hour"] == 0 and azure["hosting_sku"] == "DeveloperTier"
    table = runner.invoke(app, ["estimate", str(config)])
    assert "no hourly fee" in table.stdout and "deleted after 24 hours" in table.stdout
    assert "azure: hosting (DeveloperTier) is billed" not in table.stdout


def test_at_80_columns_money_is_never_cut(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tunekit.cli import data as data_cli

    config = project(tmp_path, "provider: azure\nmodel: gpt-4.1\nhyperparameters: {epochs: 50}\n")
    expected = {name: r["total"] for name, r in rows(config).items() if r["total"]}
    narrow = data_cli.console.__class__(width=80, force_terminal=True, color_system=None)
    monkeypatch.setattr(data_cli, "console", narrow)
    cfg = load_config(config)
    with narrow.capture() as captured:
        data_cli._print_estimates(cfg, data_cli._estimates(cfg))
    text = captured.get()
    assert "…" not in text
    for total in expected.values():
        assert f"{total:,.2f}" in text
    assert max(len(line) for line in text.splitlines()) <= 80
