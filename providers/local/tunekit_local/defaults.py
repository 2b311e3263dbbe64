"""Hardware-aware training defaults, resolved in one place.

Every ``auto`` in the config and the provider options becomes a concrete value
here, with the reason it was chosen. The resolved plan (and the library
versions) is written to the run folder, so a run can be explained and
reproduced. The rules:

- a GPU that supports it trains in bf16 with gradient checkpointing,
  FlashAttention when ``flash-attn`` is installed and Liger kernels when
  ``liger-kernel`` is;
- the CPU trains without gradient checkpointing (recomputed activations cost
  time and save memory the CPU does not lack), with the plain ``nll`` loss,
  in bf16 autocast where the CPU computes bf16 natively (AVX512-BF16, AMX:
  1.33x faster per step than fp32 on SmolLM2-135M in benchmarks/local_train.py)
  and in fp32 elsewhere, where bf16 is emulated and a step gets many times slower;
- the sequence limit comes from the data (the longest example, rounded up),
  never a fixed 1024 that pads every batch.
"""

from __future__ import annotations

import importlib.util
import math
import os
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from tunekit.plugin import ConfigError
from tunekit_local.options import FLASH_ATTENTION, LocalOptions

__all__ = [
    "DataStats",
    "Hardware",
    "Plan",
    "cpu_bf16",
    "detect_hardware",
    "library_versions",
    "openmp_settings",
    "resolve_plan",
]

DataFormat = Literal["conversational", "prompt-completion", "preference", "text", "prompt-only"]
Method = Literal["sft", "dpo", "rft"]

LORA_SFT_LR = 2e-4
FULL_SFT_LR = 2e-5
LORA_DPO_LR = 5e-5
FULL_DPO_LR = 5e-6
DPO_BETA = 0.1
LORA_RFT_LR = 1e-5
FULL_RFT_LR = 1e-6
RFT_BETA = 0.0
CPU_GENERATIONS = 4
GPU_GENERATIONS = 8
MIN_COMPLETION = 32
CPU_COMPLETION_CAP = 256
GPU_COMPLETION_CAP = 2048
WARMUP_RATIO = 0.03
CPU_BATCH = 8
GPU_BATCH = 16
SEQ_ROUND = 8
CPU_SEQ_CAP = 2048
GPU_SEQ_CAP = 8192
CHECKPOINTS_PER_RUN = 10


@dataclass(frozen=True)
class Hardware:
    """What this machine offers for training."""

    device: str
    name: str
    gpu_count: int = 0
    bf16: bool = False
    """Native bf16 arithmetic: a GPU that supports it, or a CPU with AVX512-BF16 or AMX."""
    capability: tuple[int, int] | None = None
    memory_gib: float | None = None
    cpu_count: int = 1
    flash_attn: bool = False
    liger: bool = False
    bitsandbytes: bool = False

    @property
    def is_gpu(self) -> bool:
        return self.device in ("cuda", "mps")


def openmp_settings(environ: dict[str, str] | None = None) -> tuple[dict[str, str], str | None]:
    """OpenMP settings for a training process (see :func:`tunekit.inference.loading.openmp_environment`)."""
    from tunekit.plugin import openmp_environment

    return openmp_environment(environ)


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def detect_hardware(preference: str = "auto") -> Hardware:
    """Look at the machine (imports torch)."""
    import torch

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    cuda = torch.cuda.is_available()
    if preference == "cuda" and not cuda:
        raise ConfigError("provider_options.device: cuda was asked for but torch sees no CUDA device")
    if preference in ("auto", "cuda") and cuda:
        props = torch.cuda.get_device_properties(0)
        return Hardware(
            device="cuda",
            name=torch.cuda.get_device_name(0),
            gpu_count=torch.cuda.device_count(),
            bf16=bool(torch.cuda.is_bf16_supported()),
            capability=(props.major, props.minor),
            memory_gib=round(props.total_memory / 2**30, 1),
            cpu_count=cpus,
            flash_attn=_installed("flash_attn") and props.major >= 8,
            liger=_installed("liger_kernel"),
            bitsandbytes=_installed("bitsandbytes"),
        )
    mps = getattr(torch.backends, "mps", None)
    if preference in ("auto", "mps") and mps is not None and mps.is_available():
        return Hardware(device="mps", name="Apple MPS", gpu_count=1, bf16=False, cpu_count=cpus)
    if preference == "mps":
        raise ConfigError("provider_options.device: mps was asked for but torch sees no MPS device")
    return Hardware(device="cpu", name=f"CPU ({cpus} cores)", cpu_count=cpus, bf16=cpu_bf16())


