"""Plugin classes found by name: in-process registrations first, then the ``tunekit.providers`` entry points.

The bottom of the provider machinery. It loads a class by name and reads its
``Options`` model, and knows nothing else about providers, so the config can
validate ``provider_options`` without importing the provider contract (which
itself speaks configs). :mod:`tunekit.registry` builds the typed API on top.
A name nobody installed gets a generic hint (tunekit's providers are packages
named ``tunekit-<name>``): the core keeps no table of provider names.
"""

from __future__ import annotations

import threading
from importlib import metadata

from pydantic import BaseModel

from tunekit.errors import ConfigError, ProviderNotFoundError

__all__ = ["GROUP", "entry_points", "load_class", "options_model", "package_hint", "register_class", "registered"]

GROUP = "tunekit.providers"

_lock = threading.Lock()
_registered: dict[str, type] = {}
_loaded: dict[str, type] = {}


def register_class(name: str, cls: type) -> None:
    """Make ``cls`` the plugin called ``name`` in this process (ahead of any entry point)."""
    with _lock:
        _registered[name] = cls


def registered() -> dict[str, type]:
    """The classes registered in-process, by name."""
    with _lock:
        return dict(_registered)


def entry_points() -> dict[str, metadata.EntryPoint]:
    """The group's entry points by name (the first one wins when two packages claim a name)."""
    found: dict[str, metadata.EntryPoint] = {}
    for ep in metadata.entry_points(group=GROUP):
        found.setdefault(ep.name, ep)
    return found


def package_hint(name: str) -> str:
    """What to install for a provider called ``name``, by tunekit's naming convention."""
    return f"tunekit-{name}"


def load_entry_point(name: str, ep: metadata.EntryPoint) -> type:
    """The class behind ``ep``, imported once per process."""
    with _lock:
        cached = _loaded.get(name)
    if cached is not None:
        return cached
    obj = ep.load()
    if not isinstance(obj, type):
        raise TypeError(f"{ep.value} is not a class")
    with _lock:
        _loaded[name] = obj
    return obj


def load_class(name: str) -> type:
    """The plugin class called ``name``; a missing or broken one is a :class:`ConfigError` saying what to do."""
    with _lock:
        if name in _registered:
            return _registered[name]
    eps = entry_points()
    ep = eps.get(name)
    if ep is None:
        installed = sorted({*eps, *registered()})
        raise ProviderNotFoundError(name, installed, package_hint(name))
    try:
        return load_entry_point(name, ep)
    except ImportError as exc:
        package = ep.dist.metadata["Name"] if ep.dist is not None else package_hint(name)
        raise ConfigError(
            f"provider {name!r} is installed but cannot be imported ({exc}); reinstall it: pip install -U {package}"
        ) from exc
    except Exception as exc:
        raise ConfigError(f"provider {name!r} failed to load: {type(exc).__name__}: {exc}") from exc


def options_model(name: str) -> type[BaseModel]:
    """The pydantic model that validates the ``provider_options`` of the provider called ``name``."""
    cls = load_class(name)
    model = getattr(cls, "Options", None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise ConfigError(
            f"provider {name!r} failed to load: {cls.__module__}:{cls.__qualname__} has no pydantic Options model"
        )
    return model
