"""The tunekit config: what to tune, in one provider-neutral file.

A config is YAML or JSON. Strings may use ``${VAR}`` or ``${VAR:-default}``
to read the environment (``$${`` writes a literal ``${``). Unknown keys are
rejected with their full path, and ``provider_options`` is validated by the
chosen provider's own ``Options`` model, so a typo such as
``provider_options.api_kee`` is caught before anything runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, ValidationError, model_validator

from tunekit.entrypoints import options_model
from tunekit.errors import ConfigError
from tunekit.secrets import MASK, register_model_secrets

__all__ = [
    "MAX_DEPTH",
    "MAX_VALUES",
    "DataConfig",
    "DeployConfig",
    "EvalConfig",
    "Hyperparameters",
    "JudgeConfig",
    "LoraConfig",
    "RagConfig",
    "SweepConfig",
    "TrackingConfig",
    "TrafficConfig",
    "TuneConfig",
    "check_document_size",
    "config_hash",
    "format_validation_error",
    "interpolate_env",
    "load_config",
    "parse_config",
]

Auto = Literal["auto"]


class StrictModel(BaseModel):
    """A config section: unknown keys are errors, values are checked on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataConfig(StrictModel):
    """Where the training data is and how to read it."""

    train: str = Field(description="Training data file (JSONL, JSON, CSV/TSV, Parquet).")
    validation: str | None = Field(None, description="Validation data file; or use validation_split.")
    validation_split: float | None = Field(
        None, gt=0, lt=1, description="Fraction of train held out for validation (seeded) when no file is given."
    )
    format: str | None = Field(
        None, description="Input format (openai, sharegpt, alpaca, dpo, ...); detected when omitted."
    )
    columns: dict[str, str] | None = Field(
        None, description="Explicit column mapping, canonical name -> column name in the file."
    )
    shuffle: bool = Field(True, description="Shuffle the training examples (seeded).")
    dedupe: bool = Field(False, description="Drop exact duplicate examples.")

    @model_validator(mode="after")
    def _one_validation_source(self) -> DataConfig:
        if self.validation is not None and self.validation_split is not None:
            raise ValueError("give either validation or validation_split, not both")
        return self


class Hyperparameters(StrictModel):
    """Training hyperparameters; ``auto`` lets the provider choose."""

    epochs: int | Auto = Field("auto", description="Passes over the training data.")
    learning_rate: float | Auto = Field("auto", description="Absolute learning rate (local, AutoTrain).")
    learning_rate_multiplier: float | Auto = Field(
        "auto", description="Multiplier of the provider's base rate (OpenAI, Azure)."
    )
    batch_size: int | Auto = Field("auto", description="Examples per optimizer step (per device for local).")
    gradient_accumulation_steps: int | Auto = Field("auto", description="Micro-batches per optimizer step.")
    max_seq_length: int | Auto = Field("auto", description="Token limit per example; longer ones are truncated.")
    warmup_ratio: float | Auto = Field("auto", description="Fraction of steps spent warming up the rate.")
    beta: float | Auto = Field(
        "auto", description="DPO beta, or RFT's KL weight: how far the tuned policy may move from the base."
    )
    generations: int | Auto = Field(
        "auto", description="RFT: completions sampled per prompt; rewards are compared within each group."
    )
    max_completion_length: int | Auto = Field("auto", description="RFT: token limit per sampled completion.")

    @model_validator(mode="after")
    def _positive(self) -> Hyperparameters:
        for name in (
            "epochs",
            "learning_rate",
            "learning_rate_multiplier",
            "batch_size",
            "gradient_accumulation_steps",
            "max_completion_length",
        ):
            value = getattr(self, name)
            if value != "auto" and value <= 0:
                raise ValueError(f"{name} must be positive or 'auto'")
        if self.generations != "auto" and self.generations < 2:
            raise ValueError("generations must be at least 2 (rewards are compared within a prompt's group) or 'auto'")
        return self


