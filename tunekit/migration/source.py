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
    name = provider or _provider_of_tuned_id(source)
    if name is None:
        raise ConfigError(
            f"{source!r} is not a run in the ledger (`tunekit runs`); for a model tunekit did not train, "
            "say where it is served with --from PROVIDER"
        )
    service = create_provider(name)
    base = service.base_model_of(source)
    model = FineTunedModel(provider=name, model_id=source, base_model=base, kind="model_id")
    return MigrationSource(service, model.bind(service))


def _provider_of_tuned_id(model_id: str) -> str | None:
    """The installed provider that recognises ``model_id`` as one of its tuned models (``ft:…`` on OpenAI).

    A provider recognises an id when :meth:`Provider.base_model_of` finds a base
    model in it. A provider that extends another (Azure extends OpenAI) inherits
    the recognition, so the most general one answers; ``None`` when none, or
    several unrelated ones, do.
    """
    from tunekit.registry import get_provider_class, installed_providers

    found = []
    for info in installed_providers():
        if info.ok:
            cls = get_provider_class(info.name)
            if cls.base_model_of(model_id) != model_id:
                found.append((info.name, cls))
    roots = [name for name, cls in found if not any(cls is not other and issubclass(cls, other) for _, other in found)]
    return roots[0] if len(roots) == 1 else None
