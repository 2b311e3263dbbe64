"""AutoTrainProvider: AutoTrain Advanced (or TRL) on Hugging Face infrastructure, through ``huggingface_hub``.

The data goes to a private dataset repo, the container runs on HF Jobs (or a
Docker Space), and the result is a model repo on the Hub. AutoTrain catches
every exception in its trainer, so a job that "completed" proves nothing: a
run succeeds only when the model repo holds adapter or model files pushed
after the job started.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from tunekit.plugin import (
    ConfigError,
    FineTunedModel,
    JobCancelledError,
    JobError,
    JobEvent,
    JobFailedError,
    JobNotFinishedError,
    JobRef,
    JobState,
    JobStatus,
    Limits,
    NotFoundError,
    PreparedData,
    Provider,
    RunContext,
    get_logger,
    normalize_status,
)
from tunekit_autotrain.backends import Backend, Launch, Remote, backend_for
from tunekit_autotrain.data import upload_splits
from tunekit_autotrain.hub import HubConnection
from tunekit_autotrain.logs import log_events, log_tail, parse_lines, progress
from tunekit_autotrain.options import AutoTrainOptions
from tunekit_autotrain.params import check_params, resolve_params, trl_arguments
from tunekit_autotrain.pricing import price_run

if TYPE_CHECKING:
    from pydantic import BaseModel

    from tunekit.plugin import (
        ChatClient,
        CostEstimate,
        DatasetSplits,
        DeployConfig,
        HostingCost,
        TokenStats,
        TuneConfig,
    )

__all__ = ["JOB_STAGES", "SPACE_STAGES", "AutoTrainProvider", "model_files"]

logger = get_logger("tunekit.autotrain")

JOB_STAGES: Mapping[str, JobStatus] = {
    "SCHEDULING": JobStatus.QUEUED,
    "RUNNING": JobStatus.RUNNING,
    "CANCELED": JobStatus.CANCELLED,
    "ERROR": JobStatus.FAILED,
}
"""HF Jobs stages; COMPLETED and DELETED are decided by the model repo's contents."""

SPACE_STAGES: Mapping[str, JobStatus] = {
    "NO_APP_FILE": JobStatus.PENDING,
    "BUILDING": JobStatus.QUEUED,
    "APP_STARTING": JobStatus.QUEUED,
    "RUNNING": JobStatus.RUNNING,
    "RUNNING_BUILDING": JobStatus.RUNNING,
    "RUNNING_APP_STARTING": JobStatus.RUNNING,
    "BUILD_ERROR": JobStatus.FAILED,
    "RUNTIME_ERROR": JobStatus.FAILED,
    "CONFIG_ERROR": JobStatus.FAILED,
    "DELETING": JobStatus.CANCELLED,
}
"""Space stages; PAUSED and STOPPED (AutoTrain pauses its Space when it ends) are decided by the repo."""

_ENDED = frozenset({"COMPLETED", "DELETED", "PAUSED", "STOPPED"})
_WEIGHTS = re.compile(
    r"(^|/)(adapter_model\.(safetensors|bin)|model(-\d{5}-of-\d{5})?\.safetensors|pytorch_model(-\d{5}-of-\d{5})?\.bin)$"
)
_CLOCK_SKEW = timedelta(0)
"""Job and commit times both come from the Hub: a model file committed before the job began is stale."""


def model_files(paths: list[str]) -> bool:
    """Whether a repo's files make a usable model: adapter weights + config, or full weights + config."""
    weights = [p for p in paths if _WEIGHTS.search(p)]
    if any("adapter_model" in p for p in weights):
        return any(p.endswith("adapter_config.json") for p in paths)
    return bool(weights) and any(p.endswith("config.json") for p in paths)


def _project_for(run_id: str) -> str:
    slug = re.sub(r"[^a-z0-9-]+", "-", run_id.lower()).strip("-")
    slug = re.sub(r"^autotrain-", "", slug)
    return f"tunekit-{slug}"[:50].rstrip("-")