class LoraConfig(StrictModel):
    """Low-rank adapter settings, for providers that train adapters."""

    r: int = Field(16, gt=0, description="Rank of the adapter matrices.")
    alpha: int = Field(32, gt=0, description="Scaling numerator (effective scale alpha / r).")
    dropout: float = Field(0.05, ge=0, lt=1, description="Dropout on the adapter input.")
    target_modules: list[str] | Literal["all-linear"] = Field(
        "all-linear", description="Module names to adapt, or all-linear."
    )


Baseline = Literal["zero-shot", "few-shot", "retrieval", "rag"]
_BASELINES: tuple[Baseline, ...] = ("zero-shot", "few-shot")

RAG_TEMPLATE = (
    "Answer the question using the passages below where they help.\n\nPassages:\n{context}\n\nQuestion: {question}"
)
"""The default RAG prompt: ``{context}`` becomes the retrieved passages, ``{question}`` the user's message."""


class RagConfig(StrictModel):
    """Retrieval-augmented prompts: passages from a folder of documents, placed in the question."""

    docs: str = Field(
        description="Folder of UTF-8 text documents (.txt, .md, PDFs converted to text), read recursively; "
        "hidden files are skipped."
    )
    chunk_chars: int = Field(1000, gt=0, description="Passage length in characters (cut at word boundaries).")
    overlap: int = Field(150, ge=0, description="Characters a passage repeats from the end of the previous one.")
    chunk_tokens: int | None = Field(
        None,
        gt=0,
        description="Passage length in tokens of the base model's tokenizer, instead of chunk_chars: passages "
        "start and end between tokens (between words where one fits).",
    )
    overlap_tokens: int | None = Field(
        None,
        ge=0,
        description="Tokens a passage repeats from the end of the previous one, with chunk_tokens "
        "(default: 15% of chunk_tokens, as overlap is of chunk_chars).",
    )
    context_tokens: int | None = Field(
        None,
        gt=0,
        description="Most tokens the k passages may take in the prompt, their headers included: checked "
        "against the k longest passages before any request.",
    )
    k: int = Field(3, gt=0, description="Passages placed in each prompt, the most relevant first.")
    template: str = Field(
        RAG_TEMPLATE,
        description="The user message sent: {context} is replaced by the passages, {question} by the "
        "question; other text (braces included) is sent as written.",
    )
    tuned: bool = Field(True, description="Also evaluate the tuned model with the same passages (tuned+rag).")

    @model_validator(mode="after")
    def _usable(self) -> RagConfig:
        missing = [p for p in ("{context}", "{question}") if p not in self.template]
        if missing:
            raise ValueError(f"template must contain {' and '.join(missing)}")
        if self.chunk_tokens is None:
            if self.overlap_tokens is not None:
                raise ValueError("overlap_tokens needs chunk_tokens (passages sized in tokens)")
            if self.overlap >= self.chunk_chars:
                raise ValueError(f"overlap ({self.overlap}) must be smaller than chunk_chars ({self.chunk_chars})")
            return self
        by_chars = sorted({"chunk_chars", "overlap"} & self.model_fields_set)
        if by_chars:
            raise ValueError(
                f"chunk_tokens sizes passages in tokens; {' and '.join(by_chars)} size them in characters: set one"
            )
        if self.overlap_tokens is None:
            self.overlap_tokens = self.chunk_tokens * 15 // 100
        if self.overlap_tokens >= self.chunk_tokens:
            raise ValueError(
                f"overlap_tokens ({self.overlap_tokens}) must be smaller than chunk_tokens ({self.chunk_tokens})"
            )
        if self.context_tokens is not None and self.k * self.chunk_tokens > self.context_tokens:
            raise ValueError(
                f"context_tokens ({self.context_tokens}) cannot hold k={self.k} passages of chunk_tokens "
                f"({self.chunk_tokens}) tokens; lower k or chunk_tokens, or raise context_tokens"
            )
        return self


