"""What a run will cost: billed tokens with the cookbook's epoch rule, the provider's prices,
and, for training on GPUs, the memory and time it needs.

Nothing here knows a provider or a price: each provider prices a run in its
``estimate_cost`` hook (its dated ``prices.yaml`` ships with it), using the
helpers below (:func:`price_tokens`, :func:`price_hours`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from pydantic import BaseModel, Field

from tunekit.data.stats import TokenStats
from tunekit.data.tables import load_table

if TYPE_CHECKING:
    from tunekit.config import DeployConfig, TuneConfig
    from tunekit.data.profile import HostingCost, Limits

__all__ = [
    "CostEstimate",
    "GpuFit",
    "MemoryEstimate",
    "ModelShape",
    "PricingProfile",
    "add_memory",
    "estimate_cost",
    "estimate_memory",
    "model_shape",
    "price_hours",
    "price_tokens",
    "target_epochs",
    "unavailable_reason",
]

TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25_000
MIN_EPOCHS = 1
MAX_EPOCHS = 25


def target_epochs(n_examples: int) -> int:
    """The OpenAI cookbook's default epochs: 3, clamped so examples x epochs stays in 100..25,000."""
    if n_examples <= 0:
        return TARGET_EPOCHS
    if n_examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        return min(MAX_EPOCHS, MIN_TARGET_EXAMPLES // n_examples)
    if n_examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        return max(MIN_EPOCHS, MAX_TARGET_EXAMPLES // n_examples)
    return TARGET_EPOCHS


class ModelShape(BaseModel):
    """What the memory and time estimates need to know about a model."""

    name: str
    params: float
    hidden: int
    layers: int
    intermediate: int
    vocab: int
    approximate: bool = Field(False, description="Guessed from the model's name, not known.")


class GpuFit(BaseModel):
    gpu: str
    memory_gib: float
    full: bool
    lora: bool
    qlora: bool


class MemoryEstimate(BaseModel):
    """Peak GPU memory (GiB) for training one replica, by method, and which common GPUs fit."""

    model: str
    params: float
    seq_len: int
    batch_size: int
    full_gib: float
    lora_gib: float
    qlora_gib: float
    fits: list[GpuFit] = Field(default_factory=list)
    approximate: bool = True


class CostEstimate(BaseModel):
    """A run's billed tokens, epochs, price and (where known) time and memory."""

    provider: str
    model: str
    method: str
    currency: str = "USD"
    prices_as_of: str | None = None
    prices_source: str | None = None
    examples: int = 0
    epochs: int = 0
    epochs_source: Literal["config", "cookbook rule"] = "cookbook rule"
    tokens_per_epoch: int = 0
    billed_tokens: int = 0
    price_per_1m_tokens: float | None = None
    training_cost: float | None = None
    hardware: str | None = None
    price_per_hour: float | None = None
    hours: float | None = None
    hosting_per_hour: float | None = Field(None, description="What keeping the tuned model deployed costs per hour.")
    hosting_sku: str | None = None
    unavailable: str | None = Field(None, description="Why this provider cannot tune the model (then no price).")
    total: float | None = None
    memory: MemoryEstimate | None = None
    notes: list[str] = Field(default_factory=list)

    def summary_lines(self) -> list[str]:
        if self.unavailable is not None:
            return [f"cost [{self.provider} {self.model}]: {self.unavailable}"]
        lines = [
            f"cost [{self.provider} {self.model}, prices as of {self.prices_as_of or '?'}]: "
            f"{self.examples:,} examples x {self.epochs} epochs ({self.epochs_source}) = "
            f"{self.billed_tokens:,} billed tokens"
        ]
        if self.training_cost is not None:
            lines.append(f"  training ~ {self.currency} {self.training_cost:,.2f}")
        if self.hours is not None:
            price = f" at {self.price_per_hour:.2f}/h" if self.price_per_hour is not None else ""
            lines.append(f"  time ~ {self.hours:.2f} h on {self.hardware or '?'}{price}")
        if self.memory is not None:
            m = self.memory
            fits = ", ".join(
                g.gpu for g in m.fits if g.lora or g.full or g.qlora
            )  # the GPUs where at least one method fits
            lines.append(
                f"  GPU memory ~ full {m.full_gib:.1f} GiB, LoRA {m.lora_gib:.1f} GiB, QLoRA {m.qlora_gib:.1f} GiB "
                f"(seq {m.seq_len}, batch {m.batch_size}); fits: {fits or 'none of the listed GPUs'}"
            )
        lines.extend(f"  note: {n}" for n in self.notes)
        return lines


# -- model shapes and memory ------------------------------------------------------

_SIZE = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*([bm])(?![a-z])", re.IGNORECASE)


def model_shape(model: str) -> ModelShape | None:
    """A model's shape: its local config.json, the hardware table, or a guess from ``7b`` / ``135m`` in the name."""
    path = Path(model).expanduser()
    config_file = path / "config.json" if path.is_dir() else None
    if config_file is not None and config_file.is_file():
        try:
            cfg = json.loads(config_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            cfg = {}
        cfg = cfg.get("text_config", cfg)
        hidden, layers = cfg.get("hidden_size"), cfg.get("num_hidden_layers")
        if isinstance(hidden, int) and isinstance(layers, int):
            inter = int(cfg.get("intermediate_size") or 4 * hidden)
            vocab = int(cfg.get("vocab_size") or 32000)
            count = layers * (4 * hidden * hidden + 3 * hidden * inter) + 2 * vocab * hidden
            return ModelShape(name=model, params=count, hidden=hidden, layers=layers, intermediate=inter, vocab=vocab)
    table = load_table("hardware").get("models", {})
    name = model.lower().replace("_", "-")
    best = None
    for key in table:
        if str(key) in name and (best is None or len(str(key)) > len(best)):
            best = str(key)
    if best is not None:
        return ModelShape(name=model, **table[best])
    match = _SIZE.search(name)
    if match is None:
        return None
    params = float(match.group(1)) * (1e9 if match.group(2).lower() == "b" else 1e6)
    # A typical decoder's proportions: ~12 * layers * hidden^2 parameters, hidden ~ 128 * layers.
    n_layers = max(8, round((params / (12 * 128 * 128)) ** (1 / 3)))
    width = max(256, int((params / (12 * n_layers)) ** 0.5) // 64 * 64)
    return ModelShape(
        name=model,
        params=params,
        hidden=width,
        layers=n_layers,
        intermediate=int(width * 8 / 3),
        vocab=32000,
        approximate=True,
    )


_GIB = 1024**3


def estimate_memory(shape: ModelShape, seq_len: int, batch_size: int = 1, lora_r: int = 16) -> MemoryEstimate:
    """Peak training memory with bf16 weights, AdamW, gradient checkpointing.

    full: 16 bytes per parameter (bf16 weights and grads, fp32 master and two
    Adam moments); LoRA: bf16 base + fp32 adapters with their optimizer; QLoRA:
    4-bit NF4 base (~0.55 bytes per parameter). Activations: the checkpointed
    layer inputs, one layer recomputed, and the logits with their fp32 loss.
    """
    p, h, layers, inter, vocab = shape.params, shape.hidden, shape.layers, shape.intermediate, shape.vocab
    tokens = seq_len * batch_size
    adapter = lora_r * layers * (4 * 2 * h + 3 * (h + inter))  # all-linear targets of a llama-style block
    activations = tokens * h * layers * 2 + tokens * (16 * h + 6 * inter) * 2 + tokens * vocab * 10
    overhead = 1.0 * _GIB
    full = 16 * p + activations + overhead
    lora = 2 * p + 16 * adapter + activations + overhead
    qlora = 0.55 * p + 16 * adapter + activations + overhead
    gpus = load_table("hardware").get("gpus", {})
    fits = [
        GpuFit(
            gpu=name,
            memory_gib=float(spec["memory_gib"]),
            full=full / _GIB <= spec["memory_gib"] * 0.95,
            lora=lora / _GIB <= spec["memory_gib"] * 0.95,
            qlora=qlora / _GIB <= spec["memory_gib"] * 0.95,
        )
        for name, spec in gpus.items()
    ]
    return MemoryEstimate(
        model=shape.name,
        params=p,
        seq_len=seq_len,
        batch_size=batch_size,
        full_gib=round(full / _GIB, 2),
        lora_gib=round(lora / _GIB, 2),
        qlora_gib=round(qlora / _GIB, 2),
        fits=fits,
    )


def _training_hours(shape: ModelShape, tokens: int, gpu: str, count: int, *, lora: bool) -> float | None:
    hardware = load_table("hardware")
    spec = hardware.get("gpus", {}).get(gpu)
    if spec is None or count <= 0:
        return None
    flops_per_token = (4 if lora else 6) * shape.params
    seconds = tokens * flops_per_token / (float(spec["tflops"]) * 1e12 * count * float(hardware.get("mfu", 0.35)))
    return seconds / 3600


# -- helpers a provider's estimator uses --------------------------------------------


def price_tokens(estimate: CostEstimate, per_1m: float | None, *, what: str) -> None:
    """Bill ``estimate.billed_tokens`` at ``per_1m`` (currency per million tokens); note it when there is no price."""
    if per_1m is None:
        estimate.notes.append(f"no price for {what}")
        return
    estimate.price_per_1m_tokens = float(per_1m)
    estimate.training_cost = round(estimate.billed_tokens / 1e6 * float(per_1m), 4)
    estimate.total = estimate.training_cost


def price_hours(
    config: TuneConfig,
    stats: TokenStats,
    estimate: CostEstimate,
    *,
    hardware: str,
    gpu: str | None,
    count: int,
    per_hour: float | None,
    startup_hours: float = 0.0,
) -> None:
    """Price a run by GPU time: memory, hours at 35% of the GPUs' peak, times ``per_hour`` (None: own hardware)."""
    estimate.hardware = hardware
    shape = add_memory(config, stats, estimate)
    estimate.price_per_hour = per_hour
    if shape is None or not gpu:
        return
    hours = _training_hours(shape, estimate.billed_tokens, gpu, count, lora=config.lora is not None)
    if hours is None:
        return
    estimate.hours = round(hours + startup_hours, 3)
    if per_hour is not None:
        estimate.training_cost = round(estimate.hours * per_hour, 4)
        estimate.total = estimate.training_cost
    estimate.notes.append("time assumes 35% of the GPU's peak throughput; real runs vary")


def _seq_len(config: TuneConfig, stats: TokenStats) -> int:
    seq = config.hyperparameters.max_seq_length
    if isinstance(seq, int):
        return seq
    return max(128, min(stats.max or 1024, 4096))


def _batch(config: TuneConfig) -> int:
    batch = config.hyperparameters.batch_size
    return batch if isinstance(batch, int) else 1


def add_memory(config: TuneConfig, stats: TokenStats, estimate: CostEstimate) -> ModelShape | None:
    """Put the GPU memory training ``config.model`` needs on ``estimate``; the model's shape, when known."""
    shape = model_shape(config.model)
    if shape is None:
        estimate.notes.append(f"unknown size of {config.model}: no memory or time estimate")
        return None
    r = config.lora.r if config.lora is not None else 16
    estimate.memory = estimate_memory(shape, _seq_len(config, stats), _batch(config), r)
    if shape.approximate:
        estimate.notes.append(f"the size of {config.model} is guessed from its name")
    return shape


# -- the estimate ---------------------------------------------------------------------


class PricingProfile(Protocol):
    """What estimating a run asks a provider (its class answers: see :class:`tunekit.provider.Provider`)."""

    @property
    def name(self) -> str: ...

    def limits(self, model: str) -> Limits: ...

    def estimate_cost(self, config: TuneConfig, stats: TokenStats, estimate: CostEstimate) -> CostEstimate: ...

    def hosting_cost(self, model: str, deploy: DeployConfig | None) -> HostingCost | None: ...


def unavailable_reason(model: str, profile: PricingProfile, others: Iterable[PricingProfile] = ()) -> str | None:
    """Why ``profile``'s provider cannot tune ``model`` (None when it can).

    A provider that lists the models it tunes refuses the rest; a provider of
    open weights refuses a model another provider hosts exclusively.
    """
    limits = profile.limits(model)
    if not limits.tunes(model):
        return "n/a: tunes its own models" if limits.hosted_only else "n/a: not a model it tunes"
    if limits.tunable_models is None:
        for other in others:
            theirs = other.limits(model)
            if theirs.hosted_only and theirs.tunable_models is not None and theirs.tunes(model):
                return f"n/a: {model} is hosted only by {other.name}"
    return None


def estimate_cost(
    config: TuneConfig,
    stats: TokenStats,
    profile: PricingProfile | None = None,
    *,
    others: Iterable[PricingProfile] = (),
) -> CostEstimate:
    """Estimate a run from its training token stats, priced by the provider's :class:`PricingProfile`.

    Epochs come from the config, or the cookbook's rule when ``auto``. Billed
    tokens are ``min(tokens, limit)`` summed over examples, times epochs. The
    provider's ``estimate_cost`` hook fills in the price; its ``hosting_cost``
    hook what a deployment of the tuned model costs with ``config.deploy``'s sku.
    """
    epochs = config.hyperparameters.epochs
    from_config = isinstance(epochs, int)
    n_epochs = epochs if isinstance(epochs, int) else target_epochs(stats.examples)
    per_epoch = stats.billed_per_epoch or stats.total
    est = CostEstimate(
        provider=config.provider,
        model=config.model,
        method=config.method,
        examples=stats.examples,
        epochs=n_epochs,
        epochs_source="config" if from_config else "cookbook rule",
        tokens_per_epoch=per_epoch,
        billed_tokens=per_epoch * n_epochs,
    )
    if stats.approximate:
        est.notes.append("token counts are estimates (no tokenizer for this model)")
    if profile is None:
        est.notes.append(f"no cost model for provider {config.provider!r}")
        return est
    reason = unavailable_reason(config.model, profile, others)
    if reason is not None:
        est.unavailable = reason
        return est
    est = profile.estimate_cost(config, stats, est)
    hosting = profile.hosting_cost(config.model, config.deploy)
    if hosting is not None:
        est.hosting_per_hour = hosting.per_hour
        est.hosting_sku = hosting.sku
        est.notes.append(hosting.warning())
    return est
