"""Engine choice and command lines: what `tunekit serve` runs, checked on a machine without a GPU or vLLM."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from tunekit.errors import ConfigError, DependencyMissingError, ServingError
from tunekit.serve import engines
from tunekit.serve.engines import llama_cpp_command, pick_engine, transformers_command, vllm_command
from tunekit.serve.server import check_port


def test_vllm_serves_several_adapters_on_one_base_across_gpus() -> None:
    command = vllm_command(
        "/models/base",
        host="0.0.0.0",
        port=8001,
        served_name="base",
        adapters={"recipes": "/runs/a/adapter", "support": "/runs/b/adapter"},
        tensor_parallel=2,
        max_lora_rank=24,
    )
    assert command[1:3] == ["serve", "/models/base"]
    text = " ".join(command)
    assert "--enable-lora" in command and "--tensor-parallel-size 2" in text
    assert "--max-loras 2" in text
    assert "--max-lora-rank 32" in text  # vLLM takes fixed ranks; 24 needs 32
    lora = command.index("--lora-modules")
    assert command[lora + 1 : lora + 3] == ["recipes=/runs/a/adapter", "support=/runs/b/adapter"]
    assert "--served-model-name base" in text and "--host 0.0.0.0 --port 8001" in text


def test_vllm_full_model_has_no_lora_flags_and_rejects_bad_ranks() -> None:
    command = vllm_command("/m", host="127.0.0.1", port=8000, served_name="tuned")
    assert "--enable-lora" not in command and "--lora-modules" not in command
    with pytest.raises(ConfigError, match="512"):
        vllm_command("/m", host="h", port=1, served_name="x", adapters={"a": "/a"}, max_lora_rank=1024)
    with pytest.raises(ConfigError, match="at least 1"):
        vllm_command("/m", host="h", port=1, served_name="x", tensor_parallel=0)


def test_transformers_on_cpu_sizes_the_batching_cache_unless_told() -> None:
    cpu = transformers_command("demo", host="127.0.0.1", port=8000, continuous_batching=True, device_is_cpu=True)
    assert cpu[1:5] == ["-m", "transformers.cli.transformers", "serve", "demo"]
    assert "--continuous-batching" in cpu
    assert cpu[cpu.index("--cb-num-blocks") + 1] == "64"
    told = transformers_command(
        "demo", host="h", port=1, continuous_batching=True, device_is_cpu=True, extra=["--cb-num-blocks", "8"]
    )
    assert told.count("--cb-num-blocks") == 1 and told[-2:] == ["--cb-num-blocks", "8"]
    gpu = transformers_command("demo", host="h", port=1, continuous_batching=True, device_is_cpu=False)
    assert "--cb-num-blocks" not in gpu
    off = transformers_command("demo", host="h", port=1, continuous_batching=False, device_is_cpu=True)
    assert "--no-continuous-batching" in off and "--cb-num-blocks" not in off


def test_llama_cpp_serves_the_gguf_under_the_name() -> None:
    command = llama_cpp_command("/x/model.gguf", host="127.0.0.1", port=9000, served_name="demo", context=2048)
    assert command[1:3] == ["-m", "llama_cpp.server"]
    text = " ".join(command)
    assert "--model /x/model.gguf" in text and "--model_alias demo" in text and "--n_ctx 2048" in text


def test_auto_picks_by_hardware_and_installs_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    installed = {"transformers": True, "vllm": False, "llama.cpp": False}
    monkeypatch.setattr(engines, "engine_installed", lambda name: installed[name])
    choice = pick_engine("auto", gpus=0)
    assert choice.name == "transformers" and "no CUDA GPU" in choice.reason
    choice = pick_engine("auto", gpus=2)
    assert choice.name == "transformers" and "vLLM is not installed" in choice.reason
    installed["vllm"] = True
    choice = pick_engine("auto", gpus=2)
    assert choice.name == "vllm" and "2 CUDA GPU" in choice.reason
    assert pick_engine("auto", gpus=0).name == "transformers"
    with pytest.raises(ConfigError, match="several adapters"):
        pick_engine("auto", gpus=0, adapters=2)
    installed.update(transformers=False, vllm=False)
    with pytest.raises(DependencyMissingError, match=r"tunekit\[serve\]"):
        pick_engine("auto", gpus=0)


def test_an_engine_that_is_not_installed_names_its_package() -> None:
    if not engines.engine_installed("vllm"):
        with pytest.raises(DependencyMissingError, match="pip install vllm"):
            pick_engine("vllm")
    if not engines.engine_installed("llama.cpp"):
        with pytest.raises(DependencyMissingError, match=r"llama-cpp-python\[server\]"):
            pick_engine("llama.cpp")
    with pytest.raises(ConfigError, match="not one of"):
        pick_engine("tgi")


def test_a_port_in_use_is_refused() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(ServingError, match=f"port {port} on 127.0.0.1 is in use"):
            check_port("127.0.0.1", port)
    check_port("127.0.0.1", port)  # free again


def test_adapter_rank_is_read_from_the_adapter(tmp_path: Path) -> None:
    (tmp_path / "adapter_config.json").write_text(json.dumps({"r": 16}), encoding="utf-8")
    assert engines.adapter_rank(tmp_path) == 16
    assert engines.adapter_rank(tmp_path / "missing") is None
