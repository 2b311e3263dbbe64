"""The values a provider's data hooks return: its :class:`Limits` and a deployment's :class:`HostingCost`.

The core knows no provider by name. A provider answers the data layer's
questions through optional hooks on :class:`tunekit.provider.Provider` (class
methods, so no credentials or options are needed to estimate); the data layer
sees them through :class:`tunekit.data.hooks.DataProfile` and never imports the
provider layer above it. This module imports nothing of tunekit: every data
module may use it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from tunekit.config import TuneConfig

__all__ = ["ANY_PROVIDER_KINDS", "DEFAULT_KINDS", "HostingCost", "Limits", "Serving", "matches_model", "model_key"]

Severity = Literal["error", "warning", "info"]
Serving = Literal["any", "lora", "none"]

DEFAULT_KINDS: Mapping[str, tuple[str, ...]] = {
    "sft": ("chat", "prompt_completion", "text"),
    "dpo": ("preference",),
}
"""Example kinds each method trains on when a provider says nothing narrower."""

ANY_PROVIDER_KINDS: Mapping[str, tuple[str, ...]] = {**DEFAULT_KINDS, "rft": ("chat", "prompt_completion")}
"""The kinds data checked without a provider's limits may hold (reading an evaluation set, for one): a provider
trains ``rft`` only where its own limits say so."""


def model_key(model: str) -> str:
    """The id a table is keyed by: lower case, a fine-tuned ``ft:base:org::id`` reduced to its base."""
    name = model.strip().lower()
    if name.startswith("ft:"):
        name = name[3:].split(":", 1)[0]
    return name


def matches_model(model: str, prefixes: Sequence[str]) -> str | None:
    """The longest of ``prefixes`` that ``model`` starts with (snapshots and ``ft:`` ids included), or None."""
    name = model_key(model)
    best: str | None = None
    for prefix in prefixes:
        key = prefix.lower()
        if name.startswith(key) and (best is None or len(key) > len(best)):
            best = key
    return best


@dataclass(frozen=True)
class Limits:
    """What a provider accepts for one model; ``None`` everywhere means "no limit known"."""

    min_examples: int | None = None
    max_file_bytes: int | None = None
    kinds: Mapping[str, Sequence[str]] = field(default_factory=lambda: dict(DEFAULT_KINDS))
    """Method (``sft``, ``dpo``, ``rft``) -> the example kinds the provider trains it on; a method not listed is
    refused by :meth:`problems` (``rft`` is listed by no default: a provider that trains from rewards says so)."""
    preference_single_turn: bool = False
    """Preference examples must hold exactly one chosen and one rejected assistant message."""
    token_limit: int | None = None
    """Tokens one training example may hold for this model (longer ones are truncated)."""
    max_suffix: int | None = None
    max_epochs: int | None = None
    tunable_models: tuple[str, ...] | None = None
    """Model ids (prefixes) the provider fine-tunes; None: any model it can load."""
    method_models: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Method -> the model ids (prefixes) it trains, for a method the service offers on some models only
    (OpenAI trains ``rft`` on o4-mini alone); a method not listed trains every model the provider tunes."""
    serves_tuned: Serving | None = None
    """Whether the provider serves a model tuned from this base without a deployment tunekit makes (so an
    evaluation right after training can call it): ``any``, ``lora`` (a LoRA adapter on the base model only),
    ``none`` (only a dedicated deployment serves it); None: not known, taken as served."""
    serving_models: tuple[str, ...] = ()
    """The base models (id prefixes) whose tuned models the provider serves that way, named when it refuses."""
    family: tuple[str, ...] = ()
    """Model id prefixes this provider is the natural home of (the default provider for them)."""
    hosted_only: bool = False
    """The provider tunes only its own hosted models: their weights are nowhere else."""
    severities: Mapping[str, Severity] = field(default_factory=dict)
    """Finding code -> the severity this provider gives it (its service rejects what is only a warning elsewhere)."""
    as_of: str | None = None
    source: str | None = None

    def allowed_kinds(self, method: str) -> list[str]:
        return list(self.kinds.get(method, DEFAULT_KINDS.get(method, ())))

    def tunes(self, model: str) -> bool:
        """Whether ``model`` is one the provider fine-tunes (always, when it lists none)."""
        return self.tunable_models is None or matches_model(model, self.tunable_models) is not None

    def claims(self, model: str) -> bool:
        return matches_model(model, self.family) is not None

    def method_refusal(self, method: str, model: str, provider: str) -> str | None:
        """Why ``provider`` cannot train ``model`` with ``method`` (naming the models that can), or None when it can."""
        models = self.method_models.get(method)
        if models is None or matches_model(model, models) is not None:
            return None
        what = f"{method} (reinforcement fine-tuning)" if method == "rft" else method
        can = ", ".join(models) or "no model"
        return (
            f"{provider} trains {what} only on {can}, not {model!r} "
            f"(limits as of {self.as_of or 'unknown'}; choose one of those models or another method)"
        )

    def serving_refusal(self, config: TuneConfig, provider: str, *, deploys: bool) -> str | None:
        """Why the tuned model of ``config`` will not answer an evaluation right after training, or None.

        Asked before training is paid for when an evaluation follows: with no ``deploy:`` section the
        evaluation calls the tuned model where the provider serves it without a deployment, and fails
        (after the bill) when it serves no such model. ``deploys``: the provider can make a deployment.
        """
        full = self.serves_tuned == "lora" and config.lora is None
        if config.deploy is not None or not (full or self.serves_tuned == "none"):
            return None
        if full:
            what = f"lora: {provider} serves a fully fine-tuned model of {config.model!r}"
            known, fix = "LoRA adapters only", "train LoRA (a lora: section)"
        else:
            what = f"model: {provider} serves a model tuned from {config.model!r}"
            known = f"it serves those of {', '.join(self.serving_models) or 'no base model'}"
            fix = "choose one of those base models"
        deploy = "add a deploy: section, " if deploys else ""
        return (
            f"{what} only on a dedicated deployment (limits serves_tuned: {self.serves_tuned}, as of "
            f"{self.as_of or 'unknown'}; without one {known}), so the evaluation would fail after the training "
            f"is paid for: {fix}, {deploy}or pass --skip-eval and deploy the model yourself before `tunekit eval`"
        )

    def problems(self, config: TuneConfig, provider: str) -> list[str]:
        """The config's values over these limits, as ``path: message`` lines (refused before any upload)."""
        out: list[str] = []
        if config.method not in self.kinds:
            trains = ", ".join(self.kinds) or "nothing"
            why = " (reinforcement fine-tuning from reward functions)" if config.method == "rft" else ""
            out.append(f"method: {provider} cannot train {config.method}{why}; it trains {trains}")
        if not self.tunes(config.model):
            listed = ", ".join(self.tunable_models or ())
            out.append(
                f"model: {provider} cannot fine-tune {config.model!r} (it tunes {listed}; limits as of "
                f"{self.as_of or 'unknown'})"
            )
        elif config.method in self.kinds and (refusal := self.method_refusal(config.method, config.model, provider)):
            out.append(f"model: {refusal}")
        if self.max_suffix is not None and config.suffix is not None and len(config.suffix) > self.max_suffix:
            out.append(
                f"suffix: {provider} allows at most {self.max_suffix} characters, "
                f"{config.suffix!r} has {len(config.suffix)}"
            )
        epochs = config.hyperparameters.epochs
        if self.max_epochs is not None and isinstance(epochs, int) and epochs > self.max_epochs:
            out.append(f"hyperparameters.epochs: {provider} allows at most {self.max_epochs} (got {epochs})")
        return out


