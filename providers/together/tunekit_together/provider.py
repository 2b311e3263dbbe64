"""TogetherProvider: fine-tuning open models on Together AI through the official ``together`` SDK.

Together's jobs carry no metadata and its list takes no filter, so the run is
found again by a tag in the job's ``suffix`` (``tk`` and twelve hex digits of
the run id's hash), which Together also writes into the tuned model's name.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from tunekit import plugin as tk
from tunekit.plugin import FineTunedModel, JobEvent, JobRef, JobState, JobStatus, Provider, RunContext
from tunekit_together.options import TogetherOptions

if TYPE_CHECKING:
    import together
    from pydantic import BaseModel

__all__ = ["TOGETHER_STATUSES", "TogetherProvider", "run_tag"]

logger = tk.get_logger("tunekit.together")

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
HARDWARE = "1x_nvidia_h100_80gb_sxm"  # a dedicated endpoint's hardware unless `deploy.instance_type` names one
_NO_EVAL = "match the parent's lora settings, add a deploy: section (a dedicated endpoint), or pass --skip-eval"


def run_tag(run_id: str) -> str:
    """The part of the job's suffix that names the run: stable, short, letters and digits only."""
    return "tk" + hashlib.sha256(run_id.encode()).hexdigest()[:12]


class Connection(tk.ClientConnection["together.Together"]):
    """The ``together.Together`` client, built on first use, under tunekit's retry policy."""

    options: TogetherOptions

    def build_client(self) -> together.Together:
        import together

        key = self.options.resolved_api_key()
        tk.register_secret(key)
        url = self.options.resolved_base_url()
        return together.Together(api_key=key, base_url=url, timeout=self.options.timeout, max_retries=0)

    def map_error(self, exc: BaseException, attempts: int) -> tk.TunekitError:
        if isinstance(exc, ValueError) and not isinstance(exc, tk.TunekitError):
            # The SDK checks hyperparameters against the model's limits before sending: a refusal, not a fault.
            return tk.InvalidRequestError(f"Together refused the job: {exc}", provider=self.provider)
        if "/models/limits" in str(getattr(getattr(exc, "request", None), "url", "")) and tk.status_code_of(exc) == 404:
            # The SDK asks the model's limits first: a 404 there means Together does not tune that model.
            hint = "Together tunes the models listed at https://docs.together.ai/docs/fine-tuning-models"
            return tk.InvalidRequestError("Together does not fine-tune this model", provider=self.provider, hint=hint)
        return tk.map_openai_error(exc, provider=self.provider, attempts=attempts)