class TrafficConfig(StrictModel):
    """The traffic the tuned model would serve: turns an hourly hosting fee into a cost per request."""

    requests_per_day: float = Field(..., gt=0, description="Requests a day the application expects to send.")


class JudgeConfig(StrictModel):
    """A model that scores open-ended answers by a rubric (its requests are billed apart from the candidates')."""

    model: str = Field(description="The judge model: an id of the config's provider, or provider:model.")
    rubric: str = Field(min_length=1, description="What a good answer does; the judge applies it to every answer.")
    mode: Literal["score", "pairwise"] = Field(
        "score",
        description="score: 1-10 per answer with a reason; pairwise: each candidate against `against`, both orders.",
    )
    provider: str | None = Field(None, description="The judge's provider (default: the config's).")
    against: str | None = Field(
        None, description="pairwise: the candidate (name or kind) every other is compared with; default few-shot."
    )
    max_tokens: int = Field(256, gt=0, description="Reply limit per judgement.")


class EvalConfig(StrictModel):
    """How to prove the tuned model beats prompting the base model."""

    data: str | None = Field(None, description="Held-out evaluation file; defaults to the validation data.")
    metrics: list[str] = Field(
        default_factory=lambda: ["exact_match"],
        description="Built-in metrics (exact_match, normalized_exact_match, token_f1, json_valid, regex), "
        "'grader:file.json' (an OpenAI grader definition), 'judge' (needs eval.judge) or 'module:function' scorers.",
    )
    few_shot: int = Field(
        3, ge=0, description="Training examples placed in the few-shot (and retrieval) baseline's prompt."
    )
    baselines: list[Baseline] = Field(
        default_factory=lambda: list(_BASELINES),
        description="Base-model baselines to compare: zero-shot, few-shot (random shots), retrieval (the "
        "few_shot training examples most similar to the question, by BM25; needs tunekit[retrieval]), rag "
        "(passages from eval.rag.docs in the prompt; implied by an eval.rag section).",
    )
    rag: RagConfig | None = Field(
        None, description="Retrieval-augmented generation: the base model (and the tuned one) with passages."
    )
    models: list[str] = Field(
        default_factory=list,
        description="Other models to compare as candidates: a model id (through the config's provider) or "
        "provider:model for any installed provider (its options from its environment variables).",
    )
    max_examples: int | None = Field(None, gt=0, description="Evaluate at most this many examples.")
    max_new_tokens: int = Field(256, gt=0, description="Generation limit per answer.")
    regex: str | None = Field(None, description="Pattern for the regex metric.")
    traffic: TrafficConfig | None = Field(
        None, description="Expected traffic, for the break-even in days and the hosting fee per request."
    )
    judge: JudgeConfig | None = Field(
        None, description="Score open-ended answers with a judge model (the metric `judge`, added to metrics)."
    )

    @model_validator(mode="after")
    def _rag_needs_docs(self) -> EvalConfig:
        if "rag" in self.baselines and self.rag is None:
            raise ValueError("the rag baseline needs an eval.rag section with docs: a folder of documents")
        if "judge" in self.metrics and self.judge is None:
            raise ValueError("the judge metric needs an eval.judge section: model and rubric")
        return self


class DeployConfig(StrictModel):
    """Serving the tuned model where the provider deploys it: an Azure deployment, a Hugging Face Inference Endpoint."""

    name: str | None = Field(None, description="Deployment or endpoint name; defaults to the run id.")
    sku: str = Field("Standard", description="Azure: Standard, GlobalStandard, Developer or ProvisionedManaged.")
    capacity: int = Field(1, gt=0, description="Azure: capacity units.")
    instance_type: str | None = Field(
        None, description="Inference Endpoints: the instance (nvidia-l4, nvidia-a10g, intel-spr, ...)."
    )
    instance_size: str | None = Field(None, description="Inference Endpoints: x1, x2, x4 or x8.")
    region: str | None = Field(None, description="Inference Endpoints: VENDOR/REGION, e.g. aws/us-east-1.")
    min_replicas: int = Field(1, ge=0, description="Inference Endpoints: replicas kept running (0 scales to zero).")
    max_replicas: int = Field(1, ge=1, description="Inference Endpoints: the most replicas under load.")
    scale_to_zero_minutes: int | None = Field(
        None, gt=0, description="Inference Endpoints: idle minutes before scaling to zero (needs min_replicas: 0)."
    )
    image: Literal["vllm", "tgi", "default"] | None = Field(
        None, description="Inference Endpoints: the serving container (vLLM, TGI, or Hugging Face's default)."
    )
    weights: Literal["merged", "lora"] | None = Field(
        None, description="Inference Endpoints: serve merged weights, or the LoRA adapter on its base model."
    )


