"""The data files behind validation and cost: limits, prices, hardware.

They ship with tunekit (``tunekit/data/*.yaml``) and are meant to be edited:
a file with the same shape at ``$TUNEKIT_HOME/<name>.yaml`` or at the path in
``$TUNEKIT_<NAME>`` is merged over the packaged one, key by key.
"""

from __future__ import annotations

import functools
import os
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from tunekit.errors import ConfigError

__all__ = ["load_table", "lookup_model", "model_limits", "provider_limits"]


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


@functools.lru_cache(maxsize=16)
def _cached(name: str, overrides: tuple[tuple[str, float], ...]) -> dict[str, Any]:
    text = resources.files("tunekit.data").joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    for path, _mtime in overrides:
        data = _merge(data, _read(Path(path)))
    return dict(data)


def load_table(name: str) -> dict[str, Any]:
    """``limits``, ``prices`` or ``hardware``, with the user's overrides merged in."""
    overrides = tuple((str(p), p.stat().st_mtime) for p in _override_paths(name) if p.is_file())
    return _cached(name, overrides)


def lookup_model(table: dict[str, Any], model: str) -> tuple[str | None, dict[str, Any]]:
    """The entry whose key is the longest prefix of ``model`` (fine-tuned ``ft:`` ids included)."""
    name = model.strip().lower()
    if name.startswith("ft:"):
        name = name[3:].split(":", 1)[0]
    best: str | None = None
    for key in table:
        if name.startswith(str(key).lower()) and (best is None or len(str(key)) > len(best)):
            best = str(key)
    return best, dict(table[best]) if best is not None else {}


def provider_limits(provider: str) -> dict[str, Any]:
    """The limits entry of a provider (empty when unknown)."""
    return dict(load_table("limits").get("providers", {}).get(provider, {}))


def model_limits(provider: str, model: str) -> dict[str, Any]:
    """The per-model limits (token_limit, encoding) of a provider's model, or {}."""
    models = provider_limits(provider).get("models") or {}
    return lookup_model(models, model)[1]
