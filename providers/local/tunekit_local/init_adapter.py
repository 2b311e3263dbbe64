"""Starting a run from an earlier run's adapter (``init_from``): check it, copy it, train the copy.

The child run trains a copy of the parent's adapter, kept in its own run
folder (``init_adapter/``): the parent's result (or checkpoint) is never
written to, a resume after a crash starts from the same weights, and the
parent's folder may be deleted once the child is submitted. At step 0 the
child's trainable weights are the parent's; the training process reports
their digest (:func:`weights_digest`) so anyone can check.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunekit.plugin import ConfigError

if TYPE_CHECKING:
    from tunekit.plugin import FineTunedModel, TuneConfig

__all__ = [
    "ADAPTER_CONFIG",
    "INIT_ADAPTER",
    "adapter_settings",
    "check_parent",
    "copy_adapter",
    "load_trainable_adapter",
    "weights_digest",
]

ADAPTER_CONFIG = "adapter_config.json"
INIT_ADAPTER = "init_adapter"
"""The copy of the parent's adapter, in the child's run folder."""
_WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin")


def _refused(message: str) -> ConfigError:
    return ConfigError("cannot start from the earlier run", problems=[f"init_from: {message}"])


def check_parent(parent: FineTunedModel, config: TuneConfig) -> str:
    """The folder a run of ``config`` starts from: the parent's adapter, or its full model.

    An adapter is continued as it is (its rank and alpha), so a ``lora``
    section that asks for another shape is refused rather than ignored; a
    run that trains all weights cannot continue an adapter.
    """
    folder = Path(parent.path or parent.model_id)
    if not folder.is_dir():
        raise _refused(f"{folder} is gone: the earlier run's files must be on this machine")
    if not (folder / ADAPTER_CONFIG).is_file():
        if parent.kind == "adapter":
            raise _refused(f"{folder} holds no {ADAPTER_CONFIG}: not an adapter this run can continue")
        return str(folder)  # all weights were trained: the run starts from that model
    if config.lora is None:
        raise _refused(f"{parent.run_id or folder} trained a LoRA adapter; keep a lora section to continue it")
    settings = adapter_settings(folder)
    if "lora" in config.model_fields_set:
        asked = {"r": config.lora.r, "alpha": config.lora.alpha}
        have = {"r": settings["r"], "alpha": settings["alpha"]}
        if asked != have:
            raise _refused(
                f"the adapter of {parent.run_id or folder} has r={have['r']}, alpha={have['alpha']}, and the "
                f"lora section asks for r={asked['r']}, alpha={asked['alpha']}; a continued adapter keeps its "
                "shape: give the same values, or leave lora out"
            )
    if not any((folder / name).is_file() for name in _WEIGHTS):
        raise _refused(f"{folder} holds no adapter weights ({' or '.join(_WEIGHTS)})")
    return str(folder)


def adapter_settings(folder: Path) -> dict[str, Any]:
    """The LoRA shape an adapter folder was trained with, in the config's terms."""
    try:
        data = json.loads((folder / ADAPTER_CONFIG).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise _refused(f"cannot read {folder / ADAPTER_CONFIG}: {exc}") from None
    targets = data.get("target_modules")
    return {
        "r": int(data.get("r", 8)),
        "alpha": int(data.get("lora_alpha", 8)),
        "target_modules": sorted(targets) if isinstance(targets, (list, set)) else targets,
    }


def copy_adapter(source: Path, run_dir: Path) -> Path:
    """A trainable copy of the adapter (its config and weights, no optimizer state) in the run folder."""
    target = run_dir / INIT_ADAPTER
    target.mkdir(parents=True, exist_ok=True)
    for name in (ADAPTER_CONFIG, *_WEIGHTS):
        if (source / name).is_file():
            shutil.copy2(source / name, target / name)
    return target


def load_trainable_adapter(model: Any, folder: str) -> Any:
    """``model`` wrapped in the adapter from ``folder``, its weights trainable (what the trainer continues)."""
    from peft import PeftModel

    return PeftModel.from_pretrained(model, folder, is_trainable=True)


def weights_digest(tensors: dict[str, Any]) -> str:
    """SHA-256 over the named tensors' fp32 values, in name order: equal digests, equal weights."""
    import torch

    digest = hashlib.sha256()
    for name in sorted(tensors):
        digest.update(name.encode())
        digest.update(tensors[name].detach().to(torch.float32).contiguous().cpu().numpy().tobytes())
    return digest.hexdigest()