def cpu_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX), as torch's own dispatch sees it."""
    import torch

    for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        check = getattr(torch.cpu, probe, None)  # private in torch 2.x; absent means: not known, assume not
        try:
            if check is not None and check():
                return True
        except RuntimeError:
            continue
    return False


@dataclass(frozen=True)
class DataStats:
    """What the plan needs to know about the prepared data."""

    format: DataFormat
    train_examples: int
    validation_examples: int = 0
    max_tokens: int = 0
    """Tokens of the longest example, rendered through the chat template."""
    p95_tokens: int = 0
    template_masks_assistant: bool = False
    """The chat template marks assistant turns (``{% generation %}``), so TRL can mask by turn."""
    weighted_turns: bool = False
    """Some assistant turns have weight 0 (OpenAI's per-message weight): context, not targets."""
    model_max_length: int | None = None
    max_reference_tokens: int = 0
    """RFT: tokens of the longest reference answer (what a completion has to hold)."""


@dataclass
class Plan:
    """Every training decision, concrete, with the reasons for the ones made automatically."""

    method: Method
    device: str
    precision: Literal["fp32", "bf16", "fp16"]
    quantization: Literal["none", "4bit"]
    gradient_checkpointing: bool
    attn_implementation: str
    liger_kernel: bool
    loss: Literal["assistant_only", "completion_only", "all"]
    split_turns: bool
    """Conversations are split into one prompt-completion row per assistant turn (masking without markers)."""
    data_format: DataFormat
    max_length: int
    batch_size: int
    gradient_accumulation_steps: int
    learning_rate: float
    epochs: int
    max_steps: int | None
    total_steps: int
    warmup_ratio: float
    checkpoint_every: int
    keep_checkpoints: int
    logging_steps: int
    eval_every: int | None
    beta: float | None
    packing: bool
    padding_free: bool
    lora: dict[str, Any] | None
    seed: int
    world_size: int = 1
    torch_threads: int | None = None
    num_generations: int | None = None
    """RFT: completions sampled per prompt."""
    max_completion_length: int | None = None
    use_vllm: bool = False
    training_args: dict[str, Any] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def trainer_kwargs(self, output_dir: str) -> dict[str, Any]:
        """Arguments of ``SFTConfig`` / ``DPOConfig`` for this plan."""
        kwargs: dict[str, Any] = {
            "output_dir": output_dir,
            "per_device_train_batch_size": self.batch_size,
            "per_device_eval_batch_size": self.batch_size,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
            "learning_rate": self.learning_rate,
            "num_train_epochs": self.epochs,
            "max_steps": self.max_steps if self.max_steps is not None else -1,
            "warmup_steps": self.warmup_ratio,
            "bf16": self.precision == "bf16",
            "fp16": self.precision == "fp16",
            "gradient_checkpointing": self.gradient_checkpointing,
            "use_cpu": self.device == "cpu",
            "max_length": self.max_length,
            "logging_steps": self.logging_steps,
            "logging_first_step": True,
            "save_strategy": "steps",
            "save_steps": self.checkpoint_every,
            "save_total_limit": self.keep_checkpoints,
            "seed": self.seed,
            "data_seed": self.seed,
            "report_to": [],
            "disable_tqdm": True,
            "dataloader_num_workers": 0,
        }
        if self.eval_every:
            kwargs.update(eval_strategy="steps", eval_steps=self.eval_every)
        if self.device == "cpu" and self.world_size > 1:
            kwargs["ddp_backend"] = "gloo"
        if self.liger_kernel:
            kwargs["use_liger_kernel"] = True
        if self.method == "rft":
            del kwargs["max_length"]  # GRPO limits the completion, not the row
            kwargs.update(
                num_generations=self.num_generations,
                max_completion_length=self.max_completion_length,
                beta=self.beta,
                use_vllm=self.use_vllm,
            )
            if self.use_vllm:
                kwargs["vllm_mode"] = "colocate"
        elif self.method == "sft":
            kwargs["loss_type"] = "nll"
            kwargs["packing"] = self.packing
            kwargs["padding_free"] = self.padding_free
            kwargs["assistant_only_loss"] = self.loss == "assistant_only" and not self.split_turns
            if self.data_format == "prompt-completion" or self.split_turns:
                kwargs["completion_only_loss"] = self.loss != "all"
        else:
            kwargs["beta"] = self.beta
        kwargs.update(self.training_args)
        return kwargs