_LATER_HYPERPARAMETERS = ("generations", "max_completion_length")


TrackingBackend = Literal["mlflow", "trackio", "wandb"]


class TrackingConfig(StrictModel):
    """Experiment tracking: the run's parameters, metrics as they arrive, evaluation results and report files."""

    backend: TrackingBackend = Field(
        description="mlflow (tunekit[mlflow]), trackio (tunekit[trackio]) or wandb (tunekit[wandb]; a key, or offline)."
    )
    uri: str | None = Field(
        None,
        description="MLflow tracking URI (file:/path, sqlite:///path.db, http://host:5000); defaults to a file "
        "store under TUNEKIT_HOME. Credentials go in MLflow's environment variables, never here.",
    )
    project: str = Field("tunekit", description="MLflow experiment, Trackio or W&B project.")
    entity: str | None = Field(None, description="W&B entity (team or user).")
    tags: dict[str, str] = Field(default_factory=dict, description="Tags set on every tracked run.")
    artifacts: bool = Field(True, description="Upload the evaluation report files as artifacts.")

    @model_validator(mode="after")
    def _no_credentials_in_uri(self) -> TrackingConfig:
        if self.uri is not None and re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/@]*@", self.uri):
            raise ValueError(
                "uri holds credentials: give them in MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD "
                "(or MLFLOW_TRACKING_TOKEN) instead"
            )
        return self


class SweepConfig(StrictModel):
    """A hyperparameter sweep (``tunekit sweep``): one child run per point, each an ordinary run."""

    method: Literal["grid", "random"] = Field(
        "grid", description="grid: every combination; random: max_runs combinations drawn without repeats."
    )
    parameters: dict[str, list[Any]] = Field(
        default_factory=dict,
        description="Config paths and the values to try, e.g. hyperparameters.learning_rate_multiplier: [0.5, 2].",
    )
    seeds: list[int] = Field(default_factory=list, description="Training seeds to try (the config's seed field).")
    max_runs: int | None = Field(
        None, gt=0, description="Most child runs; a grid larger than this is refused (the grid's size when omitted)."
    )
    max_usd: float | None = Field(
        None, ge=0, description="Spending cap: the children's summed estimate must fit before anything is submitted."
    )
    parallel: int = Field(1, gt=0, description="Child runs followed at once.")
    sample_seed: int = Field(0, description="Seed of the random method's draw.")

    @model_validator(mode="after")
    def _something_varies(self) -> SweepConfig:
        if not self.parameters and not self.seeds:
            raise ValueError("a sweep needs parameters or seeds to vary")
        for path, values in self.parameters.items():
            if not values:
                raise ValueError(f"parameters.{path}: give at least one value")
            if path in ("sweep", "provider", "name") or path.startswith("sweep."):
                raise ValueError(f"parameters.{path}: a sweep cannot vary this")
        if "seed" in self.parameters and self.seeds:
            raise ValueError("give the seeds in seeds or in parameters.seed, not both")
        return self


