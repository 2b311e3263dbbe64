"""What is being moved: a run tunekit knows, or a model id it never trained plus the prompts to ask it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tunekit.errors import ConfigError

if TYPE_CHECKING:
    from tunekit.config import TuneConfig
    from tunekit.inference.base import ChatClient
    from tunekit.ledger import Ledger
    from tunekit.provider import FineTunedModel, Provider

__all__ = ["MigrationSource", "resolve_source"]


@dataclass
class MigrationSource:
    """The tuned model to move, with what tunekit knows about how it was made."""

    provider: Provider
    model: FineTunedModel
    run_id: str | None = None
    config: TuneConfig | None = None
    """The source run's config (its data, method, evaluation), when the source is a run."""

    @property
    def label(self) -> str:
        return self.run_id or self.model.model_id

    def client(self) -> ChatClient:
        return self.provider.client(self.model)


def resolve_source(source: str, *, provider: str | None = None, ledger: Ledger) -> MigrationSource:
    """A run id of the ledger, or a model id at ``provider`` (``ft:`` ids default to openai)."""
    from tunekit.errors import RunNotFoundError
    from tunekit.provider import FineTunedModel
    from tunekit.registry import create_provider
    from tunekit.states import JobStatus
    from tunekit.tuner import Tuner

    try:
        record = ledger.get(source)
    except (RunNotFoundError, ValueError):
        record = None
    if record is not None:
        if record.status is not JobStatus.SUCCEEDED:
            raise ConfigError(
                f"run {source} is {record.status.value}, not finished: only a succeeded run has a model to move "
                f"(`tunekit watch {source}` follows it)"
            )
        tuner = Tuner.for_run(source, ledger=ledger)
        model = tuner.job(source).result()  # the stored result, or the provider's (then stored)
        return MigrationSource(tuner.provider, model.bind(tuner.provider), run_id=source, config=tuner.config)
    if Path(source).suffix.lower() in (".yaml", ".yml", ".json"):
        raise ConfigError(f"{source}: give the source as a run id or a model id, not a config")
    name = provider or ("openai" if source.startswith("ft:") else None)
    if name is None:
        raise ConfigError(
            f"{source!r} is not a run in the ledger (`tunekit runs`); for a model tunekit did not train, "
            "say where it is served with --from PROVIDER"
        )
    service = create_provider(name)
    base = service.base_model_of(source)
    model = FineTunedModel(provider=name, model_id=source, base_model=base, kind="model_id")
    return MigrationSource(service, model.bind(service))
