"""TogetherProvider: fine-tuning open models on Together AI through the official ``together`` SDK.

Together's jobs carry no metadata and its list takes no filter, so the run is
found again by a tag in the job's ``suffix`` (``tk`` and twelve hex digits of
the run id's hash), which Together also writes into the tuned model's name.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from tunekit.plugin import (
    Checkpoint,
    ClientConnection,
    ConfigError,
    FineTunedModel,
    InvalidRequestError,
    JobCancelledError,
    JobEvent,
    JobFailedError,
    JobNotFinishedError,
    JobRef,
    JobState,
    JobStatus,
    PreparedData,
    Provider,
    RemoteFile,
    RunContext,
    TunekitError,
    content_name,
    events_after,
    get_logger,
    map_openai_error,
    normalize_status,
    provider_table,
    register_secret,
    status_code_of,
    table_hosting_cost,
    table_inference_price,
    table_limits,
    table_training_cost,
    target_epochs,
    tunekit_home,
    upload_once,
)
from tunekit_together.options import TogetherOptions

if TYPE_CHECKING:
    import together
    from pydantic import BaseModel

    from tunekit.plugin import (
        ChatClient,
        CostEstimate,
        DatasetSplits,
        DeployConfig,
        HostingCost,
        Limits,
        TokenStats,
        TuneConfig,
    )

__all__ = ["TOGETHER_STATUSES", "TogetherProvider", "run_tag"]

logger = get_logger("tunekit.together")

PACKAGE = "tunekit_together"
# Compressing, uploading and cancel_requested still bill: the job is running until it reaches an end.
TOGETHER_STATUSES: Mapping[str, JobStatus] = dict.fromkeys(
    ("running", "compressing", "uploading", "cancel_requested"), JobStatus.RUNNING
) | {
    "pending": JobStatus.PENDING,
    "queued": JobStatus.QUEUED,
    "cancelled": JobStatus.CANCELLED,
    "error": JobStatus.FAILED,
    "completed": JobStatus.SUCCEEDED,
}
# tunekit's hyperparameters Together takes under the same names (beta is its dpo_beta).
_HYPER = ("learning_rate", "batch_size", "gradient_accumulation_steps", "max_seq_length", "warmup_ratio")
_FAILED_FILES = {"failed", "error", "invalid_format"}
_SHAPE = ("lora_r", "lora_alpha", "lora_trainable_modules")  # what a continuation keeps to stay serverless
_NO_EVAL = "match the parent's lora settings, or pass --skip-eval and deploy the model on a dedicated endpoint"


def run_tag(run_id: str) -> str:
    """The part of the job's suffix that names the run: stable, short, letters and digits only."""
    return "tk" + hashlib.sha256(run_id.encode()).hexdigest()[:12]


class Connection(ClientConnection["together.Together"]):
    """The ``together.Together`` client, built on first use, under tunekit's retry policy."""

    def __init__(self, options: TogetherOptions) -> None:
        super().__init__(options, provider="together")
        self.options: TogetherOptions = options

    def build_client(self) -> together.Together:
        import together

        key = self.options.resolved_api_key()
        register_secret(key)
        url = self.options.resolved_base_url()
        return together.Together(api_key=key, base_url=url, timeout=self.options.timeout, max_retries=0)

    def map_error(self, exc: BaseException, attempts: int) -> TunekitError:
        if isinstance(exc, ValueError) and not isinstance(exc, TunekitError):
            # The SDK checks hyperparameters against the model's limits before sending: a refusal, not a fault.
            return InvalidRequestError(f"Together refused the job: {exc}", provider=self.provider)
        if "/models/limits" in str(getattr(getattr(exc, "request", None), "url", "")) and status_code_of(exc) == 404:
            # The SDK asks the model's limits first: a 404 there means Together does not tune that model.
            hint = "Together tunes the models listed at https://docs.together.ai/docs/fine-tuning-models"
            return InvalidRequestError("Together does not fine-tune this model", provider=self.provider, hint=hint)
        return map_openai_error(exc, provider=self.provider, attempts=attempts)