class TuneConfig(StrictModel):
    """A fine-tuning run, provider-neutral; ``provider_options`` holds the rest."""

    name: str | None = Field(None, description="A human name for the run.")
    provider: str = Field(description="openai, azure, autotrain, local, or an installed plugin.")
    model: str = Field(description="Base model id, path, or alias (smollm2-135m-instruct).")
    data: DataConfig
    method: Literal["sft", "dpo", "rft"] = Field(
        "sft",
        description="Supervised fine-tuning, preference tuning (dpo), or reinforcement fine-tuning from reward "
        "functions (rft; grpo is an alias).",
    )
    reward: list[str] = Field(
        default_factory=list,
        description="RFT: reward functions, with the signature of evaluation metrics: built-in metric names or "
        "'module:function' (called as function(prediction, reference, **the example's other fields)).",
    )
    hyperparameters: Hyperparameters = Field(default_factory=Hyperparameters)
    lora: LoraConfig | None = Field(
        default_factory=LoraConfig, description="Adapter settings; null trains all weights."
    )
    init_from: str | None = Field(
        None,
        description="Start from an earlier run's result instead of the base model: RUN[@STEP] (a run id, a unique "
        "prefix, latest, or a config file; @STEP picks a checkpoint). The run must have succeeded on the same "
        "provider and base model.",
        min_length=1,
    )
    suffix: str | None = Field(None, description="Appended to the tuned model's name where the provider names it.")
    seed: int = Field(42, description="Seed for shuffling, splitting and training.")
    eval: EvalConfig | None = None
    deploy: DeployConfig | None = None
    tracking: TrackingConfig | None = Field(
        None, description="Track the run in MLflow, Trackio or W&B (every provider; see the tracking guide)."
    )
    sweep: SweepConfig | None = Field(None, description="A hyperparameter sweep, run by `tunekit sweep CONFIG`.")
    metadata: dict[str, str] = Field(default_factory=dict, description="Free-form tags kept with the run.")
    provider_options: dict[str, Any] = Field(
        default_factory=dict, description="Options of the chosen provider, validated by its Options model."
    )

    _options: BaseModel | None = PrivateAttr(None)

    @model_validator(mode="before")
    @classmethod
    def _method_alias(cls, data: Any) -> Any:
        # GRPO is the algorithm most users know RFT by; one method name in the ledger and the run key.
        if isinstance(data, Mapping) and data.get("method") == "grpo":
            data = {**data, "method": "rft"}
        return data

    @model_validator(mode="after")
    def _reward_with_rft(self) -> TuneConfig:
        if self.method == "rft" and not self.reward:
            raise ValueError("method rft needs reward: a list of reward functions (metric names or module:function)")
        if self.reward and self.method != "rft":
            raise ValueError(f"reward is used only by method rft (grpo), not {self.method}")
        if len(set(self.reward)) != len(self.reward):
            raise ValueError(f"reward names repeat: {self.reward}")
        return self

    def options(self) -> BaseModel:
        """The provider options, validated by the provider's ``Options`` model."""
        if self._options is None:
            options = _validate_provider_options(self)
            # Keep what the user set, with secrets as SecretStr, so no dump or repr of the config reveals them.
            self.provider_options = options.model_dump(exclude_unset=True)
            self._options = options
        return self._options

    def redacted(self) -> dict[str, Any]:
        """A JSON-safe dump with every secret masked, for the ledger and saved files."""
        data = self.model_dump(mode="json", exclude={"provider_options"})
        # Settings added later are left out at their defaults, so a config written before they existed keeps its
        # hash and run key (re-running it finds its finished run instead of paying for a second job).
        if not data.get("reward"):
            data.pop("reward", None)
        for name in _LATER_HYPERPARAMETERS:
            if data["hyperparameters"].get(name) == "auto":
                data["hyperparameters"].pop(name, None)
        if data.get("init_from") is None:  # absent as before init_from existed: config hashes and run keys stay
            data.pop("init_from", None)
        try:
            options = self.options()
        except ConfigError:
            options = None
        if options is not None:
            data["provider_options"] = options.model_dump(mode="json", exclude_defaults=True)
        else:
            data["provider_options"] = {k: MASK for k in self.provider_options}
        return data

    def to_yaml(self) -> str:
        """The config as YAML, secrets masked."""
        return yaml.safe_dump(self.redacted(), sort_keys=False)


