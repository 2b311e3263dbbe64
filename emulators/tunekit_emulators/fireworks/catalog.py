"""What the emulated Fireworks account can tune and serve: the base models of its model library.

The rows follow Fireworks' published library (``accounts/fireworks/models/...``):
parameter count, context length, whether the base model is served serverless.
They are the shape of the real answers, not a promise of the live values.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BASE_MODELS", "BaseModelRow", "base_model"]


@dataclass(frozen=True)
class BaseModelRow:
    name: str
    parameters_b: float
    context_length: int
    serverless: bool
    tunable: bool = True


_ROWS = (
    BaseModelRow("accounts/fireworks/models/llama-v3p1-8b-instruct", 8.0, 131072, True),
    BaseModelRow("accounts/fireworks/models/llama-v3p2-3b-instruct", 3.2, 131072, True),
    BaseModelRow("accounts/fireworks/models/llama-v3p3-70b-instruct", 70.6, 131072, True),
    BaseModelRow("accounts/fireworks/models/qwen2p5-7b-instruct", 7.6, 32768, False),
    BaseModelRow("accounts/fireworks/models/qwen3-8b", 8.2, 40960, True),
    BaseModelRow("accounts/fireworks/models/deepseek-v3", 671.0, 163840, True, tunable=False),
)

BASE_MODELS: dict[str, BaseModelRow] = {row.name: row for row in _ROWS}


def base_model(name: str) -> BaseModelRow | None:
    """The library row of ``name`` (a full ``accounts/fireworks/models/ID`` name or a bare id)."""
    return BASE_MODELS.get(name) or BASE_MODELS.get(f"accounts/fireworks/models/{name}")
