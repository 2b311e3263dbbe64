"""Provider discovery through the ``tunekit.providers`` entry-point group.

A provider package declares, in its ``pyproject.toml``::

    [project.entry-points."tunekit.providers"]
    myprovider = "my_package:MyProvider"

Built-in providers register exactly the same way. A provider that fails to
import is reported by :func:`installed_providers`, never fatal to the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tunekit import entrypoints
from tunekit.entrypoints import GROUP
from tunekit.errors import ConfigError, TunekitError
from tunekit.provider import Provider
from tunekit.retirement import Retirement, cached_retirements, lookup
from tunekit.secrets import get_logger

if TYPE_CHECKING:
    from pathlib import Path

    from pydantic import BaseModel

    from tunekit.config import TuneConfig

__all__ = [
    "GROUP",
    "ProviderInfo",
    "create_provider",
    "foreign_config",
    "get_provider_class",
    "installed_providers",
    "model_retirement",
    "register_provider",
]

logger = get_logger("tunekit.registry")


@dataclass(frozen=True)
class ProviderInfo:
    """An installed provider, or one whose import failed (``error`` set)."""

    name: str
    target: str
    package: str | None
    version: str | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def register_provider(cls: type[Provider], name: str | None = None) -> type[Provider]:
    """Register a provider class in-process (tests, notebooks); entry points are the normal way."""
    entrypoints.register_class(name or cls.name, cls)
    return cls


def _provider_class(obj: type, target: str) -> type[Provider]:
    if not issubclass(obj, Provider):
        raise TypeError(f"{target} is not a tunekit Provider subclass")
    return obj


def installed_providers(*, load: bool = True) -> list[ProviderInfo]:
    """Every provider visible to this interpreter, sorted by name.

    With ``load``, each entry point is imported so that broken ones show
    their error instead of failing later.
    """
    infos: dict[str, ProviderInfo] = {}
    for name, cls in entrypoints.registered().items():
        infos[name] = ProviderInfo(name, f"{cls.__module__}:{cls.__qualname__}", None, None)
    for name, ep in entrypoints.entry_points().items():
        if name in infos:
            continue
        dist = ep.dist
        package = dist.metadata["Name"] if dist is not None else None
        version = dist.version if dist is not None else None
        error = None
        if load:
            try:
                _provider_class(entrypoints.load_entry_point(name, ep), ep.value)
            except Exception as exc:  # a broken plugin must not hide the others
                error = f"{type(exc).__name__}: {exc}"
        infos[name] = ProviderInfo(name, ep.value, package, version, error)
    return [infos[k] for k in sorted(infos)]


def get_provider_class(name: str) -> type[Provider]:
    """The provider class registered under ``name``."""
    cls = entrypoints.load_class(name)
    try:
        return _provider_class(cls, f"{cls.__module__}:{cls.__qualname__}")
    except TypeError as exc:
        raise ConfigError(f"provider {name!r} failed to load: {type(exc).__name__}: {exc}") from exc


def create_provider(name: str, options: BaseModel | dict[str, object] | None = None) -> Provider:
    """Instantiate a provider, validating ``options`` with its ``Options`` model."""
    cls = get_provider_class(name)
    if isinstance(options, dict):
        from pydantic import ValidationError

        from tunekit.config import format_validation_error

        try:
            options = cls.Options.model_validate(options)
        except ValidationError as exc:
            raise ConfigError(
                "invalid provider_options", problems=format_validation_error(exc, prefix="provider_options")
            ) from None
    return cls(options)


def foreign_config(path: Path) -> TuneConfig | None:
    """``path`` as a tunekit config, read by the first installed provider that knows its format; else None.

    For configs written for another tool (an AutoTrain YAML): each provider's
    :meth:`~tunekit.provider.Provider.foreign_config` hook is asked in turn.
    """
    for info in installed_providers():
        if info.ok:
            config = get_provider_class(info.name).foreign_config(path)
            if config is not None:
                return config
    return None


def model_retirement(provider: str, model: str) -> Retirement | None:
    """When ``model`` (a base or tuned model id) shuts down at ``provider``, from its table or a refreshed copy.

    ``None`` when the provider knows no date for it, or is not installed (a
    ledger can hold runs of providers this interpreter no longer has).
    """
    try:
        cls = get_provider_class(provider)
    except TunekitError:
        return None
    base = cls.base_model_of(model)
    return lookup([*cached_retirements(provider), *cls.retirements()], base)
