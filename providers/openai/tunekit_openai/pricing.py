"""OpenAI's token counting: exact, with the model's tiktoken encoding from the ``limits.yaml`` shipped here.

Limits and prices come from the same package's tables through the core's
readers (``table_limits``, ``table_training_cost``, ``table_inference_price``);
a user's ``$TUNEKIT_HOME/limits.yaml`` overrides rows under ``providers: {openai: ...}``.
"""

from __future__ import annotations

from tunekit.plugin import TiktokenCounter, encoding_for_model, lookup_model, provider_table

__all__ = ["token_counter"]


def token_counter(package: str, provider: str, model: str) -> TiktokenCounter:
    """Exact counts with the model's tiktoken encoding (the table's, else tiktoken's own model map)."""
    models = provider_table(package, "limits", provider).get("models") or {}
    _key, entry = lookup_model(models, model)
    encoding = entry.get("encoding")
    return TiktokenCounter(str(encoding) if encoding else encoding_for_model(model))
