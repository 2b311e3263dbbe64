"""Inference prices for cost per 1,000 requests, from the data layer's price table.

The table (``tunekit/data/prices.yaml``, overridable per user) lists per model
``input_per_1m`` and ``output_per_1m`` in USD; a fine-tuned model uses
``tuned_input_per_1m`` / ``tuned_output_per_1m`` when the entry has them, since
services bill tuned models at a different rate. Models the table does not
price (local models, unknown ids) get no cost rather than a guessed one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tunekit.secrets import get_logger

__all__ = ["Price", "price_for"]

logger = get_logger("tunekit.evaluate")


@dataclass(frozen=True)
class Price:
    """USD per million prompt (input) and completion (output) tokens."""

    input_per_1m: float
    output_per_1m: float

    def per_request(self, prompt_tokens: float, completion_tokens: float) -> float:
        return (prompt_tokens * self.input_per_1m + completion_tokens * self.output_per_1m) / 1_000_000


def _table(provider: str) -> dict[str, Any]:
    try:
        from tunekit.data.tables import load_table
    except ImportError:  # a data layer without a price table
        return {}
    try:
        providers = load_table("prices").get("providers") or {}
    except Exception as exc:  # a broken user override must not stop an evaluation
        logger.warning("cannot read the price table: %s", exc)
        return {}
    entry = providers.get(provider) or {}
    models = entry.get("models") if isinstance(entry, dict) else None
    return models if isinstance(models, dict) else {}


def price_for(provider: str, model: str, *, tuned: bool = False) -> Price | None:
    """The inference price of ``model`` on ``provider``, or ``None`` when the table has none."""
    table = _table(provider)
    if not table:
        return None
    from tunekit.data.tables import lookup_model

    key, entry = lookup_model(table, model)
    if key is None:
        return None
    prefix = "tuned_" if tuned and "tuned_input_per_1m" in entry else ""
    try:
        return Price(float(entry[f"{prefix}input_per_1m"]), float(entry[f"{prefix}output_per_1m"]))
    except (KeyError, TypeError, ValueError):
        return None
