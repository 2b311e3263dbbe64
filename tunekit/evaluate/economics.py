"""What a config's tuned model costs besides its requests: training once, hosting by the hour.

The training cost is the data layer's estimate (the provider's price for the
tokens it would train) until the provider reports what it trained: then the
tokens it reports (``trained_tokens``) at the same price. The hourly fee is
the provider's :meth:`~tunekit.provider.Provider.hosting_cost` for the
config's ``deploy`` section: an Azure deployment, a Hugging Face Inference
Endpoint; a provider that names none (per-token serving, a model served on
your own hardware) has no hourly fee.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tunekit.errors import TunekitError
from tunekit.evaluate.breakeven import Economics
from tunekit.secrets import get_logger

if TYPE_CHECKING:
    from tunekit.config import TuneConfig
    from tunekit.data.cost import CostEstimate
    from tunekit.provider import FineTunedModel, Provider

__all__ = ["economics_of", "reported_training_cost"]

logger = get_logger("tunekit.evaluate")


def reported_training_cost(estimate: CostEstimate, model: FineTunedModel | None) -> float | None:
    """The provider's reported trained tokens at the estimate's price per 1M tokens, when both are known."""
    trained = model.metadata.get("trained_tokens") if model is not None else None
    if not isinstance(trained, int) or isinstance(trained, bool) or estimate.price_per_1m_tokens is None:
        return None
    return trained * estimate.price_per_1m_tokens / 1_000_000


def economics_of(
    config: TuneConfig, provider: Provider, model: FineTunedModel | None = None, *, estimate: CostEstimate | None = None
) -> Economics:
    """Training cost (reported, else estimated), hourly hosting fee and traffic for a config's tuned model.

    ``estimate`` saves counting the training tokens again when the caller has it.
    """
    currency = "USD"
    training: float | None = None
    source: str = "estimate"
    if estimate is None:
        estimate = _estimate(config, provider)
    if estimate is not None:
        currency = estimate.currency
        reported = reported_training_cost(estimate, model)
        training, source = (reported, "reported") if reported is not None else (estimate.training_cost, "estimate")
    base = model.base_model if model is not None else config.model
    hosting = provider.hosting_cost(base, config.deploy)
    if hosting is None:
        per_hour: float | None = 0.0
        note = "no hourly fee"
    else:
        per_hour = hosting.per_hour
        note = f"{provider.name} {hosting.sku}" if hosting.sku else provider.name
    traffic = config.eval.traffic if config.eval is not None else None
    return Economics(
        training_cost=training,
        training_source="reported" if source == "reported" else "estimate",
        hosting_per_hour=per_hour,
        hosting_note=note,
        requests_per_day=traffic.requests_per_day if traffic is not None else None,
        currency=currency,
    )


def _estimate(config: TuneConfig, provider: Provider) -> CostEstimate | None:
    from tunekit.data.validate import validate_data

    try:
        return validate_data(config, profile=provider).cost
    except TunekitError as exc:  # the report still compares quality and tokens; it says the cost is unknown
        logger.warning("no training cost for the break-even: %s", exc)
        return None
