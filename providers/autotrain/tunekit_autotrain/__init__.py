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

from tunekit_autotrain.options import AutoTrainOptions
from tunekit_autotrain.params import AUTOTRAIN_DEFAULTS, LLMParams
from tunekit_autotrain.provider import AutoTrainProvider
from tunekit_autotrain.yaml_import import (
    autotrain_to_tunekit,
    is_autotrain_config,
    load_autotrain_yaml,
    read_autotrain_yaml,
)

__all__ = [
    "AUTOTRAIN_DEFAULTS",
    "AutoTrainOptions",
    "AutoTrainProvider",
    "LLMParams",
    "autotrain_to_tunekit",
    "is_autotrain_config",
    "load_autotrain_yaml",
    "read_autotrain_yaml",
]
