"""tunekit-autotrain: fine-tune on Hugging Face with AutoTrain Advanced (or TRL), on HF Jobs or a Space.

Registered as the ``autotrain`` provider (entry point group ``tunekit.providers``)::

    provider: autotrain
    model: HuggingFaceTB/SmolLM2-135M-Instruct
    data: {train: train.jsonl}
    provider_options:
      token: ${HF_TOKEN}
      flavor: a10g-small
      params: {quantization: int4, mixed_precision: bf16}

AutoTrain's own YAML configs load with :func:`load_autotrain_yaml`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tunekit.plugin import lazy_exports

# Loaded on first use: `tunekit --help` imports this package for its CLI commands
# (tunekit_autotrain.cli), which must not pay for huggingface_hub and the provider.
_EXPORTS: dict[str, str] = {
    "AUTOTRAIN_DEFAULTS": "tunekit_autotrain.params",
    "AutoTrainOptions": "tunekit_autotrain.options",
    "AutoTrainProvider": "tunekit_autotrain.provider",
    "LLMParams": "tunekit_autotrain.params",
    "autotrain_to_tunekit": "tunekit_autotrain.yaml_import",
    "is_autotrain_config": "tunekit_autotrain.yaml_import",
    "load_autotrain_yaml": "tunekit_autotrain.yaml_import",
    "read_autotrain_yaml": "tunekit_autotrain.yaml_import",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)

if TYPE_CHECKING:
    from tunekit_autotrain.options import AutoTrainOptions as AutoTrainOptions
    from tunekit_autotrain.params import AUTOTRAIN_DEFAULTS as AUTOTRAIN_DEFAULTS, LLMParams as LLMParams
    from tunekit_autotrain.provider import AutoTrainProvider as AutoTrainProvider
    from tunekit_autotrain.yaml_import import (
        autotrain_to_tunekit as autotrain_to_tunekit,
        is_autotrain_config as is_autotrain_config,
        load_autotrain_yaml as load_autotrain_yaml,
        read_autotrain_yaml as read_autotrain_yaml,
    )