class AutoTrainProvider(Provider[AutoTrainOptions]):
    """Fine-tune on Hugging Face: AutoTrain Advanced or TRL, on HF Jobs or a Space; results are Hub repos."""

    name: ClassVar[str] = "autotrain"
    Options: ClassVar[type[BaseModel]] = AutoTrainOptions

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        self._hub: HubConnection | None = None
        self._progress: dict[str, tuple[int | None, int | None]] = {}
        self._final: dict[str, JobState] = {}

    @property
    def opts(self) -> AutoTrainOptions:
        return self.options

    @property
    def hub(self) -> HubConnection:
        if self._hub is None:
            self._hub = HubConnection(self.opts, provider=self.name)
        return self._hub

    @property
    def poll_interval(self) -> float:
        return self.opts.poll_interval

    def _backend(self, ref: JobRef | None = None) -> Backend:
        name = ref.extra.get("backend", self.opts.backend) if ref is not None else self.opts.backend
        return backend_for(str(name), self.hub, private=self.opts.private)

    def close(self) -> None:
        if self._hub is not None:
            self._hub.close()
            self._hub = None

    @classmethod
    def foreign_config(cls, path: Path) -> TuneConfig | None:
        """An AutoTrain Advanced YAML config (``task:`` and no ``provider:``) as the equivalent tunekit config."""
        from tunekit_autotrain.yaml_import import load_autotrain_yaml, looks_like_autotrain_yaml

        return load_autotrain_yaml(path) if looks_like_autotrain_yaml(path) else None

    def project_for(self, run_id: str) -> str:
        """The AutoTrain project of a run: the option, else one derived from the run id."""
        return self.opts.project_name or _project_for(run_id)

    # -- before spending -----------------------------------------------------------------------

    def check(self, config: TuneConfig) -> list[str]:
        problems = [*super().check(config), *check_params(config, self.opts.params, runner=self.opts.runner)]
        try:
            self.opts.resolved_token()
            self.opts.resolved_endpoint()
        except ConfigError as exc:
            problems.append(f"provider_options.token: {exc}")
        if config.deploy is not None:  # `tunekit run` deploys after training: its endpoint's problems come first
            from tunekit.plugin import endpoint_config_problems

            adapter = config.lora is not None and not self.opts.params.merge_adapter
            problems += endpoint_config_problems(config.deploy, adapter=adapter, api_url=self.opts.endpoints_api)
        return problems

    def evaluation_problems(self, config: TuneConfig) -> list[str]:
        """The evaluation chats with the base model and the tuned repo: something must serve them."""
        from tunekit.plugin import unreachable

        opts = self.opts
        if opts.inference == "local" or (opts.inference_url is None and opts.inference_provider is not None):
            return []
        if self.deploy_serves_evaluation(config):
            return []  # `tunekit run` deploys first, and the endpoint answers for the base model and the tuned one
        if opts.inference_url is None:
            return [
                "provider_options.inference_url: the evaluation chats with the base model and the tuned repo, and "
                "nothing serves a freshly tuned repo by default: set inference_url to an Inference Endpoint or TGI "
                "server ('{model}' becomes the repo id), inference_provider to a provider that serves both, "
                "inference: local to run them here, or a deploy section that serves the adapter on its base model "
                "(vllm or tgi image); or remove the eval section"
            ]
        url = opts.inference_url.replace("{model}", config.model)
        problem = unreachable(url, field="provider_options.inference_url")
        return [problem] if problem else []

    def deploy_serves_evaluation(self, config: TuneConfig) -> bool:
        """An adapter deployed on its base model (vLLM or TGI) answers for both, so the run evaluates through it."""
        from tunekit.plugin import endpoint_serves_base

        if config.deploy is None or self.opts.inference == "local":
            return False
        merged = bool(self.opts.params.merge_adapter)
        return endpoint_serves_base(config.deploy, adapter=config.lora is not None and not merged)

    def base_client_for(self, model: FineTunedModel) -> ChatClient:
        """The base model at the tuned model's endpoint when it serves it too (an adapter on its base)."""
        from tunekit.plugin import endpoint_base_client

        return endpoint_base_client(model, self.opts.resolved_token()) or self.base_client(model.base_model)

    @classmethod
    def limits(cls, model: str) -> Limits:
        return Limits(min_examples=1)

    @classmethod
    def estimate_cost(cls, config: TuneConfig, stats: TokenStats, estimate: CostEstimate) -> CostEstimate:
        return price_run(cls.name, config, stats, estimate)

    @classmethod
    def hosting_cost(cls, model: str, deploy: DeployConfig | None) -> HostingCost | None:
        """A result is served on a Hugging Face Inference Endpoint only when deployed: its instance's hourly price."""
        from tunekit.plugin import endpoint_hosting_cost

        return endpoint_hosting_cost(deploy) if deploy is not None else None

    # -- data ----------------------------------------------------------------------------------

    def prepare(self, data: DatasetSplits, config: TuneConfig, run: RunContext) -> PreparedData:
        """Convert the splits with the shared data layer and upload them to a private dataset repo."""
        namespace = self.hub.namespace
        project = self.project_for(run.run_id)
        uploaded = upload_splits(
            self.hub,
            data,
            run,
            dataset_repo=f"{namespace}/autotrain-data-{project}",
            target="trl" if self.opts.runner == "trl" else "autotrain",
            chat_template=self.opts.params.chat_template,
            private=self.opts.private,
        )
        model_repo = f"{namespace}/{project}"
        run.remember(namespace=namespace, project=project, dataset_repo=uploaded.repo, model_repo=model_repo)
        return PreparedData(
            train=uploaded.repo,
            validation="validation" if uploaded.validation_rows else None,
            train_examples=uploaded.train_rows,
            validation_examples=uploaded.validation_rows,
            content_hash=uploaded.sha256,
            extra={"namespace": namespace, "project": project, "model_repo": model_repo, "columns": uploaded.columns},
        )

    # -- the job -------------------------------------------------------------------------------

    def submit(self, prepared: PreparedData, config: TuneConfig, run: RunContext) -> JobRef:
        opts = self.opts
        namespace, project = prepared.extra["namespace"], prepared.extra["project"]
        model_repo = prepared.extra["model_repo"]
        resolved = resolve_params(config, opts.params)
        if run.start_from is not None:  # init_from: train the earlier run's model further
            resolved["model"] = run.start_from
        resolved.update(prepared.extra.get("columns") or {})
        resolved.update(
            project_name=project,
            data_path=prepared.train,
            train_split="train",
            valid_split=prepared.validation,
            username=namespace,
            repo_id=model_repo,
            push_to_hub=True,
        )
        resolved.pop("token", None)  # the token travels as a secret, never in PARAMS
        trl_args: list[str] = []
        if opts.runner == "trl":
            trl_args = trl_arguments(
                resolved,
                dataset=prepared.train,
                validation=prepared.validation is not None,
                model_repo=model_repo,
                private=opts.private,
            )
        launch = Launch(
            run_id=run.run_id,
            namespace=namespace,
            project=project,
            model_repo=model_repo,
            dataset_repo=prepared.train,
            params=resolved,
            runner=opts.runner,
            image=opts.resolved_image(),
            flavor=opts.flavor,
            timeout=opts.timeout,
            trl_args=trl_args,
        )
        backend = self._backend()
        run.intent(
            "create_job",
            f"{opts.runner} {resolved['trainer']} on {opts.backend} ({opts.flavor})",
            backend=opts.backend,
            runner=opts.runner,
            flavor=opts.flavor,
            model_repo=model_repo,
            params={k: v for k, v in resolved.items() if k != "token"},
        )
        remote = backend.launch(launch)
        run.outcome("create_job", remote.job_id, job_id=remote.job_id, stage=remote.stage)
        run.remember(job_id=remote.job_id)
        # A run that continued another has the earlier run's model under its adapter.
        base = run.start_from or config.model
        return self._ref(remote, namespace=namespace, project=project, model_repo=model_repo, base_model=base)

    def starting_point(self, parent: FineTunedModel, config: TuneConfig) -> str:
        """The earlier run's Hub repo when it holds a full model: AutoTrain starts from a model, not an adapter."""
        if parent.kind not in ("hub_repo", "deployment"):
            problem = f"init_from: {parent.model_id} is a {parent.kind}, not a Hub repo AutoTrain can start from"
            raise ConfigError("cannot start from the earlier run", problems=[problem])
        if parent.metadata.get("adapter"):
            problem = (
                f"init_from: {parent.model_id} holds a LoRA adapter, and AutoTrain starts a job from a full model: "
                "train the earlier run with provider_options.params.merge_adapter: true (or without lora)"
            )
            raise ConfigError("cannot start from the earlier run", problems=[problem])
        return parent.model_id

    def _ref(self, remote: Remote, *, namespace: str, project: str, model_repo: str, base_model: str | None) -> JobRef:
        return JobRef(
            provider=self.name,
            job_id=remote.job_id,
            extra={
                "backend": self.opts.backend,
                "runner": self.opts.runner,
                "namespace": namespace,
                "project": project,
                "model_repo": model_repo,
                "dataset_repo": f"{namespace}/autotrain-data-{project}",
                "base_model": base_model or remote.model,
                "created_at": remote.created_at.isoformat() if remote.created_at else None,
                "endpoint": self.opts.resolved_endpoint(),
            },
        )

    def find(self, run: RunContext) -> JobRef | None:
        namespace = str(run.remote.get("namespace") or self.hub.namespace)
        project = str(run.remote.get("project") or self.project_for(run.run_id))
        remote = self._backend().find(run.run_id, namespace, project)
        if remote is None:
            return None
        logger.info("run %s already has %s %s", run.run_id, self.opts.backend, remote.job_id)
        return self._ref(
            remote, namespace=namespace, project=project, model_repo=f"{namespace}/{project}", base_model=None
        )

    def status(self, ref: JobRef) -> JobState:
        final = self._final.get(_key(ref))
        if final is not None:
            return final
        backend = self._backend(ref)
        remote = backend.inspect(ref.job_id, ref.extra["namespace"])
        if remote.stage in _ENDED and not remote.cancelled:
            state = self._verify(ref, remote)
        else:
            stages = JOB_STAGES if backend.name == "jobs" else SPACE_STAGES
            status = (
                JobStatus.CANCELLED if remote.cancelled else normalize_status(remote.stage, stages, provider=self.name)
            )
            message = None
            if status == JobStatus.FAILED:
                message = f"{remote.message or 'the job failed'}\n{self._tail(ref)}"
            step, total = self._progress.get(_key(ref), (None, None))
            state = JobState(
                status=status,
                raw_status=remote.stage,
                job_id=ref.job_id,
                message=message,
                step=step,
                total_steps=total,
            )
        if state.is_terminal:
            self._final[_key(ref)] = state
        return state

    def _verify(self, ref: JobRef, remote: Remote) -> JobState:
        """A container that ended is a success only if the model repo got model files from it."""
        repo = ref.extra["model_repo"]
        started = remote.created_at or _parse(ref.extra.get("created_at"))
        fresh = self._fresh_files(repo, started)
        step, total = self._progress.get(_key(ref), (None, None))
        if model_files(fresh):
            return JobState(
                status=JobStatus.SUCCEEDED,
                raw_status=remote.stage,
                job_id=ref.job_id,
                fine_tuned_model=repo,
                step=total if total is not None else step,
                total_steps=total,
            )
        what = "completed" if remote.stage == "COMPLETED" else f"ended ({remote.stage})"
        message = (
            f"the job {what} but {repo} holds no adapter or model files from it "
            f"(AutoTrain reports its failures only in the log)\n{self._tail(ref)}"
        )
        return JobState(status=JobStatus.FAILED, raw_status=remote.stage, job_id=ref.job_id, message=message)

    def _fresh_files(self, repo: str, since: datetime | None) -> list[str]:
        api = self.hub.api
        try:
            entries = self.hub.call(lambda: list(api.list_repo_tree(repo, recursive=True, expand=since is not None)))
        except NotFoundError:
            return []
        paths = []
        for entry in entries:
            last = getattr(entry, "last_commit", None)
            if not hasattr(entry, "size"):
                continue  # a folder
            if since is not None and last is not None and last.date < since - _CLOCK_SKEW:
                continue  # pushed by an earlier run to the same repo
            paths.append(str(entry.path))
        return paths

    def _lines(self, ref: JobRef) -> list[str]:
        return self._backend(ref).logs(ref.job_id, ref.extra["namespace"])

    def _tail(self, ref: JobRef) -> str:
        try:
            lines = self._lines(ref)
        except Exception as exc:  # the log is a courtesy in an error message; its absence must not hide the error
            return f"(the log could not be read: {exc})"
        return "last log lines:\n" + log_tail(lines) if lines else "(the job left no log)"

    def events(self, ref: JobRef, after: str | None = None) -> Iterator[JobEvent]:
        """Log lines as events, oldest first, with steps and losses parsed where the trainer printed them."""
        parsed = list(parse_lines(self._lines(ref)))
        step, total, _ = progress(parsed)
        if step is not None:
            self._progress[_key(ref)] = (step, total)
        yield from log_events(parsed, after=after)

    def cancel(self, ref: JobRef) -> None:
        self._backend(ref).cancel(ref.job_id, ref.extra["namespace"])
        self._final.pop(_key(ref), None)

    # -- results -------------------------------------------------------------------------------

    def result(self, ref: JobRef) -> FineTunedModel:
        """The model repo on the Hub (``kind="hub_repo"``) of a run whose repo holds its model files."""
        state = self.status(ref)
        if state.status == JobStatus.FAILED:
            raise JobFailedError(state.message or "the job failed", job_id=ref.job_id)
        if state.status == JobStatus.CANCELLED:
            raise JobCancelledError("the job was cancelled", job_id=ref.job_id)
        if state.status != JobStatus.SUCCEEDED:
            raise JobNotFinishedError(state.status.value, job_id=ref.job_id)
        repo = ref.extra["model_repo"]
        info = self.hub.call(self.hub.api.model_info, repo)
        files = sorted(s.rfilename for s in info.siblings or [])
        metadata: dict[str, Any] = {
            "job_id": ref.job_id,
            "backend": ref.extra.get("backend"),
            "runner": ref.extra.get("runner"),
            "endpoint": ref.extra.get("endpoint"),
            "dataset_repo": ref.extra.get("dataset_repo"),
            "revision": info.sha,
            "files": files,
            "adapter": "adapter_config.json" in files,
        }
        try:
            _, _, latest = progress(parse_lines(self._lines(ref)))
        except JobError:
            latest = {}
        if latest:
            metadata["final_metrics"] = latest
        base = ref.extra.get("base_model") or ""
        return FineTunedModel(provider=self.name, model_id=repo, base_model=base, kind="hub_repo", metadata=metadata)

    # -- Inference Endpoints ----------------------------------------------------------------

    def deploy(self, model: FineTunedModel, deploy: DeployConfig, run: RunContext) -> FineTunedModel:
        """Serve the tuned repo on a Hugging Face Inference Endpoint (billed by the hour while it runs)."""
        from tunekit.plugin import deploy_endpoint

        opts = self.opts
        return deploy_endpoint(
            self.hub,
            model,
            deploy,
            run,
            repo=model.model_id,
            adapter=bool(model.metadata.get("adapter")),
            api_url=opts.endpoints_api,
            wait_timeout=opts.endpoint_wait,
            poll=opts.endpoint_poll_interval,
        )

    def undeploy(self, model: FineTunedModel, run: RunContext) -> None:
        from tunekit.plugin import delete_endpoint

        delete_endpoint(self.hub, model, run, api_url=self.opts.endpoints_api)

    def pause_deployment(self, model: FineTunedModel, run: RunContext) -> None:
        from tunekit.plugin import pause_endpoint

        pause_endpoint(self.hub, model, run, api_url=self.opts.endpoints_api)

    def resume_deployment(self, model: FineTunedModel, run: RunContext) -> FineTunedModel:
        from tunekit.plugin import resume_endpoint

        opts = self.opts
        return resume_endpoint(
            self.hub,
            model,
            run,
            api_url=opts.endpoints_api,
            wait_timeout=opts.endpoint_wait,
            poll=opts.endpoint_poll_interval,
        )

    def client(self, model: FineTunedModel) -> ChatClient:
        """A chat client through ``huggingface_hub``'s InferenceClient (its Inference Endpoint, an endpoint URL, or
        an inference provider), or, with ``inference: local``, the repo downloaded and run here."""
        from tunekit.plugin import HuggingFaceChatClient, endpoint_client

        opts = self.opts
        deployed = endpoint_client(model, opts.resolved_token())
        if deployed is not None:
            return deployed
        if opts.inference == "local":
            return self._local_client(model)
        base_url = opts.inference_url.replace("{model}", model.model_id) if opts.inference_url else None
        return HuggingFaceChatClient(
            model.model_id,
            base_url=base_url,
            provider=None if base_url else opts.inference_provider,
            token=opts.resolved_token(),
        )

    def local_files(self, model: FineTunedModel) -> Path:
        """The tuned repo's files, downloaded once per revision (for `tunekit serve` and `tunekit export`)."""
        if model.path and Path(model.path).is_dir():
            return Path(model.path)
        return self._download(model)

    def _local_client(self, model: FineTunedModel) -> ChatClient:
        """The tuned repo downloaded (once per revision) and loaded with the shared local client."""
        from tunekit.plugin import LocalChatClient

        if model.kind != "hub_repo":
            return LocalChatClient(model.model_id)
        folder = Path(model.path) if model.path else self._download(model)
        if (folder / "adapter_config.json").is_file():
            return LocalChatClient.from_adapter(folder, base_model=model.base_model or None, name=model.model_id)
        return LocalChatClient(str(folder), name=model.model_id)

    def _download(self, model: FineTunedModel) -> Path:
        from tunekit.plugin import tunekit_home

        revision = model.metadata.get("revision")
        folder = tunekit_home() / "cache" / "hub-models" / model.model_id.replace("/", "--") / str(revision or "main")
        api = self.hub.api
        path = self.hub.call(api.snapshot_download, model.model_id, revision=revision, local_dir=folder)
        return Path(path)


def _key(ref: JobRef) -> str:
    # A Space serves every run of its project: its id alone does not name one run.
    return f"{ref.job_id}@{ref.extra.get('created_at')}"


def _parse(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