def _auto(value: Any) -> bool:
    return value is None or value == "auto"


def _round_up(n: int, multiple: int) -> int:
    return max(multiple, math.ceil(n / multiple) * multiple)


def resolve_plan(
    *,
    method: Method,
    hyperparameters: dict[str, Any],
    lora: dict[str, Any] | None,
    seed: int,
    options: LocalOptions,
    hardware: Hardware,
    stats: DataStats,
) -> Plan:
    """Turn the config, the options, the hardware and the data into concrete training arguments.

    Each stage resolves one family of settings, refuses what cannot run here
    (a :class:`ConfigError` naming the option), and writes why it chose an
    automatic value into ``reasons`` (shown in ``plan.json`` and ``tunekit show``).
    """
    reasons: dict[str, str] = {}
    precision = _precision(options, hardware, reasons)
    _check_quantization(options, hardware, lora)
    kernels = _kernels(method, options, hardware, reasons)
    loss, split_turns = _resolve_loss(method, options.loss, stats, reasons)
    max_length = _max_length(hyperparameters, hardware, stats, reasons)
    generation = _generation(method, hyperparameters, options, hardware, stats, reasons)
    schedule = _schedule(method, hyperparameters, lora, options, hardware, stats, reasons, generation)
    checkpoint_every, eval_every = _checkpoints(options, stats, schedule.total_steps, reasons)
    if method == "rft":
        eval_every = None  # validating GRPO means sampling again; the evaluation after training scores the rewards

    return Plan(
        method=method,
        device=hardware.device,
        precision=precision,
        quantization=options.quantization,
        gradient_checkpointing=kernels.gradient_checkpointing,
        attn_implementation=kernels.attn_implementation,
        liger_kernel=kernels.liger_kernel,
        loss=loss,
        split_turns=split_turns,
        data_format=stats.format,
        max_length=max_length,
        batch_size=schedule.batch_size,
        gradient_accumulation_steps=schedule.gradient_accumulation_steps,
        learning_rate=schedule.learning_rate,
        epochs=schedule.epochs,
        max_steps=options.max_steps,
        total_steps=schedule.total_steps,
        warmup_ratio=schedule.warmup_ratio,
        checkpoint_every=checkpoint_every,
        keep_checkpoints=options.keep_checkpoints,
        logging_steps=options.logging_steps,
        eval_every=eval_every,
        beta=schedule.beta,
        packing=options.packing,
        padding_free=options.padding_free,
        lora=lora,
        seed=seed,
        world_size=schedule.world_size,
        torch_threads=options.torch_threads,
        num_generations=generation.num_generations,
        max_completion_length=generation.max_completion_length,
        use_vllm=generation.use_vllm,
        training_args=dict(options.training_args),
        reasons=reasons,
    )


def _precision(options: LocalOptions, hardware: Hardware, reasons: dict[str, str]) -> Literal["fp32", "bf16", "fp16"]:
    """bf16 where the device computes it natively, fp16 on older CUDA GPUs, else fp32."""
    cuda = hardware.device == "cuda"
    if options.precision != "auto":
        precision: Literal["fp32", "bf16", "fp16"] = options.precision
    elif cuda and hardware.bf16:
        precision, reasons["precision"] = "bf16", f"{hardware.name} supports bf16"
    elif cuda:
        precision, reasons["precision"] = "fp16", f"{hardware.name} lacks bf16"
    elif hardware.device == "cpu" and hardware.bf16:
        precision, reasons["precision"] = "bf16", "the CPU computes bf16 natively: autocast runs faster than fp32"
    else:
        precision, reasons["precision"] = (
            "fp32",
            f"{hardware.device}: no native bf16 (emulated, it is many times slower)",
        )
    if precision == "fp16" and not hardware.is_gpu:
        raise ConfigError("provider_options.precision: fp16 training needs a GPU; the CPU trains in bf16 or fp32")
    return precision


