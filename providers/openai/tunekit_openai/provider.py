"""OpenAIProvider: fine-tuning through the official ``openai`` SDK."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from typing_extensions import TypeVar

from tunekit.plugin import (
    Checkpoint,
    ConfigError,
    ConflictError,
    FineTunedModel,
    InvalidRequestError,
    JobCancelledError,
    JobEvent,
    JobFailedError,
    JobNotFinishedError,
    JobRef,
    JobState,
    JobStatus,
    NotFoundError,
    PreparedData,
    Provider,
    RemoteFile,
    RunContext,
    check_reward_data,
    get_logger,
    recorded_upload,
    table_inference_price,
    table_limits,
    table_training_cost,
)
from tunekit_openai import pricing
from tunekit_openai.connection import Connection
from tunekit_openai.errors import explain_openai_error
from tunekit_openai.files import upload_file
from tunekit_openai.options import OpenAIOptions
from tunekit_openai.params import RUN_ID_KEY, build_create_params, check_config, ignored_settings, method_type
from tunekit_openai.results import (
    MetricRow,
    decode_result_file,
    parse_results_csv,
    plot_loss_curve,
    rows_from_events,
    to_checkpoint,
)
from tunekit_openai.retirements import api_retirements, base_model_of, shipped_retirements
from tunekit_openai.states import OPENAI_STATUSES, error_message, to_event, to_state

if TYPE_CHECKING:
    from pydantic import BaseModel

    from tunekit.plugin import (
        ChatClient,
        CostEstimate,
        DatasetSplits,
        Limits,
        Retirement,
        TokenCounter,
        TokenStats,
        TrackingConfig,
        TuneConfig,
    )

__all__ = ["OpenAIProvider"]

logger = get_logger("tunekit.openai")

_PAGE = 100
RESULTS_CSV = "results.csv"
LOSS_CURVE = "loss_curve.png"

OpenAIOptionsT = TypeVar("OpenAIOptionsT", bound=OpenAIOptions, covariant=True, default=OpenAIOptions)
"""The options of an OpenAI-like provider: Azure's extend OpenAI's."""


class OpenAIProvider(Provider[OpenAIOptionsT]):
    """Fine-tune OpenAI models: upload (deduplicated), submit (idempotent), watch, cancel, pause, resume.

    Every request goes through the official SDK; retries follow tunekit's
    shared policy, and the job-creating request is never repeated before
    tunekit has looked for the job by the run id carried in its metadata.
    """

    name: ClassVar[str] = "openai"
    Options: ClassVar[type[BaseModel]] = OpenAIOptions
    statuses: ClassVar[Mapping[str, JobStatus]] = OPENAI_STATUSES
    """Raw job statuses to tunekit's; subclasses for OpenAI-like services extend it."""
    service: ClassVar[str] = "OpenAI"
    """The service's name in messages."""

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        self._conn: Connection | None = None
        self._warned: set[str] = set()

    @property
    def opts(self) -> OpenAIOptionsT:
        return self.options

    @property
    def conn(self) -> Connection:
        if self._conn is None:
            self._conn = self.make_connection()
        return self._conn

    # -- model lifecycle ----------------------------------------------------------------

    @classmethod
    def retirements(cls) -> list[Retirement]:
        return shipped_retirements(cls.name, cls.__module__.split(".")[0])

    @classmethod
    def base_model_of(cls, model_id: str) -> str:
        return base_model_of(model_id)

    def refresh_retirements(self) -> list[Retirement]:
        return self.conn.call(api_retirements, self.conn.client, self.name)

    @property
    def poll_interval(self) -> float:
        return self.opts.poll_interval

    # -- limits, tokens and prices (the tables shipped in this package) ---------------------

    @classmethod
    def _package(cls) -> str:
        return cls.__module__.split(".")[0]

    @classmethod
    def limits(cls, model: str) -> Limits:
        return table_limits(cls._package(), cls.name, model)

    @classmethod
    def token_counter(cls, model: str) -> TokenCounter | None:
        return pricing.token_counter(cls._package(), cls.name, model)

    @classmethod
    def estimate_cost(cls, config: TuneConfig, stats: TokenStats, estimate: CostEstimate) -> CostEstimate:
        return table_training_cost(cls._package(), cls.name, config, estimate)

    @classmethod
    def inference_price(cls, model: str, *, tuned: bool = False) -> tuple[float, float] | None:
        return table_inference_price(cls._package(), cls.name, model, tuned=tuned)

    def make_connection(self) -> Connection:
        """The SDK client and retry policy; Azure-like subclasses return their own."""
        return Connection(self.opts, provider=self.name, explain=explain_openai_error)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- before spending ---------------------------------------------------------

    def check(self, config: TuneConfig) -> list[str]:
        self.warn_ignored(config)
        return [
            *super().check(config),
            *self.grader_model_problems(config),
            *check_config(config, self.opts),
            *self.credential_problems(),
        ]

    def grader_model_problems(self, config: TuneConfig) -> list[str]:
        """A grader makes a reinforcement job of method sft: the model must be one the service trains that way.

        (Method ``rft`` is checked with the other limits; ``dpo`` with a grader is refused by ``check_config``.)
        """
        if self.opts.grader is None or config.method != "sft":
            return []
        limits = self.limits(config.model)
        if not limits.tunes(config.model):
            return []  # the model is refused already
        refusal = limits.method_refusal("rft", config.model, self.name)
        return [] if refusal is None else [f"provider_options.grader: a grader makes a reinforcement job; {refusal}"]

    def credential_problems(self) -> list[str]:
        """What is missing to sign requests (checked before any request, upload or spend)."""
        problems = []
        for field, resolve in (("api_key", self.opts.resolved_api_key), ("base_url", self.opts.resolved_base_url)):
            try:
                resolve()
            except ConfigError as exc:
                problems.append(f"provider_options.{field}: {exc}")
        return problems

    def warn_ignored(self, config: TuneConfig) -> None:
        """Warn about each setting this service cannot honour, once (``check`` runs at validate and at submit)."""
        for message in ignored_settings(config, self.service):
            if message not in self._warned:
                self._warned.add(message)
                logger.warning("%s", message)

    # -- data ----------------------------------------------------------------------

    def data_target(self, config: TuneConfig) -> str:
        """The data layer's writer for this method."""
        kind = method_type(config, self.opts)
        if kind == "reinforcement" and config.method == "rft":
            return "openai-reinforcement"
        return "openai-preference" if kind == "dpo" else "openai"

    def prepare(self, data: DatasetSplits, config: TuneConfig, run: RunContext) -> PreparedData:
        """Write the splits as OpenAI JSONL in the run folder and place each where the job reads it."""
        target = self.data_target(config)
        if config.method == "rft":  # before any upload: every reward finds the columns it reads
            check_reward_data(config.reward, data.train, data.validation)
        files: dict[str, RemoteFile] = {}
        for role, examples in (("train", data.train), ("validation", data.validation)):
            remote = self.place_split(run, role, examples, target)
            if remote is None:
                continue
            run.remember(**{f"{role}_file": remote.id})
            files[role] = remote
        train, validation = files["train"], files.get("validation")
        return PreparedData(
            train=train.id,
            validation=validation.id if validation is not None else None,
            train_examples=len(data.train),
            validation_examples=len(data.validation or []),
            content_hash=train.sha256,
            extra={
                "validation_hash": (validation.sha256 or None) if validation is not None else None,
                "target": target,
                **self.prepared_extra(),
            },
        )

    def place_split(self, run: RunContext, role: str, examples: Any, target: str) -> RemoteFile | None:
        """Put one split (``train`` or ``validation``) where the job reads it; None when there is no such split.

        OpenAI's is an upload; a subclass may place a split another way (Azure imports it from a URL).
        """
        return None if examples is None else self.upload_split(run, role, examples, target)

    def prepared_extra(self) -> dict[str, Any]:
        """More to keep with the prepared data (in the ledger); a subclass's hook."""
        return {}

    def upload_split(self, run: RunContext, role: str, examples: Any, target: str) -> RemoteFile:
        """Write one split into the run folder and upload it (reused when the same content is there)."""
        from tunekit.plugin import write_examples

        path = run.run_dir / f"{role}.jsonl"
        write_examples(examples, path, target=target)
        remote = recorded_upload(run, role, path, lambda p, digest: upload_file(self.conn, p, sha256=digest))
        return remote

    # -- the job -----------------------------------------------------------------

    def create_params(self, prepared: PreparedData, config: TuneConfig, run: RunContext) -> dict[str, Any]:
        """Keyword arguments for ``client.fine_tuning.jobs.create``; a subclass adds its service's own."""
        params = build_create_params(
            config,
            self.opts,
            training_file=prepared.train,
            validation_file=prepared.validation,
            run_id=run.run_id,
            config_hash=run.config_hash,
            wandb_tracking=config.tracking is not None and self.native_tracking(config.tracking),
        )
        if run.start_from is not None:  # init_from: the service tunes the tuned model further
            params["model"] = run.start_from
        return params

    def starting_point(self, parent: FineTunedModel, config: TuneConfig) -> str:
        """The parent's tuned model id (or its checkpoint's), which the service takes as the job's ``model``."""
        if parent.kind not in ("model_id", "deployment"):  # a deployment's model id is still the tuned model
            raise ConfigError(
                "cannot start from the earlier run",
                problems=[
                    f"init_from: {parent.model_id} is a {parent.kind}, not a tuned model id {self.service} tunes"
                ],
            )
        return parent.model_id

    def native_tracking(self, tracking: TrackingConfig) -> bool:
        """OpenAI's own W&B integration logs the job's metrics when ``tracking.backend`` is wandb.

        The organisation's W&B integration must be enabled (OpenAI refuses
        the job otherwise, before it bills); tunekit's W&B run then holds the
        parameters, the evaluation and the report files.
        """
        return tracking.backend == "wandb"

    def create_intent(self, params: dict[str, Any]) -> dict[str, Any]:
        """What the ledger records before the job is created."""
        return {"model": params["model"], "method": params["method"]["type"], "metadata": params["metadata"]}

    def submit(self, prepared: PreparedData, config: TuneConfig, run: RunContext) -> JobRef:
        params = self.create_params(prepared, config, run)
        client = self.conn.client
        run.intent("create_job", f"{params['method']['type']} on {params['model']}", **self.create_intent(params))
        job = self.conn.create(
            "create fine-tuning job",
            lambda: client.fine_tuning.jobs.create(**params),
            lambda: self.find_job(run.run_id),
        )
        run.outcome("create_job", job.id, job_id=job.id, status=job.status)
        run.remember(job_id=job.id)
        return self._ref(job.id, run)

    def find(self, run: RunContext) -> JobRef | None:
        job = self.find_job(run.run_id)
        return None if job is None else self._ref(job.id, run)

    def find_job(self, run_id: str) -> Any | None:
        """The job whose metadata carries this run id (the oldest, should there be several)."""
        client = self.conn.client

        def scan() -> list[Any]:
            pages = client.fine_tuning.jobs.list(metadata={RUN_ID_KEY: run_id}, limit=_PAGE)
            # The filter is checked again here: a server that ignores it must not hand us another run's job.
            return [job for job in pages if (job.metadata or {}).get(RUN_ID_KEY) == run_id]

        found = self.conn.call(scan)
        if not found:
            return None
        found.sort(key=lambda job: job.created_at)
        if len(found) > 1:
            logger.warning(
                "run %s has %d jobs (%s); following the first", run_id, len(found), ", ".join(j.id for j in found)
            )
        return found[0]

    def _ref(self, job_id: str, run: RunContext) -> JobRef:
        return JobRef(provider=self.name, job_id=job_id, extra={"run_dir": str(run.run_dir)})

    def retrieve(self, ref: JobRef) -> Any:
        return self.conn.call(self.conn.client.fine_tuning.jobs.retrieve, ref.job_id)

    def status(self, ref: JobRef) -> JobState:
        job = self.retrieve(ref)
        step = total = None
        if job.status not in ("validating_files", "queued"):
            latest = self._latest_metrics(ref)
            if latest is not None:
                step, total = latest.step, latest.total_steps
        return to_state(job, statuses=self.statuses, provider=self.name, step=step, total_steps=total)

    def _latest_metrics(self, ref: JobRef) -> JobEvent | None:
        page = self.conn.call(self.conn.client.fine_tuning.jobs.list_events, ref.job_id, limit=_PAGE)
        for raw in page.data:  # newest first
            event = to_event(raw)
            if event.step is not None:
                return event
        return None

    def events(self, ref: JobRef, after: str | None = None) -> Iterator[JobEvent]:
        """Events newer than ``after``, oldest first.

        The API lists events newest first and its ``after`` cursor pages
        towards older ones, so new events are read from the top down to the
        last one already seen.
        """
        client = self.conn.client

        def scan() -> list[Any]:
            fresh = []
            for raw in client.fine_tuning.jobs.list_events(ref.job_id, limit=_PAGE):
                if raw.id == after:
                    break
                fresh.append(raw)
            return fresh

        for raw in reversed(self.conn.call(scan)):
            yield to_event(raw)

    def cancel(self, ref: JobRef) -> None:
        self._transition(ref, "cancel", {"cancelled"})

    def pause(self, ref: JobRef) -> None:
        self._transition(ref, "pause", {"paused"})

    def resume(self, ref: JobRef) -> None:
        self._transition(ref, "resume", {"running", "queued", "validating_files"})

    def _transition(self, ref: JobRef, action: str, reached: set[str]) -> None:
        jobs = self.conn.client.fine_tuning.jobs
        send: Callable[[str], Any] = getattr(jobs, action)
        try:
            job = self.conn.call(send, ref.job_id)
        except (ConflictError, InvalidRequestError):
            # A retried request whose first attempt took effect is refused; that is success.
            job = self.retrieve(ref)
            if job.status not in reached:
                raise
        logger.info("%s %s: now %s", action, ref.job_id, job.status)

    # -- results -------------------------------------------------------------------

    def result(self, ref: JobRef) -> FineTunedModel:
        """The tuned model id; with a run folder, also its ``results.csv`` and ``loss_curve.png``."""
        job = self.retrieve(ref)
        state = to_state(job, statuses=self.statuses, provider=self.name)
        if state.status == JobStatus.FAILED:
            raise JobFailedError(error_message(job) or "the job failed", job_id=ref.job_id)
        if state.status == JobStatus.CANCELLED:
            raise JobCancelledError("the job was cancelled", job_id=ref.job_id)
        if state.status != JobStatus.SUCCEEDED or not job.fine_tuned_model:
            raise JobNotFinishedError(state.status.value, job_id=ref.job_id)
        metadata: dict[str, Any] = {
            "job_id": job.id,
            "trained_tokens": job.trained_tokens,
            "result_files": list(job.result_files or []),
            "method": job.method.type if job.method is not None else None,
        }
        run_dir = Path(ref.extra["run_dir"]) if ref.extra.get("run_dir") else None
        rows = self._metric_rows(job, ref, run_dir)
        if rows:
            last = rows[-1]
            metadata["final_metrics"] = {k: v for k, v in last.items() if k != "step"}
            metadata["steps"] = int(last["step"])
        if run_dir is not None and rows:
            try:
                png = plot_loss_curve(rows, run_dir / LOSS_CURVE, title=job.fine_tuned_model)
            except ImportError:
                logger.warning("matplotlib is not installed; no loss curve (pip install 'tunekit[plots]')")
            else:
                if png is not None:
                    metadata["loss_curve"] = str(png)
        return FineTunedModel(
            provider=self.name,
            model_id=job.fine_tuned_model,
            base_model=job.model,
            kind="model_id",
            metadata=metadata,
        )

    def _metric_rows(self, job: Any, ref: JobRef, run_dir: Path | None) -> list[MetricRow]:
        """Per-step metrics from the result file (read by header name), else from the metrics events."""
        for file_id in job.result_files or []:
            try:
                content = self.conn.call(self.conn.client.files.content, file_id)
            except NotFoundError:
                logger.warning("result file %s of job %s is gone", file_id, job.id)
                continue
            text = decode_result_file(content.content)
            rows = parse_results_csv(text)
            if rows:
                if run_dir is not None:
                    run_dir.mkdir(parents=True, exist_ok=True)
                    (run_dir / RESULTS_CSV).write_text(text + "\n", encoding="utf-8")
                return rows
        return rows_from_events(self.events(ref))

    def checkpoints(self, ref: JobRef) -> list[Checkpoint]:
        client = self.conn.client

        def scan() -> list[Any]:
            return list(client.fine_tuning.jobs.checkpoints.list(ref.job_id, limit=_PAGE))

        return sorted((to_checkpoint(raw) for raw in self.conn.call(scan)), key=lambda c: c.step)

    # -- inference -----------------------------------------------------------------

    def client(self, model: FineTunedModel) -> ChatClient:
        from tunekit.plugin import OpenAIChatClient

        options = self.opts
        return OpenAIChatClient(
            model.model_id,
            api_key=options.resolved_api_key(),
            base_url=options.resolved_base_url(),
            organization=options.organization,
            project=options.project,
            timeout=options.timeout,
            provider=self.name,
        )
