"""Provider options, config checks and the launch command lines."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from tunekit.config import parse_config
from tunekit.errors import ConfigError
from tunekit_local import LocalOptions, LocalProvider
from tunekit_local.launch import launch_command


def test_several_processes_need_a_launcher() -> None:
    with pytest.raises(ValidationError, match="launcher"):
        LocalOptions(num_processes=2)


def test_several_machines_need_the_main_address() -> None:
    with pytest.raises(ValidationError, match="main_process_ip"):
        LocalOptions(launcher="torchrun", num_machines=2)
    with pytest.raises(ValidationError, match="machine_rank"):
        LocalOptions(launcher="torchrun", num_machines=2, machine_rank=2, main_process_ip="10.0.0.1")


def test_fsdp_and_deepspeed_go_through_accelerate() -> None:
    with pytest.raises(ValidationError, match="accelerate"):
        LocalOptions(launcher="torchrun", num_processes=2, distributed="fsdp2")


def test_unknown_option_is_named_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"provider_options\.devise"):
        parse_config(
            {"provider": "local", "model": "m", "data": {"train": "t.jsonl"}, "provider_options": {"devise": "cpu"}}
        )


def test_hub_token_stays_secret() -> None:
    options = LocalOptions(hub_token="hf_abcdefghijklmnopqrstuvwxyz")  # type: ignore[arg-type]
    assert "hf_abc" not in repr(options)
    assert "hf_abc" not in str(options.model_dump(mode="json"))


def test_check_names_the_problems(tiny_model: Path) -> None:
    config = parse_config(
        {
            "provider": "local",
            "model": str(tiny_model),
            "data": {"train": "t.jsonl"},
            "lora": None,
            "hyperparameters": {"learning_rate_multiplier": 2.0},
            "provider_options": {"quantization": "4bit", "packing": True, "attn_implementation": "sdpa"},
        }
    )
    problems = LocalProvider(config.options()).check(config)
    text = "\n".join(problems)
    assert "learning_rate_multiplier" in text
    assert "quantization" in text and "packing" in text and "flash_attention" in text


def test_check_reports_a_missing_model() -> None:
    config = parse_config({"provider": "local", "model": "./no/such/model", "data": {"train": "t.jsonl"}})
    assert any("no/such/model" in p for p in LocalProvider().check(config))


def test_single_process_runs_the_worker_module(tmp_path: Path) -> None:
    command = launch_command(LocalOptions(), tmp_path, resume=True)
    assert command == [sys.executable, "-m", "tunekit_local.worker", str(tmp_path), "--resume"]


def test_torchrun_command_for_several_nodes(tmp_path: Path) -> None:
    options = LocalOptions(
        launcher="torchrun",
        num_processes=4,
        num_machines=2,
        machine_rank=1,
        main_process_ip="10.0.0.1",
        main_process_port=29500,
    )
    command = launch_command(options, tmp_path)
    assert command[1:3] == ["-m", "torch.distributed.run"]
    for arg in ("--nproc_per_node=4", "--nnodes=2", "--node_rank=1", "--master_addr=10.0.0.1", "--master_port=29500"):
        assert arg in command
    assert command[-3:] == ["-m", "tunekit_local.worker", str(tmp_path)]


def test_accelerate_command_for_fsdp2_and_deepspeed(tmp_path: Path) -> None:
    fsdp = launch_command(LocalOptions(launcher="accelerate", num_processes=8, distributed="fsdp2"), tmp_path)
    assert fsdp[1:3] == ["-m", "accelerate.commands.launch"]
    assert fsdp[fsdp.index("--num_processes") + 1] == "8"
    assert "--use_fsdp" in fsdp and fsdp[fsdp.index("--fsdp_version") + 1] == "2"
    assert fsdp[-3:] == ["--module", "tunekit_local.worker", str(tmp_path)]
    ds = launch_command(LocalOptions(launcher="accelerate", num_processes=2, distributed="deepspeed-zero3"), tmp_path)
    assert "--use_deepspeed" in ds and ds[ds.index("--zero_stage") + 1] == "3"
    two_nodes = LocalOptions(launcher="accelerate", num_processes=2, num_machines=2, main_process_ip="h0")
    ddp = launch_command(two_nodes, tmp_path, precision="bf16")
    assert "--multi_gpu" in ddp and ddp[ddp.index("--num_processes") + 1] == "4"
    assert ddp[ddp.index("--mixed_precision") + 1] == "bf16" and ddp[ddp.index("--main_process_ip") + 1] == "h0"


def test_packing_without_flash_attention_installed_is_refused_before_running() -> None:
    config = parse_config(
        {"provider": "local", "model": "m", "data": {"train": "t.jsonl"}, "provider_options": {"padding_free": True}}
    )
    problems = LocalProvider(config.options()).check(config)
    assert any("padding_free" in p and "flash-attn is not installed" in p for p in problems)
