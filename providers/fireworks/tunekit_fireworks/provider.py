"""FireworksProvider: LoRA fine-tuning (SFT, DPO, RFT) and on-demand deployments through the ``fireworks-ai`` SDK.

Fireworks has no metadata to search jobs by, but it lets the client choose
every resource's id. A run's job id is derived from its run id and a
dataset's id from its content hash, so finding a job again after a crash is
one ``get``, and a create whose answer was lost is answered ``ALREADY_EXISTS``
instead of making a second job. Reinforcement fine-tuning's evaluator is named
by the hash of its code, so runs with the same rewards share one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from tunekit import plugin as tk
from tunekit.plugin import FineTunedModel, JobEvent, JobRef, JobState, JobStatus, Provider, RunContext
from tunekit_fireworks.options import FireworksOptions
from tunekit_fireworks.params import evaluator_code, job_params, resolved

if TYPE_CHECKING:
    import fireworks
    from pydantic import BaseModel

__all__ = ["FireworksProvider"]

logger = tk.get_logger("tunekit.fireworks")

_RAW = {
    JobStatus.VALIDATING: "CREATING VALIDATING CREATING_INPUT_DATASET",
    JobStatus.QUEUED: "PENDING RE_QUEUEING IDLE",
    JobStatus.RUNNING: "RUNNING WRITING_RESULTS CANCELLING",
    JobStatus.PAUSED: "PAUSED",
    JobStatus.SUCCEEDED: "COMPLETED EARLY_STOPPED",
    JobStatus.FAILED: "FAILED EXPIRED",
    JobStatus.CANCELLED: "CANCELLED DELETING",
}
STATUSES = {f"JOB_STATE_{raw}": status for status, raws in _RAW.items() for raw in raws.split()}
_FOREIGN_KEYS = {"sk-": "an OpenAI key", "hf_": "a Hugging Face token", "tgp_": "a Together key", "AKIA": "an AWS key"}
_PACKAGE = "tunekit_fireworks"


# A Fireworks resource id for a text (a-z, 0-9 and hyphens, at most 63): the same text, the same id.
resource_id = partial(tk.slug_id, prefix="tk-")


class _Connection(tk.ClientConnection["fireworks.Fireworks"]):
    """One ``fireworks.Fireworks`` client (its own retries off) under tunekit's retry policy."""

    options: FireworksOptions

    def build_client(self) -> fireworks.Fireworks:
        from fireworks import Fireworks

        key, account, url = resolved(self.options)
        tk.register_secret(key)
        return Fireworks(api_key=key, account_id=account, base_url=url, timeout=self.options.timeout, max_retries=0)

    def map_error(self, exc: BaseException, attempts: int) -> tk.TunekitError:
        return tk.map_openai_error(exc, provider=self.provider, attempts=attempts)


class FireworksProvider(Provider[FireworksOptions]):
    """Fine-tune open models on Fireworks: content-addressed datasets, one job per run, on-demand deployments."""

    name: ClassVar[str] = "fireworks"
    Options: ClassVar[type[BaseModel]] = FireworksOptions
    tables: ClassVar[str | None] = _PACKAGE

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        self.conn = _Connection(self.options, provider=self.name)  # its SDK client is built on first use

    @property
    def poll_interval(self) -> float:
        return self.options.poll_interval

    def close(self) -> None:
        self.conn.close()

    # -- what the data layer asks: the tables this package ships (``tables``), and hosting

    @classmethod
    def hosting_cost(cls, model: str, deploy: tk.DeployConfig | None) -> tk.HostingCost | None:
        gpu = (deploy.instance_type if deploy is not None else None) or FireworksOptions().accelerator_type
        one = tk.table_hosting_cost(_PACKAGE, cls.name, model, gpu)
        gpus = deploy.capacity if deploy is not None else 1
        return one if one.per_hour is None else type(one)(**{**vars(one), "per_hour": one.per_hour * gpus})

    # -- before spending ----------------------------------------------------------------

    def check(self, config: tk.TuneConfig) -> list[str]:
        problems = super().check(config)
        if config.method == "rft":  # each reward must run as the evaluator's code, alone on the service
            try:
                evaluator_code(config)
            except tk.ConfigError as exc:
                problems.extend(exc.problems or [str(exc)])
        try:
            key, _account, _url = resolved(self.options)
        except tk.ConfigError as exc:
            return [*problems, str(exc)]
        for prefix, kind in _FOREIGN_KEYS.items():
            if key.startswith(prefix):
                problems.append(f"provider_options.api_key: this is {kind} ({prefix}…), not a Fireworks API key")
        _params, ignored = job_params(config, self.options, "")
        for message in ignored:
            logger.warning("%s", message)
        return problems

    # -- data -----------------------------------------------------------------------------

    def prepare(self, data: tk.DatasetSplits, config: tk.TuneConfig, run: RunContext) -> tk.PreparedData:
        """Write each split as JSONL and upload it as a dataset named by its content (never twice)."""
        target = {"dpo": "openai-preference", "rft": "reinforcement"}.get(config.method, "openai")
        if config.method == "rft":  # before any upload: every reward finds the columns it reads
            tk.check_reward_data(config.reward, data.train, data.validation)
        upload = partial(self._upload, kind="RL" if config.method == "rft" else "CHAT")
        names: dict[str, tk.RemoteFile] = {}
        for role, examples in (("train", data.train), ("validation", data.validation)):
            if examples is None:
                continue
            path = run.run_dir / f"{role}.jsonl"
            tk.write_examples(examples, path, target=target)
            names[role] = tk.recorded_upload(run, role, path, upload)
            run.remember(**{f"{role}_file": names[role].id})
        validation = names.get("validation")
        return tk.PreparedData(
            train=names["train"].id,
            validation=validation.id if validation else None,
            train_examples=len(data.train),
            validation_examples=len(data.validation or []),
            content_hash=names["train"].sha256,
        )

    def _upload(self, path: Path, digest: str, kind: Literal["CHAT", "RL"]) -> tk.RemoteFile:
        datasets = self.conn.client.datasets
        dataset_id = resource_id(digest[:40])
        found: Any = self.conn.ensure(
            f"create dataset {dataset_id}",
            lambda: datasets.get(dataset_id),
            lambda: datasets.create(dataset_id=dataset_id, dataset={"display_name": path.name, "format": kind}),
        )
        reused = found.state == "READY"
        if not reused:  # sending the same bytes to the same dataset again is harmless
            self.conn.call(datasets.upload, dataset_id, file=(path.name, path.read_bytes()))
        return tk.RemoteFile(str(found.name), path.name, path.stat().st_size, digest, reused=reused)

    def _evaluator(self, config: tk.TuneConfig, run: RunContext) -> str:
        """The evaluator that runs the rewards (``main.py:evaluate``), named by its code: made once, then shared."""
        code, evaluators = evaluator_code(config), self.conn.client.evaluators
        evaluator_id = resource_id(hashlib.sha256(code.encode()).hexdigest()[:40], prefix="tk-reward-")
        run.intent("create_evaluator", f"{evaluator_id} for rewards {', '.join(config.reward)}", evaluator=evaluator_id)
        files = dict(language="python", entry_file="main.py", entry_func="evaluate", file_contents={"main.py": code})
        spec: Any = {"display_name": evaluator_id, "criteria": [{"type": "CODE_SNIPPETS", "code_snippets": files}]}
        found: Any = self.conn.ensure(
            f"create evaluator {evaluator_id}",
            lambda: evaluators.get(evaluator_id),
            lambda: evaluators.create(evaluator_id=evaluator_id, evaluator=spec),
        )
        get = partial(self.conn.call, evaluators.get, evaluator_id)
        found = tk.poll_until(found, get, lambda e: e.state != "BUILDING", interval=self.options.poll_interval)
        if found.state == "BUILD_FAILED":
            raise tk.JobFailedError(f"evaluator {found.name} failed to build: {found.status and found.status.message}")
        run.outcome("create_evaluator", str(found.name), evaluator=found.name, state=found.state)
        return str(found.name)

    # -- the job --------------------------------------------------------------------------

    def _jobs(self, kind: str) -> Any:
        client = self.conn.client
        jobs = {"dpo": client.dpo_jobs, "rft": client.reinforcement_fine_tuning_jobs}
        return jobs.get(kind, client.supervised_fine_tuning_jobs)

    def submit(self, prepared: tk.PreparedData, config: tk.TuneConfig, run: RunContext) -> JobRef:
        job_id = resource_id(run.run_id)
        kind = config.method
        more = {"evaluation": prepared.validation, "start_from": run.start_from}
        if kind == "rft":
            more["evaluator"] = self._evaluator(config, run)
        params, _ignored = job_params(config, self.options, job_id, prepared.train, **more)
        resource = self._jobs(kind)
        run.intent("create_job", f"{kind} {job_id} on {config.model}", job_id=job_id, model=config.model)
        job = self.conn.create(
            f"create {kind} job {job_id}",
            lambda: resource.create(**params),
            lambda: self.conn.find(lambda: resource.get(job_id)),
        )
        run.outcome("create_job", job_id, job_id=job_id, name=job.name, state=job.state)
        run.remember(job_id=job_id)
        return self._ref(job_id, kind, run)

    def starting_point(self, parent: FineTunedModel, config: tk.TuneConfig) -> str:
        """The parent's LoRA model, which the job warm-starts from (``init_from``)."""
        return parent.model_id

    def find(self, run: RunContext) -> JobRef | None:
        job_id = resource_id(run.run_id)
        for kind in ("sft", "dpo", "rft"):
            if self.conn.find(partial(self._jobs(kind).get, job_id)) is not None:
                return self._ref(job_id, kind, run)
        return None

    def _ref(self, job_id: str, kind: str, run: RunContext) -> JobRef:
        return JobRef(provider=self.name, job_id=job_id, extra={"kind": kind, "run_dir": str(run.run_dir)})

    def _job(self, ref: JobRef) -> Any:
        return self.conn.call(self._jobs(ref.extra.get("kind", "sft")).get, ref.job_id)

    def status(self, ref: JobRef) -> JobState:
        job = self._job(ref)
        percent = job.job_progress.percent if getattr(job, "job_progress", None) is not None else None
        return JobState(
            status=tk.normalize_status(job.state, STATUSES, provider=self.name),
            raw_status=job.state,
            job_id=ref.job_id,
            message=(job.status.message or None) if job.status is not None else None,
            step=percent,
            total_steps=100 if percent is not None else None,
            fine_tuned_model=_output_model(job),
        )

    def events(self, ref: JobRef, after: str | None = None) -> Iterator[JobEvent]:
        """Fireworks keeps no event log: each state and progress the job reaches is an event, recorded once."""
        yield from tk.state_events(self.status(ref), after)

    def cancel(self, ref: JobRef) -> None:
        try:
            self.conn.call(self._jobs(ref.extra.get("kind", "sft")).cancel, ref.job_id, body={})
        except tk.TunekitError:
            if self.status(ref).status != JobStatus.CANCELLED:  # a repeated cancel is refused once it took effect
                raise

    # -- results --------------------------------------------------------------------------

    def result(self, ref: JobRef) -> FineTunedModel:
        job = self._job(ref)
        state = tk.normalize_status(job.state, STATUSES, provider=self.name)
        if state == JobStatus.FAILED:
            raise tk.JobFailedError((job.status and job.status.message) or "the job failed", job_id=ref.job_id)
        if state == JobStatus.CANCELLED:
            raise tk.JobCancelledError("the job was cancelled", job_id=ref.job_id)
        model = _output_model(job)
        if state != JobStatus.SUCCEEDED or not model:
            raise tk.JobNotFinishedError(state.value, job_id=ref.job_id)
        trained = job.training_config if ref.extra.get("kind") in ("dpo", "rft") else job
        base = trained.base_model or trained.warm_start_from  # a warm start continues an earlier tuned model
        return FineTunedModel(
            provider=self.name,
            model_id=model,
            base_model=str(base),
            metadata={"job_id": ref.job_id, "job": job.name, "dataset": job.dataset},
        )

    def checkpoints(self, ref: JobRef) -> list[tk.Checkpoint]:
        """The models the job saved (its final adapter, and any promoted intermediate one), oldest first."""
        name = self._job(ref).name
        models = self.conn.call(lambda: list(self.conn.client.models.list(filter=f'fine_tuning_job="{name}"')))
        models.sort(key=lambda m: m.create_time or 0)
        return [
            tk.Checkpoint(id=m.name, step=i, model_id=m.name, created_at=m.create_time) for i, m in enumerate(models, 1)
        ]

    def local_files(self, model: FineTunedModel) -> Path:
        """The tuned adapter's files, downloaded once (``tunekit serve`` and ``export`` load them)."""
        model_id = model.model_id.rsplit("/", 1)[-1]
        folder = tk.tunekit_home() / "cache" / "fireworks-models" / model_id
        if folder.is_dir():  # it appears only complete
            return folder
        urls = self.conn.call(self.conn.client.models.get_download_endpoint, model_id).filename_to_signed_urls or {}
        return tk.download_files(urls, folder, self.conn.call, timeout=self.options.timeout)

    def local_base_model(self, model: FineTunedModel, folder: Path) -> str:
        """The Hugging Face base the adapter names: Fireworks' own model names load nowhere else."""
        return tk.adapter_base_model(folder) if (folder / "adapter_config.json").is_file() else model.base_model

    # -- deployments ----------------------------------------------------------------------

    def deploy(self, model: FineTunedModel, deploy: tk.DeployConfig, run: RunContext) -> FineTunedModel:
        """Serve the tuned adapter on an on-demand deployment (billed per GPU hour until undeployed)."""
        deployments = self.conn.client.deployments
        deployment_id = resource_id(deploy.name or run.run_id)
        gpu = deploy.instance_type or self.options.accelerator_type
        hosting = self.hosting_cost(model.base_model, deploy)
        logger.warning("deploying %s: %s", model.model_id, hosting.warning() if hosting else "billed while deployed")
        rental: tk.Rental[Any] = tk.Rental(
            name=deployment_id,
            find=lambda: self.conn.find(lambda: deployments.get(deployment_id)),
            create=lambda: deployments.create(
                base_model=model.model_id,
                deployment_id=deployment_id,
                accelerator_type=gpu,  # type: ignore[arg-type]  # the options' Literal is the SDK's subset
                accelerator_count=deploy.capacity,
                min_replica_count=deploy.min_replicas,
                max_replica_count=deploy.max_replicas,
            ),
            refresh=lambda d: deployments.get(deployment_id),
            state=lambda d: str(d.state),
            delete=lambda d: deployments.delete(deployment_id),
            ready={"READY"},
            failed={"FAILED", "DELETED", "DELETING"},
        )
        what = f"{model.model_id} on {gpu} x{deploy.capacity}"
        created = tk.rent(
            self.conn, run, rental, what=what, interval=self.options.poll_interval, timeout=self.options.deploy_timeout
        )
        run.remember(deployment=created.name)
        price = {"hourly_price": hosting.per_hour, "currency": hosting.currency} if hosting and hosting.per_hour else {}
        metadata = {**model.metadata, "sku": gpu, "capacity": deploy.capacity, "account": resolved(self.options)[1]}
        return model.model_copy(update={"kind": "deployment", "deployment": created.name, "metadata": metadata | price})

    def undeploy(self, model: FineTunedModel, run: RunContext) -> None:
        name = model.deployment or run.remote.get("deployment")
        if not name:
            return
        deployment_id = str(name).rsplit("/", 1)[-1] if "/deployments/" in str(name) else resource_id(str(name))
        tk.return_rental(self.conn, run, deployment_id, lambda: self.conn.client.deployments.delete(deployment_id))

    # -- inference ------------------------------------------------------------------------

    def client(self, model: FineTunedModel) -> tk.ChatClient:
        """The OpenAI-compatible inference API; a deployed model is addressed ``MODEL#DEPLOYMENT``."""
        key, _account, base_url = resolved(self.options)
        served = f"{model.model_id}#{model.deployment}" if model.deployment else model.model_id
        inference = f"{base_url}/v1" if base_url else "https://api.fireworks.ai/inference/v1"
        return tk.OpenAIChatClient(
            served, api_key=key, base_url=inference, timeout=self.options.timeout, provider=self.name
        )


def _output_model(job: Any) -> str | None:
    config = getattr(job, "training_config", None)
    return getattr(job, "output_model", None) or (config.output_model if config is not None else None)
