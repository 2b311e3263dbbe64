"""Provider discovery through the ``tunekit.providers`` entry-point group.

A provider package declares, in its ``pyproject.toml``::

    [project.entry-points."tunekit.providers"]
    myprovider = "my_package:MyProvider"

Built-in providers register exactly the same way. A provider that fails to
import is reported by :func:`installed_providers`, never fatal to the others.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING

from tunekit.errors import ConfigError, ProviderNotFoundError
from tunekit.secrets import get_logger

if TYPE_CHECKING:
    from pydantic import BaseModel

    from tunekit.provider import Provider
    from tunekit.retirement import Retirement

__all__ = [
    "GROUP",
    "KNOWN_PACKAGES",
    "ProviderInfo",
    "create_provider",
    "get_provider_class",
    "installed_providers",
    "model_retirement",
    "register_provider",
]

GROUP = "tunekit.providers"

KNOWN_PACKAGES: dict[str, str] = {
    "openai": "tunekit-openai",
    "azure": "tunekit-azure",
    "autotrain": "tunekit-autotrain",
    "local": "tunekit-local",
}
"""Where the built-in providers come from, to say what to install."""

logger = get_logger("tunekit.registry")

_lock = threading.Lock()
_registered: dict[str, type[Provider]] = {}
_loaded: dict[str, type[Provider]] = {}


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
    with _lock:
        _registered[name or cls.name] = cls
    return cls


def _entry_points() -> dict[str, metadata.EntryPoint]:
    found: dict[str, metadata.EntryPoint] = {}
    for ep in metadata.entry_points(group=GROUP):
        found.setdefault(ep.name, ep)
    return found


def _load(ep: metadata.EntryPoint) -> type[Provider]:
    from tunekit.provider import Provider

    obj = ep.load()
    if not (isinstance(obj, type) and issubclass(obj, Provider)):
        raise TypeError(f"{ep.value} is not a tunekit Provider subclass")
    return obj


def installed_providers(*, load: bool = True) -> list[ProviderInfo]:
    """Every provider visible to this interpreter, sorted by name.

    With ``load``, each entry point is imported so that broken ones show
    their error instead of failing later.
    """
    infos: dict[str, ProviderInfo] = {}
    for name, cls in _registered.items():
        infos[name] = ProviderInfo(name, f"{cls.__module__}:{cls.__qualname__}", None, None)
    for name, ep in _entry_points().items():
        if name in infos:
            continue
        dist = ep.dist
        package = dist.metadata["Name"] if dist is not None else None
        version = dist.version if dist is not None else None
        error = None
        if load:
            try:
                _get_loaded(name, ep)
            except Exception as exc:  # a broken plugin must not hide the others
                error = f"{type(exc).__name__}: {exc}"
        infos[name] = ProviderInfo(name, ep.value, package, version, error)
    return [infos[k] for k in sorted(infos)]


def _get_loaded(name: str, ep: metadata.EntryPoint) -> type[Provider]:
    with _lock:
        cached = _loaded.get(name)
    if cached is not None:
        return cached
    cls = _load(ep)
    with _lock:
        _loaded[name] = cls
    return cls


def get_provider_class(name: str) -> type[Provider]:
    """The provider class registered under ``name``."""
    with _lock:
        if name in _registered:
            return _registered[name]
    eps = _entry_points()
    ep = eps.get(name)
    if ep is None:
        installed = sorted({*eps, *_registered})
        raise ProviderNotFoundError(name, installed, KNOWN_PACKAGES.get(name))
    try:
        return _get_loaded(name, ep)
    except ImportError as exc:
        package = ep.dist.metadata["Name"] if ep.dist is not None else KNOWN_PACKAGES.get(name, name)
        raise ConfigError(
            f"provider {name!r} is installed but cannot be imported ({exc}); reinstall it: pip install -U {package}"
        ) from exc
    except Exception as exc:
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


def model_retirement(provider: str, model: str) -> Retirement | None:
    """When ``model`` (a base or tuned model id) shuts down at ``provider``, from its table or a refreshed copy.

    ``None`` when the provider knows no date for it, or is not installed (a
    ledger can hold runs of providers this interpreter no longer has).
    """
    from tunekit.errors import TunekitError
    from tunekit.retirement import cached_retirements, lookup

    try:
        cls = get_provider_class(provider)
    except TunekitError:
        return None
    base = cls.base_model_of(model)
    return lookup([*cached_retirements(provider), *cls.retirements()], base)