def _check_quantization(options: LocalOptions, hardware: Hardware, lora: dict[str, Any] | None) -> None:
    """4-bit (QLoRA) needs CUDA, bitsandbytes and an adapter to train."""
    if options.quantization != "4bit":
        return
    if hardware.device != "cuda":
        raise ConfigError("provider_options.quantization: 4bit (QLoRA) needs a CUDA GPU and bitsandbytes")
    if not hardware.bitsandbytes:
        raise ConfigError("provider_options.quantization: 4bit needs bitsandbytes: pip install tunekit-local[qlora]")
    if lora is None:
        raise ConfigError("provider_options.quantization: 4bit trains an adapter; set a lora section")


@dataclass(frozen=True)
class _Kernels:
    gradient_checkpointing: bool
    attn_implementation: str
    liger_kernel: bool


def _kernels(method: str, options: LocalOptions, hardware: Hardware, reasons: dict[str, str]) -> _Kernels:
    """Gradient checkpointing, the attention kernel, Liger, and what packing needs of them."""
    gpu = hardware.is_gpu
    cuda = hardware.device == "cuda"
    if options.gradient_checkpointing == "auto":
        checkpointing = gpu
        reasons["gradient_checkpointing"] = (
            "saves GPU memory" if gpu else "the CPU has the memory; recomputing activations only costs time"
        )
    else:
        checkpointing = bool(options.gradient_checkpointing)

    if options.attn_implementation != "auto":
        attn: str = options.attn_implementation
    elif cuda and hardware.flash_attn:
        attn, reasons["attn_implementation"] = "flash_attention_2", "flash-attn is installed and the GPU supports it"
    else:
        attn, reasons["attn_implementation"] = "sdpa", "PyTorch's scaled-dot-product attention"

    if options.liger_kernel == "auto":
        liger = cuda and hardware.liger
        if liger:
            reasons["liger_kernel"] = "liger-kernel is installed"
    else:
        liger = bool(options.liger_kernel)
        if liger and not cuda:
            raise ConfigError("provider_options.liger_kernel: Liger's Triton kernels need a CUDA GPU")

    # packing and padding-free need attention that respects sequence boundaries in a flat batch
    for name in ("packing", "padding_free"):
        if getattr(options, name) and attn not in FLASH_ATTENTION:
            raise ConfigError(
                f"provider_options.{name}: needs a FlashAttention implementation (flash_attention_2 or 3) that keeps "
                f"packed examples from attending to each other; attention here is {attn!r}"
                + ("" if cuda else " because FlashAttention runs only on CUDA GPUs")
            )
    if method == "dpo" and options.packing:
        raise ConfigError("provider_options.packing: DPO trains on pairs and cannot pack them")
    if method == "rft" and options.packing:
        raise ConfigError("provider_options.packing: RFT samples its own completions and cannot pack them")
    return _Kernels(checkpointing, attn, liger)


def _max_length(hyperparameters: dict[str, Any], hardware: Hardware, stats: DataStats, reasons: dict[str, str]) -> int:
    """The sequence length: the longest example rounded up, within the device's and the model's limits."""
    cap = GPU_SEQ_CAP if hardware.is_gpu else CPU_SEQ_CAP
    if stats.model_max_length:
        cap = min(cap, stats.model_max_length)
    requested = hyperparameters.get("max_seq_length", "auto")
    if not _auto(requested):
        return int(requested)
    if stats.max_tokens:
        reasons["max_length"] = f"longest example has {stats.max_tokens} tokens (limit {cap})"
        return min(cap, _round_up(stats.max_tokens, SEQ_ROUND))
    reasons["max_length"] = "no token statistics; a common limit"
    return min(cap, 1024)


@dataclass(frozen=True)
class _Schedule:
    world_size: int
    batch_size: int
    gradient_accumulation_steps: int
    learning_rate: float
    epochs: int
    total_steps: int
    warmup_ratio: float
    beta: float | None


