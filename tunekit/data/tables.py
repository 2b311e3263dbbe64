"""The data files behind validation and cost: a provider's limits and prices, the core's hardware table.

The core ships ``tunekit/data/hardware.yaml`` (GPUs and model shapes); each
provider ships its own ``limits.yaml`` and ``prices.yaml`` beside its code and
reads them with :func:`provider_table`. They are meant to be edited: a file at
``$TUNEKIT_HOME/<name>.yaml`` or at the path in ``$TUNEKIT_<NAME>`` is merged
over the packaged ones, key by key (a provider's section under
``providers: {<provider>: ...}``).
"""

from __future__ import annotations

import functools
import os
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from tunekit.data.profile import matches_model
from tunekit.errors import ConfigError

__all__ = ["load_table", "lookup_model", "provider_table"]


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read the table: {exc}", source=path) from None
    if not isinstance(data, dict):
        raise ConfigError("the table must be a mapping", source=path)
    return data


def _override_paths(name: str) -> list[Path]:
    paths = []
    home = os.environ.get("TUNEKIT_HOME")
    if home:
        paths.append(Path(home).expanduser() / f"{name}.yaml")
    explicit = os.environ.get(f"TUNEKIT_{name.upper()}")
    if explicit:
        paths.append(Path(explicit).expanduser())
    return paths


def _overrides(name: str) -> tuple[tuple[str, float], ...]:
    return tuple((str(p), p.stat().st_mtime) for p in _override_paths(name) if p.is_file())


@functools.lru_cache(maxsize=32)
def _cached(package: str, name: str, section: str | None, overrides: tuple[tuple[str, float], ...]) -> dict[str, Any]:
    text = resources.files(package).joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text) or {}
    for path, _mtime in overrides:
        override = _read(Path(path))
        if section is not None:
            override = (override.get("providers") or {}).get(section) or {}
            if not isinstance(override, dict):
                raise ConfigError(f"providers.{section} must be a mapping", source=Path(path))
        data = _merge(data, override)
    return dict(data)


def load_table(name: str) -> dict[str, Any]:
    """The core's ``hardware`` table, with the user's overrides merged in."""
    return _cached("tunekit.data", name, None, _overrides(name))


def provider_table(package: str, name: str, provider: str) -> dict[str, Any]:
    """A provider's own ``<name>.yaml`` shipped in ``package``, with the user's ``providers.<provider>`` merged in."""
    return _cached(package, name, provider, _overrides(name))


def lookup_model(table: dict[str, Any], model: str) -> tuple[str | None, dict[str, Any]]:
    """The entry whose key is the longest prefix of ``model`` (fine-tuned ``ft:`` ids included)."""
    found = matches_model(model, [str(key) for key in table])
    if found is None:
        return None, {}
    key = next(str(k) for k in table if str(k).lower() == found)
    return key, dict(table[key])