@dataclass(frozen=True)
class HostingCost:
    """What keeping a tuned model deployed costs."""

    per_hour: float | None
    """Currency per hour deployed; 0 for a tier without an hourly fee, None when unknown."""
    sku: str | None = None
    lifetime_hours: float | None = None
    """A deployment the service deletes by itself after this many hours (None: until you delete it)."""
    currency: str = "USD"
    as_of: str | None = None
    source: str | None = None
    scales_to_zero: bool = False
    """Nothing bills while idle (an endpoint scaled to zero); ``per_hour`` is then the price while it serves."""

    def warning(self) -> str:
        """One line for estimates and deploy messages: the hourly bill, or why there is none."""
        sku = f" ({self.sku})" if self.sku else ""
        if self.per_hour == 0:
            life = f"; it is deleted after {self.lifetime_hours:g} hours" if self.lifetime_hours else ""
            return f"hosting{sku} has no hourly fee, only per-token inference{life}"
        if self.per_hour is None:
            return f"hosting{sku} is billed by the hour while deployed, even when idle (no price known)"
        life = f", for at most {self.lifetime_hours:g} hours" if self.lifetime_hours else ", until you undeploy it"
        if self.scales_to_zero:
            return (
                f"hosting{sku} is billed by the hour while it serves, nothing while scaled to zero "
                f"({self.per_hour:.2f} per hour{life}), on top of training"
            )
        return (
            f"hosting{sku} is billed by the hour while deployed, even when idle "
            f"({self.per_hour:.2f} per hour{life}), on top of training"
        )
