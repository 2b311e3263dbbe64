"""A sweep's plan: the points it tries, the child config of each, and the sweep's id.

Children are ordinary runs. A child's config is the sweep's config with the
point's values set and the ``sweep`` section removed, so its run key is the key
of that job: running the sweep again finds each child that already exists
(``Tuner.existing_run``) instead of submitting it twice, and a run started by
hand with the same settings counts as that child.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tunekit.config import parse_config
from tunekit.errors import ConfigError

if TYPE_CHECKING:
    from tunekit.config import SweepConfig, TuneConfig

__all__ = ["SweepChild", "plan_sweep", "sweep_id"]


@dataclass(frozen=True)
class SweepChild:
    """One point of the sweep and the config that trains it."""

    index: int
    point: dict[str, Any]
    config: TuneConfig

    @property
    def label(self) -> str:
        return ", ".join(f"{_short(path)}={value}" for path, value in self.point.items())


def sweep_id(config: TuneConfig) -> str:
    """A stable id for the sweep a config describes (its redacted config, the sweep section included)."""
    data = config.redacted()
    data.pop("name", None)
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return "sweep-" + hashlib.sha256(canonical.encode()).hexdigest()[:12]


def _axes(settings: SweepConfig) -> dict[str, list[Any]]:
    axes = {path: list(values) for path, values in settings.parameters.items()}
    if settings.seeds:
        axes["seed"] = list(settings.seeds)
    return axes


def plan_sweep(config: TuneConfig) -> list[SweepChild]:
    """The child runs of ``config``'s sweep, in a stable order; refuses a grid larger than ``max_runs``.

    Every point's config is validated here, so a path the config does not have
    or a value its field refuses is reported (``sweep.parameters.PATH: ...``)
    before anything is estimated or submitted.
    """
    settings = config.sweep
    if settings is None:
        raise ConfigError("the config has no sweep section", problems=["sweep: add parameters or seeds to vary"])
    axes = _axes(settings)
    grid = list(itertools.product(*axes.values()))
    limit = settings.max_runs
    if settings.method == "grid":
        if limit is not None and len(grid) > limit:
            sizes = " x ".join(str(len(v)) for v in axes.values())
            raise ConfigError(
                "the sweep is larger than its max_runs",
                problems=[
                    f"sweep.max_runs: the grid has {len(grid)} points ({sizes}) but max_runs is {limit}; "
                    "raise max_runs, trim the values, or use method: random"
                ],
            )
        chosen = grid
    else:
        count = min(limit or len(grid), len(grid))
        order = random.Random(settings.sample_seed).sample(range(len(grid)), count)
        chosen = [grid[i] for i in order]
    base = config.model_dump(mode="python", exclude={"sweep"})
    children = []
    for index, values in enumerate(chosen):
        point = dict(zip(axes.keys(), values, strict=True))
        children.append(SweepChild(index, point, _child_config(config, base, point)))
    return children


def _child_config(config: TuneConfig, base: dict[str, Any], point: dict[str, Any]) -> TuneConfig:
    data = copy.deepcopy(base)
    for path, value in point.items():
        target = data
        keys = path.split(".")
        for key in keys[:-1]:
            child = target.get(key)
            if child is None:
                child = target[key] = {}
            if not isinstance(child, dict):
                raise ConfigError("invalid sweep", problems=[f"sweep.parameters.{path}: {key} is not a section"])
            target = child
        if keys[-1] not in target and not _known(config, keys):
            raise ConfigError("invalid sweep", problems=[f"sweep.parameters.{path}: the config has no such field"])
        target[keys[-1]] = value
    data["provider_options"] = {**config.provider_options, **data.get("provider_options", {})}
    try:
        child = parse_config(data)
    except ConfigError as exc:
        where = ", ".join(f"{path}={value}" for path, value in point.items())
        problems = [f"sweep.parameters ({where}): {p}" for p in (exc.problems or [str(exc)])]
        raise ConfigError("a point of the sweep is not a valid config", problems=problems) from None
    return child


def _known(config: TuneConfig, keys: list[str]) -> bool:
    """Whether a dotted path names a field of the config's model (an unset optional section counts)."""
    if keys[0] == "provider_options":
        return True  # the provider's Options model checks these when the child is parsed
    model: Any = type(config)
    for key in keys:
        fields = getattr(model, "model_fields", None)
        if fields is None or key not in fields:
            return False
        annotation = fields[key].annotation
        model = _section(annotation)
    return True


def _section(annotation: Any) -> Any:
    for arg in getattr(annotation, "__args__", ()) or (annotation,):
        if hasattr(arg, "model_fields"):
            return arg
    return annotation


def _short(path: str) -> str:
    return path.rsplit(".", 1)[-1]