def config_hash(config: TuneConfig) -> str:
    """A stable hash of everything that shapes the run (not the name, never secrets)."""
    data = _without_secrets(config.redacted())
    data.pop("name", None)
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _without_secrets(value: Any) -> Any:
    # Rotating a key must not make the same run look like a new one.
    if isinstance(value, dict):
        return {k: _without_secrets(v) for k, v in value.items() if v != MASK}
    if isinstance(value, list):
        return [_without_secrets(v) for v in value]
    return value


_ENV = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-(.*?))?\}")


def interpolate_env(
    value: Any, env: Mapping[str, str] | None = None, path: str = "", *, unset_ok: str | None = None
) -> Any:
    """Replace ``${VAR}`` and ``${VAR:-default}`` in every string of a parsed document.

    Under the key path ``unset_ok`` (for example ``provider_options`` when only
    estimating, which needs no credentials) an unset variable reads as empty.
    """
    env = os.environ if env is None else env
    if isinstance(value, str):

        def sub(match: re.Match[str]) -> str:
            if match.group(0) == "$${":
                return "${"
            name, default = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            if unset_ok is not None and (path == unset_ok or path.startswith(unset_ok + ".")):
                return ""
            raise ConfigError(f"{path or '<root>'}: environment variable {name} is not set (use ${{{name}:-default}})")

        return _ENV.sub(sub, value)
    if isinstance(value, dict):
        return {
            k: interpolate_env(v, env, f"{path}.{k}" if path else str(k), unset_ok=unset_ok) for k, v in value.items()
        }
    if isinstance(value, list):
        return [
            interpolate_env(v, env, f"{path}.{i}" if path else str(i), unset_ok=unset_ok) for i, v in enumerate(value)
        ]
    return value


def format_validation_error(error: ValidationError, prefix: str = "") -> list[str]:
    """Turn a pydantic error into ``"dotted.path: message"`` lines."""
    problems = []
    for item in error.errors():
        path = ".".join(str(p) for p in item["loc"])
        if prefix:
            path = f"{prefix}.{path}" if path else prefix
        message = "unknown key" if item["type"] == "extra_forbidden" else item["msg"]
        problems.append(f"{path or '<root>'}: {message}")
    return problems


def parse_config(
    data: Mapping[str, Any],
    *,
    source: str | Path | None = None,
    base_dir: Path | None = None,
    credentials: bool = True,
) -> TuneConfig:
    """Validate a parsed document into a :class:`TuneConfig`.

    Relative data paths are resolved against ``base_dir`` (the config file's
    folder), and ``provider_options`` is validated by the provider.
    """
    if not isinstance(data, Mapping):
        raise ConfigError("a config must be a mapping of keys to values", source=source)
    check_document_size(data, source=source)
    data = interpolate_env(dict(data), unset_ok=None if credentials else "provider_options")
    try:
        config = TuneConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError("invalid config", source=source, problems=format_validation_error(exc)) from None
    if base_dir is not None:
        _resolve_paths(config, base_dir, source)
    try:
        config.options()
    except ConfigError as exc:
        if source is not None and exc.source is None:
            raise ConfigError("invalid config", source=source, problems=exc.problems or [str(exc)]) from None
        raise
    return config