@dataclass(frozen=True)
class _Generation:
    num_generations: int | None = None
    max_completion_length: int | None = None
    use_vllm: bool = False


def _generation(
    method: Method,
    hyperparameters: dict[str, Any],
    options: LocalOptions,
    hardware: Hardware,
    stats: DataStats,
    reasons: dict[str, str],
) -> _Generation:
    """RFT's sampling: completions per prompt, their length limit, and the engine that samples them."""
    if method != "rft":
        return _Generation()
    gpu = hardware.is_gpu
    generations = hyperparameters.get("generations", "auto")
    if _auto(generations):
        generations = GPU_GENERATIONS if gpu else CPU_GENERATIONS
        reasons["generations"] = f"{'GPU' if gpu else 'CPU'} default: enough completions per prompt to compare"
    length = hyperparameters.get("max_completion_length", "auto")
    if _auto(length):
        cap = GPU_COMPLETION_CAP if gpu else CPU_COMPLETION_CAP
        length = min(cap, max(MIN_COMPLETION, _round_up(2 * stats.max_reference_tokens, SEQ_ROUND)))
        reasons["max_completion_length"] = (
            f"twice the longest reference answer ({stats.max_reference_tokens} tokens), at least {MIN_COMPLETION}, "
            f"at most {cap}"
        )
    engine = options.generation_engine
    if engine == "vllm" and not (hardware.device == "cuda" and _installed("vllm")):
        raise ConfigError("provider_options.generation_engine: vllm needs a CUDA GPU and vllm installed")
    use_vllm = engine == "vllm" or (engine == "auto" and hardware.device == "cuda" and _installed("vllm"))
    if engine == "auto":
        reasons["generation_engine"] = (
            "vLLM is installed and the GPU can share it (colocate)" if use_vllm else "transformers' generate"
        )
    return _Generation(int(generations), int(length), use_vllm)


def _schedule(
    method: Method,
    hyperparameters: dict[str, Any],
    lora: dict[str, Any] | None,
    options: LocalOptions,
    hardware: Hardware,
    stats: DataStats,
    reasons: dict[str, str],
    generation: _Generation | None = None,
) -> _Schedule:
    """Batch, accumulation, learning rate, epochs and the steps they make, warmup, and DPO's or RFT's beta."""
    from tunekit.plugin import target_epochs

    gpu = hardware.is_gpu
    world = options.num_processes * options.num_machines
    generations = generation.num_generations if generation is not None else None
    batch = hyperparameters.get("batch_size", "auto")
    accumulation = hyperparameters.get("gradient_accumulation_steps", "auto")
    accumulation = 1 if _auto(accumulation) else int(accumulation)
    if generations is not None:
        # GRPO's batch counts completions, and every step must hold whole groups of one prompt's completions.
        if _auto(batch):
            batch = _round_up(GPU_BATCH if gpu else CPU_BATCH, generations)
            reasons["batch_size"] = f"completions per step: whole groups of {generations}"
        if (int(batch) * accumulation * world) % generations:
            raise ConfigError(
                f"hyperparameters.batch_size: RFT's batch counts completions; batch_size x "
                f"gradient_accumulation_steps x processes ({int(batch) * accumulation * world}) must be a multiple "
                f"of generations ({generations})"
            )
    elif _auto(batch):
        batch = GPU_BATCH if gpu else CPU_BATCH
        batch = max(1, min(batch, math.ceil(stats.train_examples / world))) if stats.train_examples else batch
        reasons["batch_size"] = f"{'GPU' if gpu else 'CPU'} default, at most the examples per process"

    learning_rate = hyperparameters.get("learning_rate", "auto")
    if _auto(learning_rate):
        table = {("sft", True): LORA_SFT_LR, ("sft", False): FULL_SFT_LR}
        table.update({("dpo", True): LORA_DPO_LR, ("dpo", False): FULL_DPO_LR})
        table.update({("rft", True): LORA_RFT_LR, ("rft", False): FULL_RFT_LR})
        learning_rate = table[(method, lora is not None)]
        reasons["learning_rate"] = f"{method} with {'an adapter' if lora is not None else 'all weights'}"

    epochs = hyperparameters.get("epochs", "auto")
    if _auto(epochs):
        epochs = target_epochs(stats.train_examples)
        reasons["epochs"] = f"3, clamped so {stats.train_examples} examples x epochs stays within 100..25,000"
    prompts_per_step = int(batch) * accumulation * world // (generations or 1)
    steps_per_epoch = max(1, math.ceil(stats.train_examples / max(1, prompts_per_step)))
    total = options.max_steps or steps_per_epoch * int(epochs)

    warmup = hyperparameters.get("warmup_ratio", "auto")
    warmup = WARMUP_RATIO if _auto(warmup) else float(warmup)
    beta = hyperparameters.get("beta", "auto")
    if method == "rft" and _auto(beta):
        reasons["beta"] = "no KL penalty (TRL's default): no reference model to keep, less memory, faster steps"
    beta = (
        (DPO_BETA if _auto(beta) else float(beta))
        if method == "dpo"
        else ((RFT_BETA if _auto(beta) else float(beta)) if method == "rft" else None)
    )
    return _Schedule(world, int(batch), accumulation, float(learning_rate), int(epochs), total, warmup, beta)


