"""Inference prices for cost per 1,000 requests, from the provider's own price table.

Each provider answers :meth:`~tunekit.provider.Provider.inference_price`
(OpenAI and Azure from the ``prices.yaml`` they ship, overridable per user):
input and output USD per 1M tokens, the tuned model's rate when the service
bills tuned models differently. Models a provider does not price (local
models, unknown ids) get no cost rather than a guessed one.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def price_for(provider: str, model: str, *, tuned: bool = False) -> Price | None:
    """The inference price of ``model`` on ``provider``, or ``None`` when it lists none."""
    from tunekit.errors import TunekitError
    from tunekit.registry import get_provider_class

    try:
        price = get_provider_class(provider).inference_price(model, tuned=tuned)
    except TunekitError as exc:  # an uninstalled provider or a broken user override must not stop an evaluation
        logger.warning("no price for %s on %s: %s", model, provider, exc)
        return None
    return Price(*price) if price is not None else None