def load_config(path: str | Path, *, credentials: bool = True, **overrides: Any) -> TuneConfig:
    """Read a YAML or JSON config file; ``overrides`` replace top-level keys.

    ``credentials=False`` is for work that sends nothing (estimating): an unset
    ``${VAR}`` under ``provider_options`` reads as empty instead of failing.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"cannot read config: {exc.strerror or exc}", source=path) from None
    except UnicodeDecodeError:
        raise ConfigError("config is not valid UTF-8", source=path) from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot parse config: {exc}", source=path) from None
    except RecursionError:
        raise ConfigError(f"cannot parse config: nested more than {MAX_DEPTH} levels deep", source=path) from None
    if data is None:
        raise ConfigError("config file is empty", source=path)
    if not isinstance(data, dict):
        raise ConfigError("a config must be a mapping of keys to values", source=path)
    data.update(overrides)
    return parse_config(data, source=path, base_dir=path.parent, credentials=credentials)


MAX_VALUES = 100_000
"""Most values (every string, number, list and mapping, counted as often as it appears) a config may hold."""
MAX_DEPTH = 64
"""Deepest nesting a config may have."""


def check_document_size(data: Any, *, source: str | Path | None = None) -> None:
    """Refuse a parsed document too large or too deep to be a config.

    YAML anchors and aliases let a few lines stand for a tree of billions of
    values, or for one that contains itself; walking such a tree (to read
    ``${VAR}``, to validate) would exhaust memory or the stack. The walk here
    counts every value as often as it appears and stops at the limits.
    """
    seen = 0
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            raise ConfigError(
                f"the config holds more than {MAX_VALUES} values (do YAML aliases repeat a large part?)", source=source
            )
        if depth > MAX_DEPTH:
            raise ConfigError(
                f"the config is nested more than {MAX_DEPTH} levels deep (does a YAML alias refer to itself?)",
                source=source,
            )
        if isinstance(value, Mapping):
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, (list, tuple)):
            stack.extend((item, depth + 1) for item in value)


def _resolve_paths(config: TuneConfig, base_dir: Path, source: str | Path | None = None) -> None:
    def resolve(value: str | None, field: str) -> str | None:
        if value is None or "://" in value:
            return value
        try:
            candidate = Path(value).expanduser()
            return str(candidate if candidate.is_absolute() else (base_dir / candidate).resolve())
        except (RuntimeError, ValueError, OSError) as exc:  # ~unknown-user, a NUL byte, a path too long
            problem = f"{field}: not a usable path ({exc})"
            raise ConfigError("invalid config", source=source, problems=[problem]) from None

    config.data.train = resolve(config.data.train, "data.train") or config.data.train
    if config.init_from is not None:  # a config file named as the parent is read beside this config
        ref, at, step = config.init_from.rpartition("@") if "@" in config.init_from else (config.init_from, "", "")
        if Path(ref).suffix.lower() in (".yaml", ".yml", ".json"):
            config.init_from = f"{resolve(ref, 'init_from')}{at}{step}"
    config.data.validation = resolve(config.data.validation, "data.validation")

    def beside(spec: str, field: str) -> str:  # a scorer in a file next to the config: `file.py:function`
        target, sep, function = spec.rpartition(":")
        return f"{resolve(target, field)}:{function}" if sep and target.endswith(".py") else spec

    config.reward = [beside(spec, f"reward.{index}") for index, spec in enumerate(config.reward)]
    if config.eval is not None:
        config.eval.data = resolve(config.eval.data, "eval.data")
        if config.eval.rag is not None:
            config.eval.rag.docs = resolve(config.eval.rag.docs, "eval.rag.docs") or config.eval.rag.docs
        # Grader files and scorers in .py files, like data files and rewards, are found beside the config.
        config.eval.metrics = [
            f"grader:{resolve(m.removeprefix('grader:'), 'eval.metrics')}"
            if m.startswith("grader:")
            else beside(m, f"eval.metrics.{index}")
            for index, m in enumerate(config.eval.metrics)
        ]


def _validate_provider_options(config: TuneConfig) -> BaseModel:
    # The provider's Options model, found by name without importing the provider contract (a layer above).
    model = options_model(config.provider)
    raw = {k: v for k, v in config.provider_options.items() if v != MASK}
    try:
        options = model.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(
            "invalid provider_options", problems=format_validation_error(exc, prefix="provider_options")
        ) from None
    register_model_secrets(options)
    return options


def secret_value(value: SecretStr | None) -> str | None:
    """The plain value of an optional secret, for handing to an SDK client."""
    return value.get_secret_value() if value is not None else None
