"""The serving engines tunekit starts, how ``auto`` picks one, and the command lines they run.

tunekit does not answer HTTP itself: it starts a real engine that speaks the
OpenAI API (``/v1/chat/completions`` with streaming and usage, ``/v1/models``)
and checks it is healthy.

- ``transformers``: ``transformers serve`` (``pip install "tunekit[serve]"``):
  CPU and small GPUs. It cannot load a PEFT adapter, so it serves the merged
  model.
- ``vllm``: ``vllm serve`` (``pip install vllm``, CUDA GPUs): adapters stay
  adapters (``--enable-lora --lora-modules``), several on one base, and
  ``--tensor-parallel-size`` spreads a model over GPUs.
- ``llama.cpp``: llama-cpp-python's server (``pip install "llama-cpp-python[server]"``)
  on a GGUF export of the merged model.

The command builders are plain functions of their inputs, so what tunekit
would run on a GPU machine is tested on any machine.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tunekit.errors import ConfigError, DependencyMissingError

__all__ = [
    "ENGINES",
    "ENGINE_PACKAGES",
    "EngineChoice",
    "engine_installed",
    "llama_cpp_command",
    "pick_engine",
    "require_engine",
    "transformers_command",
    "vllm_command",
]

Engine = Literal["transformers", "vllm", "llama.cpp"]
ENGINES: tuple[str, ...] = ("transformers", "vllm", "llama.cpp")
ENGINE_PACKAGES: dict[str, str] = {
    "transformers": '"tunekit[serve]"',
    "vllm": "vllm",
    "llama.cpp": '"llama-cpp-python[server]"',
}
"""What to install for each engine."""

_ENGINE_MODULES: dict[str, tuple[str, ...]] = {
    "transformers": ("transformers", "fastapi", "uvicorn"),
    "vllm": ("vllm",),
    "llama.cpp": ("llama_cpp", "sse_starlette", "starlette_context"),
}

HEALTH_PATHS: dict[str, str] = {"transformers": "/health", "vllm": "/health", "llama.cpp": "/v1/models"}


@dataclass(frozen=True)
class EngineChoice:
    """An engine and why it was chosen (``tunekit serve`` prints the reason)."""

    name: Engine
    reason: str


def engine_installed(name: str) -> bool:
    """Whether everything ``name`` needs to run is importable."""
    return all(importlib.util.find_spec(module) is not None for module in _ENGINE_MODULES[name])


def require_engine(name: str) -> None:
    """Raise :class:`DependencyMissingError` naming the package unless ``name`` can run."""
    if name not in ENGINES:
        raise ConfigError(f"--engine: {name!r} is not one of auto, {', '.join(ENGINES)}")
    if not engine_installed(name):
        raise DependencyMissingError(f"serving with {name}", ENGINE_PACKAGES[name])


def cuda_devices() -> int:
    """How many CUDA GPUs torch sees (0 without torch)."""
    if importlib.util.find_spec("torch") is None:
        return 0
    import torch

    return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0


def pick_engine(requested: str = "auto", *, gpus: int | None = None, adapters: int = 1) -> EngineChoice:
    """The engine to use: ``requested``, or for ``auto`` the best installed one for this hardware."""
    if requested != "auto":
        require_engine(requested)
        return EngineChoice(requested, f"--engine {requested}")  # type: ignore[arg-type]
    gpus = cuda_devices() if gpus is None else gpus
    has_vllm = engine_installed("vllm")
    if gpus and has_vllm:
        return EngineChoice(
            "vllm", f"{gpus} CUDA GPU(s) and vLLM installed: vLLM serves adapters on the base with continuous batching"
        )
    if adapters > 1:
        why = "no CUDA GPU" if not gpus else "vLLM is not installed (pip install vllm)"
        raise ConfigError(f"serving several adapters on one base needs vLLM on a CUDA GPU, and there is {why}")
    if engine_installed("transformers"):
        why = "no CUDA GPU" if not gpus else "vLLM is not installed (pip install vllm)"
        return EngineChoice("transformers", f"{why}: transformers serve runs the merged model")
    if engine_installed("llama.cpp"):
        return EngineChoice("llama.cpp", "transformers serve is not installed: llama.cpp serves a GGUF export")
    raise DependencyMissingError("tunekit serve", ENGINE_PACKAGES["transformers"])


# -- command lines ---------------------------------------------------------------------


def transformers_command(
    model: str,
    *,
    host: str,
    port: int,
    device: str = "auto",
    dtype: str = "auto",
    continuous_batching: bool = False,
    device_is_cpu: bool = False,
    extra: Sequence[str] = (),
) -> list[str]:
    """``transformers serve`` pinned to ``model`` (a folder; requests must name it exactly)."""
    command = [sys.executable, "-m", "transformers.cli.transformers", "serve", model]
    command += ["--host", host, "--port", str(port), "--device", device, "--dtype", dtype, "--log-level", "warning"]
    command.append("--continuous-batching" if continuous_batching else "--no-continuous-batching")
    if continuous_batching and device_is_cpu and not any(arg.startswith("--cb-") for arg in extra):
        command += CPU_CACHE_FLAGS
    return [*command, *extra]


CPU_CACHE_FLAGS = ["--cb-num-blocks", "64", "--cb-max-batch-tokens", "512"]
"""The paged KV cache ``transformers serve`` uses on a CPU, sized for the work rather than the RAM.

