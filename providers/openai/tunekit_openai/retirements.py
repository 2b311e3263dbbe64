"""OpenAI's model shutdown dates: the shipped table, and the ``shutdown_date`` its API reports."""

from __future__ import annotations

from datetime import date
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import yaml

from tunekit.plugin import Retirement, parse_table

if TYPE_CHECKING:
    import openai

__all__ = ["api_retirements", "base_model_of", "shipped_retirements", "suggested_model", "training_ends"]

PROVIDER = "openai"


@cache
def _document(package: str) -> dict[str, Any]:
    text = resources.files(package).joinpath("retirements.yaml").read_text(encoding="utf-8")
    loaded = yaml.safe_load(text)
    return loaded if isinstance(loaded, dict) else {}


def shipped_retirements(provider: str = PROVIDER, package: str = "tunekit_openai") -> list[Retirement]:
    """The dated table shipped with the provider."""
    return parse_table(provider, _document(package), where=f"{package}/retirements.yaml")


def training_ends(package: str = "tunekit_openai") -> date | None:
    """The day the service stops starting fine-tuning jobs altogether, if it announced one."""
    service = _document(package).get("service") or {}
    value = service.get("training_ends")
    return value if isinstance(value, date) else None


def suggested_model(package: str = "tunekit_openai") -> str | None:
    """A snapshot the service still tunes, to name when a model cannot be tuned."""
    value = (_document(package).get("service") or {}).get("suggest")
    return str(value) if value else None


def base_model_of(model_id: str) -> str:
    """The base snapshot of a tuned model id: ``ft:gpt-4.1-mini-2025-04-14:org::abc`` → ``gpt-4.1-mini-2025-04-14``."""
    if model_id.startswith("ft:"):
        parts = model_id.split(":")
        return parts[1] if len(parts) > 1 and parts[1] else model_id
    return model_id


def api_retirements(client: openai.OpenAI, provider: str = PROVIDER) -> list[Retirement]:
    """Rows from ``GET /v1/models``: every model that carries a ``shutdown_date``."""
    today = date.today()
    rows = []
    for model in client.models.list():
        # A field of the SDK's Model in recent versions, an extra attribute in older ones.
        raw = getattr(model, "shutdown_date", None) or (model.model_extra or {}).get("shutdown_date")
        if not raw:
            continue
        try:
            shutdown = date.fromisoformat(str(raw))
        except ValueError:
            continue  # a value the API may add later in another form: the shipped table still answers
        rows.append(Retirement(provider, model.id, shutdown=shutdown, source="GET /v1/models", checked=today))
    return rows