class TogetherProvider(Provider[TogetherOptions]):
    """Fine-tune open models on Together AI: LoRA or full, SFT or DPO, continued from a checkpoint."""

    name: ClassVar[str] = "together"
    Options: ClassVar[type[BaseModel]] = TogetherOptions

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        self._conn: Connection | None = None
        self._warned = False
        self._unserved: dict[str, str] = {}  # "INIT_FROM SHAPE" -> why Together will not serve that run serverless

    @property
    def conn(self) -> Connection:
        if self._conn is None:
            self._conn = Connection(self.options)
        return self._conn

    @property
    def poll_interval(self) -> float:
        return self.options.poll_interval

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- limits and prices: the tables shipped in this package ---------------------------

    @classmethod
    def limits(cls, model: str) -> Limits:
        return table_limits(PACKAGE, cls.name, model)

    @classmethod
    def estimate_cost(cls, config: TuneConfig, stats: TokenStats, estimate: CostEstimate) -> CostEstimate:
        kind = ("dpo_" if config.method == "dpo" else "") + ("lora" if config.lora is not None else "full")
        return table_training_cost(PACKAGE, cls.name, config, estimate, rate_key=f"{kind}_per_1m")

    @classmethod
    def inference_price(cls, model: str, *, tuned: bool = False) -> tuple[float, float] | None:
        return table_inference_price(PACKAGE, cls.name, model, tuned=tuned)

    @classmethod
    def hosting_cost(cls, model: str, deploy: DeployConfig | None) -> HostingCost | None:
        """A dedicated endpoint's hourly fee; a LoRA model served serverless costs only its tokens."""
        if deploy is None:
            return None
        return table_hosting_cost(PACKAGE, cls.name, model, deploy.instance_type or "1x_nvidia_h100_80gb_sxm")

    # -- before spending -------------------------------------------------------------------

    def check(self, config: TuneConfig) -> list[str]:
        problems = [*super().check(config)]
        for field in ("api_key", "base_url"):
            try:
                getattr(self.options, f"resolved_{field}")()
            except (ConfigError, ValueError) as exc:
                problems.append(f"provider_options.{field}: {exc}")
        row = (provider_table(PACKAGE, "limits", self.name).get("models") or {}).get(config.model) or {}
        if config.lora is None and row.get("full") is False:
            problems.append(f"lora: Together trains {config.model} with LoRA only; remove `lora: null`")
        if config.method == "dpo" and row.get("dpo") is False:
            problems.append(f"method: Together offers no DPO for {config.model}")
        if config.init_from is not None and self.options.from_checkpoint:
            problems.append("provider_options.from_checkpoint: init_from names what the job starts from; remove one")
        if config.deploy is not None:  # checked before training is paid for, not after
            problems.append("deploy: tunekit creates no Together endpoint; remove it (see serves_tuned in limits.yaml)")
        if self.options.wandb is not None and not os.environ.get("WANDB_API_KEY"):
            problems.append("provider_options.wandb: set WANDB_API_KEY (Together sends the run's metrics with it)")
        if config.hyperparameters.learning_rate_multiplier != "auto" and not self._warned:
            self._warned = True
            logger.warning("hyperparameters.learning_rate_multiplier is ignored on Together: it takes a learning_rate")
        return problems

    # -- data ------------------------------------------------------------------------------

    def prepare(self, data: DatasetSplits, config: TuneConfig, run: RunContext) -> PreparedData:
        """Write the splits as OpenAI-style JSONL (Together's chat and preference formats) and upload each once."""
        return run.upload_splits(data, "openai-preference" if config.method == "dpo" else "openai", self._upload)

    def _upload(self, path: Path, digest: str) -> RemoteFile:
        """Upload under the content's name unless a file of that name and size is there (the SDK names it by path)."""
        named = path.with_name(content_name(digest))
        if not named.exists():
            shutil.copyfile(path, named)
        client = self.conn.client

        def find(name: str, size: int) -> Any | None:
            listed = self.conn.call(client.files.list).data
            usable = (f for f in listed if str(f.processing_status or "").lower() not in _FAILED_FILES)
            return next((f for f in usable if f.filename == name and f.bytes == size), None)

        def send(name: str, size: int) -> Any:
            upload = lambda: client.files.upload(file=named, purpose="fine-tune", check=False)  # noqa: E731
            return self.conn.create(f"upload {name}", upload, lambda: find(name, size))

        return upload_once(named, find=find, send=send, sha256=digest)[1]

    # -- the job ---------------------------------------------------------------------------

    def create_params(self, prepared: PreparedData, config: TuneConfig, run: RunContext) -> dict[str, Any]:
        """Keyword arguments for ``client.fine_tuning.create``: tunekit's settings in Together's names."""
        hp, opts, lora = config.hyperparameters, self.options, config.lora
        start = run.start_from or opts.from_checkpoint  # init_from's answer, else the option
        params: dict[str, Any] = {
            "model": None if start else config.model,  # the checkpoint names its base model: never both
            "training_file": prepared.train,
            "validation_file": prepared.validation or "",
            "suffix": "-".join(x for x in (config.suffix, run_tag(run.run_id)) if x),
            "n_epochs": hp.epochs if hp.epochs != "auto" else target_epochs(prepared.train_examples),
            "n_checkpoints": opts.n_checkpoints,
            "n_evals": opts.n_evals if prepared.validation else 0,
            "random_seed": config.seed,
            "training_method": config.method,
            "train_on_inputs": opts.train_on_inputs if config.method == "sft" else None,
            "lora": lora is not None,
            "from_checkpoint": start,
        }
        params |= {name: getattr(hp, name) for name in _HYPER if getattr(hp, name) != "auto"}
        if config.method == "dpo" and hp.beta != "auto":
            params["dpo_beta"] = hp.beta
        if lora is not None:
            params.update(_lora_shape(config), lora_dropout=lora.dropout)
        if opts.wandb is not None:
            params.update(wandb_api_key=os.environ.get("WANDB_API_KEY"), wandb_project_name=opts.wandb.project)
            params.update(wandb_name=opts.wandb.name, wandb_entity=opts.wandb.entity)
        return params

    def submit(self, prepared: PreparedData, config: TuneConfig, run: RunContext) -> JobRef:
        params = self.create_params(prepared, config, run)
        what = f"{config.method} {'LoRA' if params['lora'] else 'full'} on {config.model}"
        run.intent("create_job", what, model=config.model, suffix=params["suffix"])
        create = lambda: self.conn.client.fine_tuning.create(**params)  # noqa: E731
        job = self.conn.create("create fine-tuning job", create, lambda: self.find_job(run.run_id))
        run.outcome("create_job", job.id, job_id=job.id, status=job.status)
        run.remember(job_id=job.id)
        return self._ref(job.id, run)

    def starting_point(self, parent: FineTunedModel, config: TuneConfig) -> str:
        """The parent's job id, or its checkpoint (``ft-…:STEP``): what the job continues (``from_checkpoint``).

        Together serves the result serverless only when it trains the parent's adapter further in the same shape."""
        job_id, now = str(parent.metadata.get("job_id") or ""), _lora_shape(config)
        trained = self.retrieve(JobRef(provider=self.name, job_id=job_id)).training_type if job_id else None
        before = {key: getattr(trained, key, None) for key in _SHAPE} if getattr(trained, "type", "") == "Lora" else {}
        if not before or before != now:
            was = f"{parent.run_id or job_id} was trained with {_described(before)}, this run with {_described(now)}"
            unserved = f"init_from: {was}: Together merges the parent first and will not serve the new model serverless"
            self._unserved[f"{config.init_from} {now}"] = unserved
            logger.warning("%s (it needs a dedicated endpoint)", unserved)
        return parent.checkpoint or job_id or parent.model_id

    def evaluation_problems(self, config: TuneConfig) -> list[str]:
        """A continuation Together merges first is no adapter on the base: its chat will not serve it serverless."""
        unserved = self._unserved.get(f"{config.init_from} {_lora_shape(config)}")
        if unserved is None or config.lora is None:  # full training: refused from limits.yaml's serves_tuned
            return []
        return [f"{unserved}; the evaluation would fail after the training is paid for: {_NO_EVAL}"]

    def find(self, run: RunContext) -> JobRef | None:
        job = self.find_job(run.run_id)
        return None if job is None else self._ref(job.id, run)

    def find_job(self, run_id: str) -> Any | None:
        """The job whose suffix ends with this run's tag (the oldest, should there be several)."""
        tag = run_tag(run_id)
        listed = self.conn.call(self.conn.client.fine_tuning.list).data or []
        found = sorted((j for j in listed if str(j.suffix or "").endswith(tag)), key=lambda j: j.created_at)
        if len(found) > 1:
            logger.warning("run %s has %d jobs (%s); following the first", run_id, len(found), [j.id for j in found])
        return found[0] if found else None

    def _ref(self, job_id: str, run: RunContext) -> JobRef:
        return JobRef(provider=self.name, job_id=job_id, extra={"run_dir": str(run.run_dir)})

    def retrieve(self, ref: JobRef) -> Any:
        return self.conn.call(self.conn.client.fine_tuning.retrieve, ref.job_id)

    def status(self, ref: JobRef) -> JobState:
        job = self.retrieve(ref)
        status = normalize_status(job.status, TOGETHER_STATUSES, provider=self.name)
        events = list(self._events(ref.job_id))
        stepped = [e for e in events if e.step is not None]
        errors = [e.message for e in events if e.level == "error"]
        return JobState(
            status=status,
            raw_status=job.status,
            job_id=job.id,
            message=(errors[-1] if errors else "the job failed") if status == JobStatus.FAILED else None,
            step=stepped[-1].step if stepped else None,
            total_steps=stepped[-1].total_steps if stepped else None,
            fine_tuned_model=job.x_model_output_name,
            trained_tokens=job.token_count,
        )

    def _events(self, job_id: str) -> Iterator[JobEvent]:
        """The job's events, oldest first; their place in the list is their id (the API gives none)."""
        for index, raw in enumerate(self.conn.call(self.conn.client.fine_tuning.list_events, job_id).data):
            yield JobEvent(
                id=f"{job_id}:{index}",
                created_at=raw.created_at,
                level="error" if "error" in str(raw.level or "") else "info",
                type="checkpoint" if raw.type == "checkpoint_save" else str(raw.type),
                message=raw.message,
                step=raw.step,
                total_steps=raw.total_steps,
                data={"wandb_url": raw.wandb_url} if raw.wandb_url else {},
            )

    def events(self, ref: JobRef, after: str | None = None) -> Iterator[JobEvent]:
        return iter(events_after(list(self._events(ref.job_id)), after))

    def cancel(self, ref: JobRef) -> None:
        try:
            self.conn.call(self.conn.client.fine_tuning.cancel, ref.job_id)
        except InvalidRequestError:
            # A retried cancel whose first attempt took effect is refused; that is success.
            if self.retrieve(ref).status not in ("cancel_requested", "cancelled"):
                raise

    # -- results ---------------------------------------------------------------------------

    def result(self, ref: JobRef) -> FineTunedModel:
        job = self.retrieve(ref)
        state = self.status(ref)
        if state.status == JobStatus.FAILED:
            raise JobFailedError(state.message or "the job failed", job_id=ref.job_id)
        if state.status == JobStatus.CANCELLED:
            raise JobCancelledError("the job was cancelled", job_id=ref.job_id)
        if state.status != JobStatus.SUCCEEDED or not job.x_model_output_name:
            raise JobNotFinishedError(state.status.value, job_id=ref.job_id)
        rows = self.conn.call(self.conn.client.fine_tuning.list_metrics, ref.job_id).metrics or []
        lora = getattr(job.training_type, "type", "Lora") == "Lora"
        metadata: dict[str, Any] = {"job_id": job.id, "tokens": job.token_count, "price": job.total_price, "lora": lora}
        if rows:
            metadata["steps"] = int(rows[-1].get("global_step", len(rows)))
            metadata["final_metrics"] = {k: v for k, v in rows[-1].items() if k != "global_step"}
        return FineTunedModel(
            provider=self.name, model_id=job.x_model_output_name, base_model=job.model or "", metadata=metadata
        )

    def checkpoints(self, ref: JobRef) -> list[Checkpoint]:
        listed = self.conn.call(self.conn.client.fine_tuning.list_checkpoints, ref.job_id).data
        return sorted(
            (Checkpoint(id=f"{ref.job_id}:{c.step}", step=c.step, model_id=c.object_name, path=c.path) for c in listed),
            key=lambda c: c.step,
        )

    def local_files(self, model: FineTunedModel) -> Path:
        """The adapter (or, with ``download: merged`` or a full job, merged weights), downloaded once."""
        if model.path and Path(model.path).is_dir():
            return Path(model.path)
        job_id = str(model.metadata.get("job_id") or "")
        kind = self.options.download if model.metadata.get("lora", True) else "merged"
        folder = tunekit_home() / "cache" / "together-models" / job_id / kind
        if (folder / ".complete").exists():
            return folder
        response = self.conn.call(self.conn.client.fine_tuning.content, ft_id=job_id, checkpoint=kind)
        _unpack(response.read(), folder)
        (folder / ".complete").touch()
        return folder

    # -- inference -------------------------------------------------------------------------

    def client(self, model: FineTunedModel) -> ChatClient:
        """Together's OpenAI-compatible chat API (``/v1/chat/completions``) with the tuned model's name."""
        from tunekit.plugin import OpenAIChatClient

        host = self.options.resolved_base_url() or "https://api.together.ai"
        return OpenAIChatClient(
            model.model_id,
            api_key=self.options.resolved_api_key(),
            base_url=f"{host}/v1",
            timeout=self.options.timeout,
            provider=self.name,
        )


def _lora_shape(config: TuneConfig) -> dict[str, Any]:
    """The config's LoRA rank, alpha and modules in Together's names; empty for full training."""
    if (lora := config.lora) is None:
        return {}
    modules = lora.target_modules if isinstance(lora.target_modules, str) else ",".join(lora.target_modules)
    return {"lora_r": lora.r, "lora_alpha": lora.alpha, "lora_trainable_modules": modules}


def _described(shape: Mapping[str, Any]) -> str:
    text = "lora r={lora_r}, alpha={lora_alpha}, target_modules={lora_trainable_modules}"
    return text.format_map(shape) if shape else "full training"


def _unpack(data: bytes, folder: Path) -> None:
    """Extract Together's archive (``.tar.zst``, or gzip) into ``folder``, refusing paths that leave it."""
    if data[:4] == b"\x28\xb5\x2f\xfd":  # zstandard's magic number
        import zstandard

        data = zstandard.ZstdDecompressor().decompressobj().decompress(data)
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
        archive.extractall(folder, filter="data")
