"""A Fireworks run's adapter comes home: `tunekit export` merges it onto the base model the adapter names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fireworks_helpers import ConfigFactory
from typer.testing import CliRunner

from tunekit import Tuner
from tunekit.cli.app import app
from tunekit_emulators.fireworks import FireworksEmulator

pytestmark = pytest.mark.slow


def _random_adapter(base: Path, out: Path) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(str(base))
    tuned = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"]))
    for name, weight in tuned.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(weight, std=0.5)  # a trained adapter changes the answers; a fresh one would not
    tuned.save_pretrained(str(out))
    return out


def test_export_merges_the_downloaded_adapter(
    fireworks: FireworksEmulator, make_config: ConfigFactory, tmp_path: Path
) -> None:
    from tunekit_local.testing import build_tiny_chat_model

    base = build_tiny_chat_model(tmp_path / "base")
    fireworks.adapter_dir = _random_adapter(base, tmp_path / "adapter")
    job = Tuner.from_config(make_config(fireworks)).submit()
    job.wait(poll_interval=0.02, timeout=30)

    out = tmp_path / "merged"
    done = CliRunner().invoke(app, ["export", job.run_id, "--format", "merged", "--out", str(out), "--json"])
    assert done.exit_code == 0, done.output
    shown = json.loads(done.stdout)
    assert "model.safetensors" in shown["files"]
    assert json.loads((out / "tunekit_export.json").read_text())["base_model"] == str(base)