Left to itself, continuous batching reserves 90% of free memory for its
cache: 11 GB of RAM for a 2-layer test model on a 24 GB machine, taken from
everything else running there. 64 blocks of 256 tokens hold 16 requests of
1,024 tokens, and were as fast as a cache sized by memory in
``benchmarks/serve.py`` (5.0x a sequential loop both); a request that finds
the cache full waits for a free block. Any ``--cb-*`` engine argument
replaces these.
"""


def vllm_command(
    base: str,
    *,
    host: str,
    port: int,
    served_name: str,
    adapters: Mapping[str, str] | None = None,
    tensor_parallel: int = 1,
    max_lora_rank: int | None = None,
    dtype: str = "auto",
    extra: Sequence[str] = (),
) -> list[str]:
    """``vllm serve``: the base (or full model) as ``served_name``, each adapter as its own model name."""
    if tensor_parallel < 1:
        raise ConfigError("--tensor-parallel: must be at least 1")
    executable = shutil.which("vllm") or str(Path(sys.executable).parent / "vllm")
    command = [executable, "serve", base, "--host", host, "--port", str(port), "--served-model-name", served_name]
    command += ["--dtype", dtype, "--tensor-parallel-size", str(tensor_parallel)]
    if adapters:
        command += ["--enable-lora", "--max-loras", str(len(adapters))]
        if max_lora_rank:
            command += ["--max-lora-rank", str(_vllm_rank(max_lora_rank))]
        command.append("--lora-modules")
        command += [f"{name}={path}" for name, path in adapters.items()]
    return [*command, *extra]


def _vllm_rank(rank: int) -> int:
    # vLLM accepts only these maximum ranks; the smallest one that fits the adapters is the cheapest.
    for allowed in (8, 16, 32, 64, 128, 256, 320, 512):
        if rank <= allowed:
            return allowed
    raise ConfigError(f"LoRA rank {rank} is above the largest rank vLLM serves (512)")


def adapter_rank(folder: str | Path) -> int | None:
    """The LoRA rank ``r`` in an adapter folder's ``adapter_config.json``."""
    config = Path(folder) / "adapter_config.json"
    if not config.is_file():
        return None
    rank = json.loads(config.read_text(encoding="utf-8")).get("r")
    return int(rank) if isinstance(rank, int) else None


def llama_cpp_command(
    gguf: str, *, host: str, port: int, served_name: str, context: int | None = None, extra: Sequence[str] = ()
) -> list[str]:
    """llama-cpp-python's OpenAI-compatible server on a GGUF file (its chat template comes from the file)."""
    command = [sys.executable, "-m", "llama_cpp.server", "--model", gguf, "--host", host, "--port", str(port)]
    command += ["--model_alias", served_name]
    if context:
        command += ["--n_ctx", str(context)]
    return [*command, *extra]