class TogetherProvider(Provider[TogetherOptions]):
    """Fine-tune open models on Together AI: LoRA or full, SFT or DPO, continued from a checkpoint."""

    name: ClassVar[str] = "together"
    Options: ClassVar[type[BaseModel]] = TogetherOptions

    tables: ClassVar[str | None] = PACKAGE

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        self.conn = Connection(self.options, provider=self.name)  # its SDK client is built on first use
        self._warned = False
        self._unserved: dict[str, str] = {}  # "INIT_FROM SHAPE" -> why Together will not serve that run serverless

    @property
    def poll_interval(self) -> float:
        return self.options.poll_interval

    def close(self) -> None:
        self.conn.close()

    # -- prices: the tables shipped in this package (``tables``), and a dedicated endpoint's

    @classmethod
    def estimate_cost(cls, config: tk.TuneConfig, stats: tk.TokenStats, estimate: tk.CostEstimate) -> tk.CostEstimate:
        kind = ("dpo_" if config.method == "dpo" else "") + ("lora" if config.lora is not None else "full")
        return tk.table_training_cost(PACKAGE, cls.name, config, estimate, rate_key=f"{kind}_per_1m")

    @classmethod
    def hosting_cost(cls, model: str, deploy: tk.DeployConfig | None) -> tk.HostingCost | None:
        """A dedicated endpoint's hourly fee; a LoRA model served serverless costs only its tokens."""
        if deploy is None:
            return None
        return tk.table_hosting_cost(PACKAGE, cls.name, model, deploy.instance_type or HARDWARE)

    # -- before spending -------------------------------------------------------------------

    def check(self, config: tk.TuneConfig) -> list[str]:
        problems = [*super().check(config)]
        for field in ("api_key", "base_url"):
            try:
                getattr(self.options, f"resolved_{field}")()
            except (tk.ConfigError, ValueError) as exc:
                problems.append(f"provider_options.{field}: {exc}")
        row = (tk.provider_table(PACKAGE, "limits", self.name).get("models") or {}).get(config.model) or {}
        if config.lora is None and row.get("full") is False:
            problems.append(f"lora: Together trains {config.model} with LoRA only; remove `lora: null`")
        if config.method == "dpo" and row.get("dpo") is False:
            problems.append(f"method: Together offers no DPO for {config.model}")
        if config.init_from is not None and self.options.from_checkpoint:
            problems.append("provider_options.from_checkpoint: init_from names what the job starts from; remove one")
        if config.deploy is not None and not problems:  # before training is paid for: the base model can get one
            try:
                self.live_hosting_cost(config.model, config.deploy)
            except tk.ConfigError as exc:
                problems.append(str(exc))
        if self.options.wandb is not None and not os.environ.get("WANDB_API_KEY"):
            problems.append("provider_options.wandb: set WANDB_API_KEY (Together sends the run's metrics with it)")
        if config.hyperparameters.learning_rate_multiplier != "auto" and not self._warned:
            self._warned = True
            logger.warning("hyperparameters.learning_rate_multiplier is ignored on Together: it takes a learning_rate")
        return problems

    # -- data ------------------------------------------------------------------------------

    def prepare(self, data: tk.DatasetSplits, config: tk.TuneConfig, run: RunContext) -> tk.PreparedData:
        """Write the splits as OpenAI-style JSONL (Together's chat and preference formats) and upload each once."""
        return run.upload_splits(data, "openai-preference" if config.method == "dpo" else "openai", self._upload)

    def _upload(self, path: Path, digest: str) -> tk.RemoteFile:
        """Upload under the content's name unless a file of that name and size is there (the SDK names it by path)."""
        named = path.with_name(tk.content_name(digest))
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

        return tk.upload_once(named, find=find, send=send, sha256=digest)[1]

    # -- the job ---------------------------------------------------------------------------

    def create_params(self, prepared: tk.PreparedData, config: tk.TuneConfig, run: RunContext) -> dict[str, Any]:
        """Keyword arguments for ``client.fine_tuning.create``: tunekit's settings in Together's names."""
        hp, opts, lora = config.hyperparameters, self.options, config.lora
        start = run.start_from or opts.from_checkpoint  # init_from's answer, else the option
        params: dict[str, Any] = {
            "model": None if start else config.model,  # the checkpoint names its base model: never both
            "training_file": prepared.train,
            "validation_file": prepared.validation or "",
            "suffix": "-".join(x for x in (config.suffix, run_tag(run.run_id)) if x),
            "n_epochs": hp.epochs if hp.epochs != "auto" else tk.target_epochs(prepared.train_examples),
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

    def submit(self, prepared: tk.PreparedData, config: tk.TuneConfig, run: RunContext) -> JobRef:
        params = self.create_params(prepared, config, run)
        what = f"{config.method} {'LoRA' if params['lora'] else 'full'} on {config.model}"
        run.intent("create_job", what, model=config.model, suffix=params["suffix"])
        create = lambda: self.conn.client.fine_tuning.create(**params)  # noqa: E731
        job = self.conn.create("create fine-tuning job", create, lambda: self.find_job(run.run_id))
        run.outcome("create_job", job.id, job_id=job.id, status=job.status)
        run.remember(job_id=job.id)
        return self._ref(job.id, run)

    def starting_point(self, parent: FineTunedModel, config: tk.TuneConfig) -> str:
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

    def evaluation_problems(self, config: tk.TuneConfig) -> list[str]:
        """A continuation Together merges first is no adapter on the base: its chat will not serve it serverless."""
        unserved = self._unserved.get(f"{config.init_from} {_lora_shape(config)}")
        # Full training is refused from limits.yaml's serves_tuned; a dedicated endpoint serves either.
        if unserved is None or config.lora is None or config.deploy is not None:
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
        status = tk.normalize_status(job.status, TOGETHER_STATUSES, provider=self.name)
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
        return iter(tk.events_after(list(self._events(ref.job_id)), after))

    def cancel(self, ref: JobRef) -> None:
        try:
            self.conn.call(self.conn.client.fine_tuning.cancel, ref.job_id)
        except tk.InvalidRequestError:
            # A retried cancel whose first attempt took effect is refused; that is success.
            if self.retrieve(ref).status not in ("cancel_requested", "cancelled"):
                raise

    # -- results ---------------------------------------------------------------------------

    def result(self, ref: JobRef) -> FineTunedModel:
        job = self.retrieve(ref)
        state = self.status(ref)
        if state.status == JobStatus.FAILED:
            raise tk.JobFailedError(state.message or "the job failed", job_id=ref.job_id)
        if state.status == JobStatus.CANCELLED:
            raise tk.JobCancelledError("the job was cancelled", job_id=ref.job_id)
        if state.status != JobStatus.SUCCEEDED or not job.x_model_output_name:
            raise tk.JobNotFinishedError(state.status.value, job_id=ref.job_id)
        rows = self.conn.call(self.conn.client.fine_tuning.list_metrics, ref.job_id).metrics or []
        lora = getattr(job.training_type, "type", "Lora") == "Lora"
        metadata: dict[str, Any] = {"job_id": job.id, "tokens": job.token_count, "price": job.total_price, "lora": lora}
        if rows:
            metadata["steps"] = int(rows[-1].get("global_step", len(rows)))
            metadata["final_metrics"] = {k: v for k, v in rows[-1].items() if k != "global_step"}
        return FineTunedModel(
            provider=self.name, model_id=job.x_model_output_name, base_model=job.model or "", metadata=metadata
        )

    def checkpoints(self, ref: JobRef) -> list[tk.Checkpoint]:
        listed = self.conn.call(self.conn.client.fine_tuning.list_checkpoints, ref.job_id).data
        return sorted(
            (
                tk.Checkpoint(id=f"{ref.job_id}:{c.step}", step=c.step, model_id=c.object_name, path=c.path)
                for c in listed
            ),
            key=lambda c: c.step,
        )

    def local_files(self, model: FineTunedModel) -> Path:
        """The adapter (or, with ``download: merged`` or a full job, merged weights), downloaded once."""
        if model.path and Path(model.path).is_dir():
            return Path(model.path)
        job_id = str(model.metadata.get("job_id") or "")
        kind = self.options.download if model.metadata.get("lora", True) else "merged"
        folder = tk.tunekit_home() / "cache" / "together-models" / job_id / kind
        if (folder / ".complete").exists():
            return folder
        response = self.conn.call(self.conn.client.fine_tuning.content, ft_id=job_id, checkpoint=kind)
        tk.unpack_archive(response.read(), folder)
        (folder / ".complete").touch()
        return folder

    # -- dedicated endpoints ---------------------------------------------------------------
    # The classic endpoints API (/v1/endpoints, /v1/hardware?model=) through the SDK client's own request methods
    # (its auth, base URL and errors): SDK 3.1.1's client.endpoints is the v2 project API (an endpoint, deployments
    # and traffic under a project id), which lists no hardware for a model and serves no fine-tune by its output name.

    def _api(self, method: str, path: str, *, retry: bool = True, **options: Any) -> Any:
        # retry=False for a create, which only conn.create may repeat (after a look for what it made)
        client: Any = self.conn.client
        send: Callable[[], Any] = lambda: getattr(client, method)(f"/v1{path}", cast_to=object, **options)  # noqa: E731
        return self.conn.call(send) if retry else send()

    def live_hosting_cost(self, model: str, deploy: tk.DeployConfig) -> tk.HostingCost | None:
        # The price Together lists now for deploy's hardware for `model` (404 or not listed: no endpoint for it).
        wanted = deploy.instance_type or HARDWARE
        try:
            listed = self._api("get", "/hardware", options={"params": {"model": model}}).get("data") or []
        except tk.NotFoundError:
            raise tk.ConfigError(f"deploy: Together offers no dedicated endpoint for {model}") from None
        row = next((h for h in listed if h.get("id") == wanted), None)
        if row is None:
            known = ", ".join(str(h.get("id")) for h in listed) or "none"
            raise tk.ConfigError(f"deploy.instance_type: {model} runs on {known}, not {wanted}")
        cpm = (row.get("pricing") or {}).get("cents_per_minute")
        return None if cpm is None else tk.HostingCost(round(cpm * 0.6, 4), wanted, source="Together's hardware list")

    def deploy(self, model: FineTunedModel, deploy: tk.DeployConfig, run: RunContext) -> FineTunedModel:
        """Serve the tuned model on a dedicated endpoint, billed by the minute while it runs, until undeployed."""
        hardware, label = deploy.instance_type or HARDWARE, f"tunekit {deploy.name or run.run_id}"
        live = self.live_hosting_cost(model.model_id, deploy)
        price = {"hourly_price": live.per_hour, "currency": live.currency} if live is not None else {}
        logger.warning("%s on %s bills USD %s per hour while it runs", label, hardware, price.get("hourly_price"))
        body: dict[str, Any] = dict(model=model.model_id, hardware=hardware, display_name=label, state="STARTED")
        body["autoscaling"] = {"min_replicas": deploy.min_replicas, "max_replicas": deploy.max_replicas}
        if deploy.scale_to_zero_minutes:
            body["inactive_timeout"] = deploy.scale_to_zero_minutes
        rental: tk.Rental[Any] = tk.Rental(
            name=label,
            find=lambda: self._endpoint(model.model_id, label),
            create=lambda: self._api("post", "/endpoints", retry=False, body=body),
            refresh=lambda e: self._api("get", f"/endpoints/{e['id']}"),
            state=lambda e: str(e.get("state")),
            delete=lambda e: self._api("delete", f"/endpoints/{e['id']}"),
            ready={"STARTED"},
            failed={"ERROR", "STOPPED"},
        )
        what, timeout = f"{model.model_id} on {hardware}", self.options.deploy_timeout
        found = tk.rent(self.conn, run, rental, what=what, interval=self.poll_interval, timeout=timeout, **price)
        metadata = {**model.metadata, "sku": hardware, "endpoint": found["id"], "endpoint_name": found["name"]}
        return model.model_copy(update={"kind": "deployment", "deployment": label, "metadata": metadata | price})

    def _endpoint(self, model: str, label: str) -> dict[str, Any] | None:
        # The dedicated endpoint of `model` named `label`: the list omits display names, so each of the model's is read.
        listed = self._api("get", "/endpoints", options={"params": {"type": "dedicated"}}).get("data") or []
        for row in (r for r in listed if r.get("model") == model):
            found: dict[str, Any] = self._api("get", f"/endpoints/{row['id']}")
            if found.get("display_name") == label and found.get("state") == "STOPPED":  # stopped when idle: start it
                found = self._api("patch", f"/endpoints/{row['id']}", body={"state": "STARTED"})
            if found.get("display_name") == label:
                return found
        return None

    def undeploy(self, model: FineTunedModel, run: RunContext) -> None:
        # A create the ledger saw no answer to (a killed client) left no id: the endpoint is found by its name.
        label = f"tunekit {model.deployment}"
        if endpoint := model.metadata.get("endpoint") or (self._endpoint(model.model_id, label) or {}).get("id"):
            tk.return_rental(self.conn, run, str(endpoint), lambda: self._api("delete", f"/endpoints/{endpoint}"))

    def pause_deployment(self, model: FineTunedModel, run: RunContext) -> None:
        # Stopped, the endpoint keeps its name and hardware and bills nothing until started again.
        self._api("patch", f"/endpoints/{model.metadata['endpoint']}", body={"state": "STOPPED"})

    def resume_deployment(self, model: FineTunedModel, run: RunContext) -> FineTunedModel:
        path = f"/endpoints/{model.metadata['endpoint']}"
        started = self._api("patch", path, body={"state": "STARTED"})
        done = lambda e: e.get("state") in ("STARTED", "ERROR")  # noqa: E731
        started = tk.poll_until(started, lambda: self._api("get", path), done, interval=self.poll_interval)
        if started.get("state") != "STARTED":
            raise tk.DeploymentFailedError(f"{path[1:]} is {started.get('state')} after a start", provider=self.name)
        return model.model_copy(update={"metadata": {**model.metadata, "endpoint_name": started["name"]}})

    # -- inference -------------------------------------------------------------------------

    def client(self, model: FineTunedModel) -> tk.ChatClient:
        """Together's OpenAI-compatible chat API (``/v1/chat/completions``): a dedicated endpoint by its name."""
        host = self.options.resolved_base_url() or "https://api.together.ai"
        return tk.OpenAIChatClient(
            str(model.metadata.get("endpoint_name") or model.model_id),
            api_key=self.options.resolved_api_key(),
            base_url=f"{host}/v1",
            timeout=self.options.timeout,
            provider=self.name,
        )


def _lora_shape(config: tk.TuneConfig) -> dict[str, Any]:
    """The config's LoRA rank, alpha and modules in Together's names; empty for full training."""
    if (lora := config.lora) is None:
        return {}
    modules = lora.target_modules if isinstance(lora.target_modules, str) else ",".join(lora.target_modules)
    return {"lora_r": lora.r, "lora_alpha": lora.alpha, "lora_trainable_modules": modules}


def _described(shape: Mapping[str, Any]) -> str:
    text = "lora r={lora_r}, alpha={lora_alpha}, target_modules={lora_trainable_modules}"
    return text.format_map(shape) if shape else "full training"