def _checkpoints(
    options: LocalOptions, stats: DataStats, total: int, reasons: dict[str, str]
) -> tuple[int, int | None]:
    """How often to save (about CHECKPOINTS_PER_RUN per run) and to evaluate (at each save, with validation data)."""
    checkpoint_every = options.checkpoint_every or max(1, total // CHECKPOINTS_PER_RUN)
    if options.checkpoint_every is None:
        reasons["checkpoint_every"] = f"about {CHECKPOINTS_PER_RUN} checkpoints over {total} steps"
    eval_every = options.eval_every
    if eval_every is None and stats.validation_examples:
        eval_every = checkpoint_every
    return checkpoint_every, eval_every


def _resolve_loss(
    method: str, requested: str, stats: DataStats, reasons: dict[str, str]
) -> tuple[Literal["assistant_only", "completion_only", "all"], bool]:
    fmt = stats.format
    if method == "rft":
        if fmt != "prompt-only":
            raise ConfigError(f"method: rft samples completions for prompts; this data is {fmt}")
        return "completion_only", False
    if fmt == "prompt-only":
        raise ConfigError(f"method: prompt-only data (prompt and reference) trains with method: rft, not {method}")
    if method == "dpo":
        if fmt != "preference":
            raise ConfigError(f"method: dpo needs preference data (prompt, chosen, rejected); this data is {fmt}")
        return "completion_only", False
    if fmt == "preference":
        raise ConfigError("method: preference data (chosen / rejected) trains with method: dpo, not sft")
    if requested == "auto":
        requested = {"conversational": "assistant_only", "prompt-completion": "completion_only"}.get(fmt, "all")
        reasons["loss"] = f"{fmt} data"
    if requested == "all":
        if stats.weighted_turns:
            reasons["weights"] = "loss: all trains on every token, so per-message weights are ignored"
        return "all", False
    if fmt == "text":
        raise ConfigError(
            f"provider_options.loss: {requested} needs chats or prompt-completion pairs; this is plain text"
        )
    if fmt == "prompt-completion":
        return "completion_only", False
    if requested == "completion_only":
        raise ConfigError("provider_options.loss: completion_only is for prompt-completion data; use assistant_only")
    if stats.weighted_turns:
        # TRL masks every assistant turn alike; one row per weight-1 turn trains exactly those.
        reasons["loss_masking"] = (
            "some assistant turns have weight 0: each weight-1 turn becomes a prompt-completion row, "
            "and weight-0 turns stay in the prompt as context"
        )
        return "assistant_only", True
    if stats.template_masks_assistant:
        reasons["loss_masking"] = "the chat template marks assistant turns"
        return "assistant_only", False
    reasons["loss_masking"] = (
        "the chat template has no {% generation %} markers: each assistant turn becomes a prompt-completion row"
    )
    return "assistant_only", True


def library_versions() -> dict[str, str]:
    """Versions of the libraries a run depends on (for the run folder)."""
    from importlib import metadata

    versions = {}
    for name in ("tunekit", "tunekit-local", "torch", "transformers", "peft", "trl", "accelerate", "datasets"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    for name in ("flash-attn", "liger-kernel", "bitsandbytes", "deepspeed", "gguf"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions
