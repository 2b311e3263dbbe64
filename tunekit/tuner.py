"""Tuner: the one interface applications call, whatever the provider.

::

    tuner = Tuner.from_config("tune.yaml")
    report = tuner.validate()          # what is wrong with the data, where; tokens; cost
    job = tuner.submit()               # idempotent: resumes an unfinished run of the same config
    job.wait()
    model = job.result()
    model.client().chat([{"role": "user", "content": "..."}]).text
"""

from __future__ import annotations

import secrets as _random
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunekit.config import TuneConfig, config_hash, load_config, parse_config
from tunekit.errors import ConfigError, JobError, RunNotFoundError
from tunekit.jobs import Job, JobStatus
from tunekit.ledger import Ledger, RunRecord
from tunekit.provider import JobRef, Provider, RunContext
from tunekit.registry import create_provider
from tunekit.secrets import get_logger

if TYPE_CHECKING:
    from tunekit.config import DeployConfig
    from tunekit.data.report import ValidationReport
    from tunekit.provider import FineTunedModel

__all__ = ["Tuner"]

logger = get_logger("tunekit.tuner")


class Tuner:
    """Validate, submit and follow fine-tuning runs for one config.

    Build it from a config file (:meth:`from_config`), a :class:`TuneConfig`,
    or keyword arguments that form one::

        Tuner(provider="local", model="smollm2-135m-instruct", data={"train": "train.jsonl"})
    """

    def __init__(self, config: TuneConfig | None = None, *, ledger: Ledger | None = None, **fields: Any) -> None:
        if config is None:
            if not fields:
                raise ConfigError("give a TuneConfig or its fields (provider=..., model=..., data=...)")
            data = fields.get("data")
            if isinstance(data, (str, Path)):
                fields["data"] = {"train": str(data)}
            config = parse_config(fields)
        elif fields:
            raise ConfigError("give either a TuneConfig or keyword fields, not both")
        self.config = config
        self.ledger = ledger or Ledger()
        self._provider: Provider | None = None

    @classmethod
    def from_config(cls, path: str | Path, *, ledger: Ledger | None = None, **overrides: Any) -> Tuner:
        """Load a YAML or JSON config; ``overrides`` replace top-level keys."""
        return cls(load_config(path, **overrides), ledger=ledger)

    def __repr__(self) -> str:
        return f"Tuner(provider={self.config.provider!r}, model={self.config.model!r})"

    @property
    def provider(self) -> Provider:
        if self._provider is None:
            self._provider = create_provider(self.config.provider, self.config.options())
        return self._provider

    @property
    def config_hash(self) -> str:
        return config_hash(self.config)

    # -- before spending -------------------------------------------------------

    def validate(self, *, strict: bool = False) -> ValidationReport:
        """Check the data (and the config against the provider) without side effects.

        With ``strict``, raise :class:`~tunekit.errors.DataError` on any error.
        """
        problems = self.provider.check(self.config)
        if problems:
            raise ConfigError("the provider rejects this config", problems=problems)
        from tunekit.data import validate_data

        return validate_data(self.config, profile=self.provider, strict=strict)

    # -- runs ------------------------------------------------------------------

    def submit(self, *, new: bool = False) -> Job:
        """Start the run, or pick up the unfinished run of this same config.

        Idempotent: a run id is recorded before anything happens remotely;
        after a crash, calling ``submit`` again re-attaches to the job the
        provider already has (``Provider.find``) rather than starting another.
        ``new=True`` always starts a fresh run.
        """
        record = None if new else self.ledger.find_resumable(self.config_hash)
        if record is None:
            record = self._create_run()
        else:
            logger.info("resuming run %s (%s)", record.run_id, record.status.value)
        return self._drive(record)

    def _create_run(self) -> RunRecord:
        run_id = _new_run_id(self.config)
        return self.ledger.create_run(
            run_id,
            provider=self.config.provider,
            model=self.config.model,
            config_hash=self.config_hash,
            config=self.config.redacted(),
            name=self.config.name,
        )

    def _drive(self, record: RunRecord) -> Job:
        job = Job(record.run_id, self.provider, self.ledger)
        if "job_id" in record.remote and self._submit_recorded(record.run_id):
            return job
        with self.ledger.lock(record.run_id):
            record = self.ledger.get(record.run_id)
            if "job_id" in record.remote:
                self._close_submit(record)
                return job
            run = self._context(record)
            ref = self.provider.find(run)
            if ref is not None:
                self._adopt(record.run_id, ref)
                return job
            from tunekit.data import load_splits

            problems = self.provider.check(self.config)
            if problems:
                raise ConfigError("the provider rejects this config", problems=problems)
            splits = load_splits(self.config, profile=self.provider)
            run.intent("prepare")
            prepared = self.provider.prepare(splits, self.config, run)
            run.outcome("prepare", data=prepared.model_dump(mode="json"))
            run.intent("submit")
            ref = self.provider.submit(prepared, self.config, run)
            self.ledger.update(record.run_id, remote={"job_id": ref.job_id, "job_extra": ref.extra})
            self.ledger.update(record.run_id, status=JobStatus.QUEUED)
            self.ledger.record(record.run_id, "outcome", step="submit", message=ref.job_id, data=ref.model_dump())
        return job

    def reattach(self, run_id: str) -> Job:
        """The job of a recorded run, asking the provider when a crash lost its id; never submits.

        A client killed after the provider accepted the job but before the
        ledger heard of it leaves a run without a job id; ``Provider.find``
        recognises the job by the run id it carries, and it is adopted here.
        """
        record = self.ledger.get(run_id)
        job = Job(run_id, self.provider, self.ledger)
        if "job_id" in record.remote and self._submit_recorded(run_id):
            return job
        with self.ledger.lock(run_id):
            record = self.ledger.get(run_id)
            if "job_id" in record.remote:
                self._close_submit(record)
                return job
            ref = self.provider.find(self._context(record))
            if ref is None:
                raise JobError("the run has no job at the provider; submit it again to start one", run_id=run_id)
            self._adopt(run_id, ref)
        return job

    def _submit_recorded(self, run_id: str) -> bool:
        return any(e.step == "submit" for e in self.ledger.events(run_id, kinds=["outcome"]))

    def _close_submit(self, record: RunRecord) -> None:
        """Write the submit outcome a client killed after keeping the job id did not get to write."""
        if self._submit_recorded(record.run_id):
            return
        job_id = record.remote["job_id"]
        if record.status == JobStatus.PENDING:
            self.ledger.update(record.run_id, status=JobStatus.QUEUED)
        ref = {"provider": record.provider, "job_id": job_id, "extra": record.remote.get("job_extra", {})}
        message = f"job {job_id} (recorded on resume)"
        self.ledger.record(record.run_id, "outcome", step="submit", message=message, data=ref)

    def _adopt(self, run_id: str, ref: JobRef) -> None:
        self.ledger.update(run_id, remote={"job_id": ref.job_id, "job_extra": ref.extra})
        self.ledger.update(run_id, status=JobStatus.QUEUED)
        self.ledger.record(run_id, "outcome", step="submit", message=f"adopted job {ref.job_id}", data=ref.model_dump())

    def _context(self, record: RunRecord) -> RunContext:
        record.run_dir.mkdir(parents=True, exist_ok=True)
        return RunContext(
            run_id=record.run_id,
            run_dir=record.run_dir,
            config_hash=record.config_hash,
            ledger=self.ledger,
            remote=dict(record.remote),
        )

    def context(self, run_id: str) -> RunContext:
        """The :class:`RunContext` of a recorded run (for deploy and resume flows)."""
        return self._context(self.ledger.get(run_id))

    def job(self, run_id: str) -> Job:
        """The handle of a recorded run of this tuner's provider."""
        record = self.ledger.get(run_id)
        if record.provider != self.config.provider:
            raise RunNotFoundError(run_id)
        return Job(run_id, self.provider, self.ledger)

    def jobs(self, *, all_configs: bool = False) -> list[Job]:
        """Runs of this config (or, with ``all_configs``, of this provider), newest first."""
        if all_configs:
            records = self.ledger.runs(provider=self.config.provider)
        else:
            records = self.ledger.runs(config_hash=self.config_hash)
        return [Job(r.run_id, self.provider, self.ledger) for r in records]

    @classmethod
    def for_run(cls, run_id: str, *, ledger: Ledger | None = None) -> Tuner:
        """Rebuild the tuner of a recorded run (secrets come back from the environment)."""
        ledger = ledger or Ledger()
        record = ledger.get(run_id)
        return cls(parse_config(record.config, source=f"run {run_id}"), ledger=ledger)

    # -- serving -----------------------------------------------------------------

    def deploy(
        self, run_id: str | None = None, deploy: DeployConfig | None = None, *, checkpoint: str | int | None = None
    ) -> FineTunedModel:
        """Serve a run's tuned model where the provider needs a deployment (Azure), and record it.

        ``run_id`` defaults to the newest run of this config; ``deploy`` to the
        config's ``deploy`` section; ``checkpoint`` (an id or a step) serves
        that checkpoint instead of the final model. The run's result then names
        the deployment, so ``job.result().client()`` chats with it. Deployments
        usually bill while they exist: :meth:`undeploy` deletes them.
        """
        from tunekit.config import DeployConfig

        record = self._run(run_id)
        job = Job(record.run_id, self.provider, self.ledger)
        model = job.result()
        if checkpoint is not None:
            model = self._checkpoint_model(job, model, checkpoint)
        settings = deploy or self.config.deploy or DeployConfig()
        with self.ledger.lock(record.run_id):
            self.ledger.record(record.run_id, "intent", step="deploy", data=settings.model_dump(mode="json"))
            deployed = self.provider.deploy(model, settings, self.context(record.run_id))
            deployed.run_id = record.run_id
            self.ledger.update(record.run_id, result=deployed.model_dump(mode="json"))
            self.ledger.record(record.run_id, "outcome", step="deploy", message=deployed.deployment or "")
        return deployed.bind(self.provider)

    def undeploy(self, run_id: str | None = None) -> bool:
        """Delete the run's deployment, so it stops billing; False when nothing was deployed."""
        from tunekit.provider import FineTunedModel

        record = self._run(run_id)
        if record.result is None or not record.result.get("deployment"):
            return False
        model = FineTunedModel.model_validate(record.result)
        with self.ledger.lock(record.run_id):
            self.ledger.record(record.run_id, "intent", step="undeploy", message=model.deployment or "")
            self.provider.undeploy(model, self.context(record.run_id))
            kind = "model_id" if model.kind == "deployment" else model.kind
            served = model.model_copy(update={"deployment": None, "kind": kind})
            self.ledger.update(record.run_id, result=served.model_dump(mode="json"))
            self.ledger.record(record.run_id, "outcome", step="undeploy", message=model.deployment or "")
        return True

    def _run(self, run_id: str | None) -> RunRecord:
        if run_id is None:
            newest = self.ledger.runs(config_hash=self.config_hash, limit=1)
            if not newest:
                raise RunNotFoundError("(newest run of this config)")
            return newest[0]
        record = self.ledger.get(run_id)
        if record.provider != self.config.provider:
            raise RunNotFoundError(run_id)
        return record

    def _checkpoint_model(self, job: Job, model: FineTunedModel, checkpoint: str | int) -> FineTunedModel:
        from tunekit.errors import JobError

        for saved in job.checkpoints():
            if checkpoint in (saved.id, saved.step, str(saved.step)):
                if saved.model_id is None:
                    break
                return model.model_copy(
                    update={"model_id": saved.model_id, "checkpoint": saved.id, "deployment": None, "kind": "model_id"}
                )
        raise JobError(
            f"the job saved no usable checkpoint {checkpoint!r} (see `tunekit checkpoints`)", run_id=job.run_id
        )


def _new_run_id(config: TuneConfig) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"{config.provider}-{stamp}-{_random.token_hex(3)}"
