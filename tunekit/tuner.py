"""Tuner: the one interface applications call, whatever the provider.

::

    tuner = Tuner.from_config("tune.yaml")
    report = tuner.validate()          # what is wrong with the data, where; tokens; cost
    job = tuner.submit()               # once per config and data: a second call returns this run
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
from tunekit.errors import (
    AuthenticationError,
    ConfigError,
    ConflictError,
    DataError,
    DependencyMissingError,
    DeploymentFailedError,
    InvalidRequestError,
    JobError,
    JobLostError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    RunNotFoundError,
    UnsupportedOperationError,
)
from tunekit.jobs import Job
from tunekit.ledger import Ledger, Lineage, RunRecord
from tunekit.provider import JobRef, Provider, RunContext
from tunekit.registry import create_provider
from tunekit.secrets import get_logger
from tunekit.states import JobStatus

if TYPE_CHECKING:
    from tunekit.config import DeployConfig
    from tunekit.data.report import ValidationReport
    from tunekit.data.splits import DatasetSplits
    from tunekit.ledger import DeploymentRecord
    from tunekit.provider import FineTunedModel

__all__ = ["Tuner"]

logger = get_logger("tunekit.tuner")

_REFUSED: tuple[type[Exception], ...] = (
    ConfigError,
    DataError,
    DependencyMissingError,
    UnsupportedOperationError,
    AuthenticationError,
    PermissionDeniedError,
    QuotaExceededError,
    InvalidRequestError,
    NotFoundError,
)
"""Errors that mean the request was refused and created nothing (unlike timeouts, 5xx, 409 or a crash)."""

_REFUSED_DEPLOY: tuple[type[Exception], ...] = (*_REFUSED, ConflictError)
"""A deployment refused with these was never created (409: the name serves another model)."""

# How _drive found a run's job.
_RECORDED, _ADOPTED, _SUBMITTED = "recorded", "adopted", "submitted"


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
        self._parent: Lineage | None = None
        self._parent_resolved = False
        self._checks: list[tuple[str, str, dict[str, Any]]] = []

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

    @property
    def parent(self) -> Lineage | None:
        """The earlier run this config starts from (``init_from``), resolved and checked once; None without one.

        Raises :class:`~tunekit.errors.ConfigError` when the run is not found,
        has not succeeded, ran elsewhere or on another base model, or the
        provider cannot continue it (see :mod:`tunekit.lineage`).
        """
        if not self._parent_resolved:
            from tunekit.lineage import resolve_parent

            self._parent = resolve_parent(self.config, self.provider, self.ledger, config_hash=self.config_hash)
            self._parent_resolved = True
        return self._parent

    # -- before spending -------------------------------------------------------

    def validate(self, *, strict: bool = False) -> ValidationReport:
        """Check the data (and the config against the provider) without side effects.

        With ``strict``, raise :class:`~tunekit.errors.DataError` on any error.
        """
        self._check()
        from tunekit.data import validate_data

        return validate_data(self.config, profile=self.provider, strict=strict)

    def note_check(self, step: str, message: str, data: dict[str, Any]) -> None:
        """Keep what a check before spending found (the rewards' spread on the base model's samples, say): the next
        new run :meth:`submit` creates records it as an ``outcome`` event of ``step``, beside the run's other steps."""
        self._checks.append((step, message, data))

    # -- runs ------------------------------------------------------------------

    def submit(self, *, new: bool = False) -> Job:
        """Start the run, or return the run of this same job that succeeded or is still going.

        Idempotent: running the same code again never trains (and bills) the
        same job twice. A run of the same job (:meth:`run_key`: the config
        without its name, secrets, ``eval`` and ``deploy``, and the data's
        content) that succeeded is returned as it is; one that is unfinished
        is resumed, and after a crash re-attached to the job the provider
        already has (``Provider.find``). A run that failed or was cancelled is
        not resumed: submitting again starts a fresh run. ``new=True`` always
        starts a fresh run.

        Nothing reaches the network before the provider's :meth:`Provider.check
        <tunekit.provider.Provider.check>` and the data's validation pass; a
        run the provider refuses is recorded as failed with the reason. A
        resumed run whose job no longer exists at the provider raises
        :class:`~tunekit.errors.JobLostError`.
        """
        self._check()
        key = self.run_key()
        record = None if new else self.existing_run(key)
        if record is None:
            splits = self._load_splits()  # strict validation: bad data is refused before a run exists
            record = self._create_run(key)
            self._record_checks(record.run_id)
            job, _ = self._drive(record, may_submit=True, splits=splits)
            return job
        if record.status is JobStatus.SUCCEEDED:
            logger.info("run %s of this job already succeeded; returning it (new=True trains again)", record.run_id)
            return Job(record.run_id, self.provider, self.ledger)
        logger.info("resuming run %s (%s)", record.run_id, record.status.value)
        job, how = self._drive(record, may_submit=True)
        if how == _RECORDED:
            self._confirm_job_exists(job)
        return job

    def run_key(self) -> str:
        """What determines this config's job, the data's content included (see :mod:`tunekit.runkey`)."""
        from tunekit.runkey import run_key

        return run_key(self.config, self.parent)

    def existing_run(self, key: str | None = None) -> RunRecord | None:
        """The run :meth:`submit` picks up instead of starting another: the newest run of this job that
        succeeded or is unfinished, or None (then ``submit`` starts a job, which may bill)."""
        return self.ledger.find_reusable(key or self.run_key(), self.config_hash)

    def reattach(self, run_id: str) -> Job:
        """The job of a recorded run, asking the provider when a crash lost its id; never submits.

        A client killed after the provider accepted the job but before the
        ledger heard of it leaves a run without a job id; ``Provider.find``
        recognises the job by the run id it carries, and it is adopted here.
        """
        job, _ = self._drive(self.ledger.get(run_id), may_submit=False)
        return job

    def _check(self) -> None:
        """The provider's own checks of the config: before any upload, ledger write or spend.

        The only requests they send read what must exist before paying: the parent job of ``init_from``, the
        hardware a ``deploy:`` section names. Nothing is created.
        """
        from tunekit.tracking import tracking_problems

        problems = self.provider.check(self.config)
        if problems:
            raise ConfigError("the provider rejects this config", problems=problems)
        problems = tracking_problems(self.config.tracking)
        if problems:
            raise ConfigError("the config's tracking cannot work here", problems=problems)
        _ = self.parent  # init_from: the parent exists, succeeded, has this base model, and the provider continues it

    def _record_checks(self, run_id: str) -> None:
        for step, message, data in self._checks:
            self.ledger.record(run_id, "outcome", step=step, message=message, data=data)
        self._checks.clear()

    def _load_splits(self) -> DatasetSplits:
        from tunekit.data import load_splits

        return load_splits(self.config, profile=self.provider)

    def _create_run(self, key: str) -> RunRecord:
        run_id = _new_run_id(self.config)
        return self.ledger.create_run(
            run_id,
            provider=self.config.provider,
            model=self.config.model,
            config_hash=self.config_hash,
            config=self.config.redacted(),
            name=self.config.name,
            run_key=key,
            parent=self.parent,
        )

    # -- the submit state machine ------------------------------------------------------

    def _drive(self, record: RunRecord, *, may_submit: bool, splits: DatasetSplits | None = None) -> tuple[Job, str]:
        """Bring a run to "its job exists and the ledger says so": the one path every submit and re-attach takes.

        The job is, in this order: the one the ledger recorded (completed by
        ``find`` when the client died before settling it); the one the
        provider already has for this run (``find``; skipped for a run created
        by this call, which no job can carry yet); or, with ``may_submit``, a
        new one. Whichever it is, one ledger transaction records it
        (:meth:`Ledger.settle_submit`). Returns how the job was found.
        """
        job = Job(record.run_id, self.provider, self.ledger)
        if record.has_job and self._submit_recorded(record.run_id):
            return job, _RECORDED
        with self.ledger.lock(record.run_id):
            record = self.ledger.get(record.run_id)
            recorded = self._recorded_ref(record)
            # A job id without its submit outcome (the provider kept it, the client died before settling)
            # lacks the rest of its reference: the provider's find() rebuilds it. A fresh run has no job yet.
            found = self.provider.find(self._context(record)) if splits is None else None
            ref: JobRef | None
            if recorded is not None and (found is None or found.job_id != recorded.job_id):
                ref, how = recorded, _RECORDED
            else:
                ref, how = found, (_ADOPTED if recorded is None else _RECORDED)
            if ref is None:
                if not may_submit:
                    raise JobError(
                        "the run has no job at the provider; submit it again to start one", run_id=record.run_id
                    )
                ref, how = self._start(record, splits), _SUBMITTED
            message = {_RECORDED: f"job {ref.job_id} (recorded on resume)", _ADOPTED: f"adopted job {ref.job_id}"}
            self.ledger.settle_submit(record.run_id, ref.model_dump(mode="json"), message.get(how, ref.job_id))
        return job, how

    def _start(self, record: RunRecord, splits: DatasetSplits | None) -> JobRef:
        """Validate, prepare and submit; a refusal marks the run failed with its reason (no phantom pending run)."""
        run = self._context(record)
        try:
            if splits is None:
                splits = self._load_splits()
            run.intent("prepare")
            prepared = self.provider.prepare(splits, self.config, run)
            run.outcome("prepare", data=prepared.model_dump(mode="json"))
            run.intent("submit")
            return self.provider.submit(prepared, self.config, run)
        except _REFUSED as exc:
            # The service (or tunekit) said no: no job exists. Errors that leave that open (timeouts,
            # 5xx, 409, a crash) keep the run pending, so submitting again finds the job or makes it.
            self.ledger.fail_run(record.run_id, str(exc), step="submit")
            raise

    def _recorded_ref(self, record: RunRecord) -> JobRef | None:
        if not record.has_job:
            return None
        return JobRef(
            provider=record.provider, job_id=record.remote["job_id"], extra=record.remote.get("job_extra", {})
        )

    def _submit_recorded(self, run_id: str) -> bool:
        return any(e.step == "submit" for e in self.ledger.events(run_id, kinds=["outcome"]))

    def _confirm_job_exists(self, job: Job) -> None:
        """A resumed run's recorded job must still exist: a stale id would follow nothing, and say "validating"."""
        from tunekit.errors import NotFoundError

        try:
            job.status()
        except NotFoundError as exc:
            message = f"job {job.job_id} recorded for this run no longer exists at {self.provider.name}"
            self.ledger.fail_run(job.run_id, f"{message}: {exc}", step="status")
            raise JobLostError(
                f"{message}; nothing trains for it. Start a fresh run with new=True (--new on the command line)",
                run_id=job.run_id,
            ) from exc

    def _context(self, record: RunRecord) -> RunContext:
        record.run_dir.mkdir(parents=True, exist_ok=True)
        return RunContext(
            run_id=record.run_id,
            run_dir=record.run_dir,
            config_hash=record.config_hash,
            ledger=self.ledger,
            remote=dict(record.remote),
            start_from=record.parent.start if record.parent is not None else None,
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
        config's ``deploy`` section (its name to the run id); ``checkpoint``
        (an id or a step) serves that checkpoint instead of the final model.
        The run's result then names the deployment, so ``job.result().client()``
        chats with it. Every deployment a run makes is recorded
        (:meth:`deployments`): they usually bill while they exist, and
        :meth:`undeploy` deletes them.
        """
        from tunekit.config import DeployConfig

        record = self._run(run_id)
        job = Job(record.run_id, self.provider, self.ledger)
        model = job.result() if checkpoint is None else self._servable_checkpoint(job, checkpoint)
        settings = deploy or self.config.deploy or DeployConfig()
        settings = settings.model_copy(update={"name": settings.name or record.run_id})
        name = str(settings.name)
        # Deploying over a paused deployment would wait for one that does not start: resuming is the way.
        if any(d.name == name and d.state == "paused" for d in self.ledger.deployments(record.run_id)):
            raise ConfigError(
                f"deployment {name!r} of run {record.run_id} is paused: `tunekit deploy {record.run_id} --resume` "
                "starts it again"
            )
        with self.ledger.lock(record.run_id):
            self.ledger.record(record.run_id, "intent", step="deploy", data=settings.model_dump(mode="json"))
            hosting = self.provider.hosting_cost(model.base_model, settings)
            sku = hosting.sku if hosting is not None and hosting.sku else settings.sku
            self.ledger.deployment_intent(
                record.run_id, name, model=model.model_id, sku=sku, capacity=settings.capacity
            )
            try:
                deployed = self.provider.deploy(model, settings, self.context(record.run_id))
            except _REFUSED_DEPLOY:
                # Refused before anything was created (a name another model holds, bad credentials).
                self.ledger.deployment_gone(record.run_id, name, never_created=True)
                raise
            except DeploymentFailedError:
                # Created, failed to start, deleted again by the provider: it no longer bills.
                self.ledger.deployment_gone(record.run_id, name)
                raise
            deployed.run_id = record.run_id
            self._record_deployment(record.run_id, name, deployed, settings)
            self.ledger.update(record.run_id, result=deployed.model_dump(mode="json"))
            self.ledger.record(record.run_id, "outcome", step="deploy", message=deployed.deployment or "")
        return deployed.bind(self.provider)

    def _record_deployment(self, run_id: str, name: str, deployed: FineTunedModel, settings: DeployConfig) -> None:
        meta = deployed.metadata
        price = meta.get("hourly_price")
        capacity = meta.get("capacity", settings.capacity)
        self.ledger.deployment_active(
            run_id,
            name,
            model=deployed.model_id,
            sku=str(meta.get("sku") or settings.sku),
            capacity=int(capacity) if isinstance(capacity, int) else settings.capacity,
            hourly_price=float(price) if isinstance(price, (int, float)) else None,
            currency=str(meta["currency"]) if meta.get("currency") else None,
            data={k: v for k, v in meta.items() if k in _DEPLOYMENT_SCOPE},
        )

    def deployments(
        self, run_id: str | None = None, *, billing: bool = False, existing: bool = False
    ) -> list[DeploymentRecord]:
        """The deployments a run made, oldest first: ``billing``, those that may cost money (neither deleted nor
        paused); ``existing``, those not deleted (paused ones too)."""
        record = self._run(run_id)
        self._adopt_legacy_deployment(record)
        return self.ledger.deployments(record.run_id, billing=billing, existing=existing)

    def pause_deployment(self, run_id: str | None = None, *, name: str | None = None) -> list[DeploymentRecord]:
        """Pause the run's serving deployments (or only ``name``): they stop billing and are kept for
        :meth:`resume_deployment`. Returns them as recorded now (``paused``).

        Raises :class:`UnsupportedOperationError` where the provider's deployments
        cannot pause (delete them instead), :class:`NotFoundError` for one deleted
        outside tunekit (the ledger then records it deleted).
        """
        record, targets = self._deployments_to_switch(run_id, name, "active", "pause")
        paused: list[DeploymentRecord] = []
        with self.ledger.lock(record.run_id):
            for target in targets:
                self.ledger.record(record.run_id, "intent", step="pause_deployment", message=target.name)
                try:
                    self.provider.pause_deployment(self._deployed(record, target), self.context(record.run_id))
                except NotFoundError:
                    self._forget_vanished(record.run_id, target.name)
                    raise
                paused.append(self.ledger.deployment_paused(record.run_id, target.name))
                self.ledger.record(record.run_id, "outcome", step="pause_deployment", message=target.name)
        return paused

    def resume_deployment(self, run_id: str | None = None, *, name: str | None = None) -> list[DeploymentRecord]:
        """Start the run's paused deployments (or only ``name``) again and wait until each answers; each bills
        again from then. Returns them as recorded now (``active``)."""
        record, targets = self._deployments_to_switch(run_id, name, "paused", "resume")
        resumed: list[DeploymentRecord] = []
        serving: list[FineTunedModel] = []
        with self.ledger.lock(record.run_id):
            for target in targets:
                self.ledger.record(record.run_id, "intent", step="resume_deployment", message=target.name)
                try:
                    deployed = self._deployed(record, target)
                    served = self.provider.resume_deployment(deployed, self.context(record.run_id))
                except NotFoundError:
                    self._forget_vanished(record.run_id, target.name)
                    raise
                serving.append(served)
                resumed.append(
                    self.ledger.deployment_active(
                        record.run_id,
                        target.name,
                        model=target.model,
                        sku=target.sku,
                        capacity=target.capacity,
                        hourly_price=target.hourly_price,
                        currency=target.currency,
                        data={**target.data, **{k: v for k, v in served.metadata.items() if k in _DEPLOYMENT_SCOPE}},
                    )
                )
                self.ledger.record(record.run_id, "outcome", step="resume_deployment", message=target.name)
            self._result_after_resume(record.run_id, serving)
        return resumed

    def _deployments_to_switch(
        self, run_id: str | None, name: str | None, state: str, verb: str
    ) -> tuple[RunRecord, list[DeploymentRecord]]:
        """The run's deployments in ``state`` (or ``name``, which must be in it), refused clearly otherwise."""
        record = self._run(run_id)
        self._adopt_legacy_deployment(record)
        existing = self.ledger.deployments(record.run_id, existing=True)
        if not existing:
            raise ConfigError(f"run {record.run_id} has no deployment to {verb} (`tunekit deploy {record.run_id}`)")
        if name is not None:
            named = [d for d in existing if d.name == name]
            if not named:
                known = ", ".join(d.name for d in existing)
                raise ConfigError(f"run {record.run_id} has no deployment {name!r} (its deployments: {known})")
            existing = named
        targets = [d for d in existing if d.state == state]
        if not targets:
            states = ", ".join(f"{d.name} is {d.state}" for d in existing)
            raise ConfigError(f"run {record.run_id} has no {state} deployment to {verb} ({states})")
        return record, targets

    @staticmethod
    def _deployed(record: RunRecord, target: DeploymentRecord) -> FineTunedModel:
        from tunekit.provider import FineTunedModel

        return FineTunedModel(
            provider=record.provider,
            model_id=target.model,
            base_model=record.model,
            kind="deployment",
            run_id=record.run_id,
            deployment=target.name,
            metadata=dict(target.data),
        )

    def _forget_vanished(self, run_id: str, name: str) -> None:
        """A deployment deleted outside tunekit bills nothing: the ledger says so too."""
        self.ledger.deployment_gone(run_id, name)
        self.ledger.record(run_id, "outcome", step="deployment_vanished", message=name)
        self._result_after_undeploy(run_id)

    def _result_after_resume(self, run_id: str, serving: list[FineTunedModel]) -> None:
        """The run's result follows its deployment to where it serves now (a resumed endpoint's URL)."""
        from tunekit.provider import FineTunedModel

        result = self.ledger.get(run_id).result
        if result is None:
            return
        model = FineTunedModel.model_validate(result)
        for served in serving:
            if served.deployment == model.deployment:
                now = model.model_copy(update={"metadata": {**model.metadata, **served.metadata}})
                self.ledger.update(run_id, result=now.model_dump(mode="json"))

    def undeploy(self, run_id: str | None = None, *, name: str | None = None) -> list[DeploymentRecord]:
        """Delete the run's deployments (or only ``name``), so they stop billing; returns those deleted.

        Every recorded deployment is deleted, not only the latest; a
        deployment already gone counts as deleted. What still bills
        afterwards is ``deployments(run_id, billing=True)``.
        """

        record = self._run(run_id)
        self._adopt_legacy_deployment(record)
        # Paused ones too: they exist until deleted.
        targets = self.ledger.deployments(record.run_id, existing=True)
        if name is not None:
            targets = [d for d in targets if d.name == name]
            if not targets:
                known = ", ".join(d.name for d in self.ledger.deployments(record.run_id, existing=True)) or "none"
                raise ConfigError(f"run {record.run_id} has no deployment {name!r} (deployments that exist: {known})")
        deleted: list[DeploymentRecord] = []
        with self.ledger.lock(record.run_id):
            for target in targets:
                model = self._deployed(record, target)
                self.ledger.record(record.run_id, "intent", step="undeploy", message=target.name)
                self.provider.undeploy(model, self.context(record.run_id))
                self.ledger.deployment_gone(record.run_id, target.name)
                self.ledger.record(record.run_id, "outcome", step="undeploy", message=target.name)
                deleted.append(target)
            self._result_after_undeploy(record.run_id)
        return deleted

    def _result_after_undeploy(self, run_id: str) -> None:
        """The run's result names a deployment that still exists, or none."""
        from tunekit.provider import FineTunedModel

        result = self.ledger.get(run_id).result
        if result is None or not result.get("deployment"):
            return
        model = FineTunedModel.model_validate(result)
        left = {d.name: d for d in self.ledger.deployments(run_id, existing=True)}
        if model.deployment in left:
            return
        if left:
            last = list(left.values())[-1]
            served = model.model_copy(
                update={"deployment": last.name, "model_id": last.model, "metadata": {**model.metadata, **last.data}}
            )
        else:
            kind = "model_id" if model.kind == "deployment" else model.kind
            served = model.model_copy(update={"deployment": None, "kind": kind})
        self.ledger.update(run_id, result=served.model_dump(mode="json"))

    def _adopt_legacy_deployment(self, record: RunRecord) -> None:
        """A run deployed before the ledger kept a row per deployment: record the one its result names."""
        result = record.result or {}
        name = result.get("deployment")
        if not name or self.ledger.deployments(record.run_id):
            return
        meta = result.get("metadata") or {}
        self.ledger.deployment_intent(
            record.run_id,
            str(name),
            model=str(result.get("model_id")),
            sku=meta.get("sku"),
            capacity=meta.get("capacity"),
        )
        self.ledger.deployment_active(
            record.run_id,
            str(name),
            model=str(result.get("model_id")),
            sku=meta.get("sku"),
            capacity=meta.get("capacity"),
            hourly_price=None,
            currency=None,
            data={k: v for k, v in meta.items() if k in _DEPLOYMENT_SCOPE},
        )

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

    def _servable_checkpoint(self, job: Job, checkpoint: str | int) -> FineTunedModel:
        model = job.checkpoint_model(checkpoint)
        if model.kind != "model_id":
            raise JobError(
                f"checkpoint {model.checkpoint} is a local folder, not a model the provider can deploy",
                run_id=job.run_id,
            )
        return model


_DEPLOYMENT_SCOPE = frozenset({"subscription_id", "resource_group", "account", "endpoint", "endpoint_namespace"})
"""What of a deployed model's metadata the provider needs to find the deployment again."""


def _new_run_id(config: TuneConfig) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"{config.provider}-{stamp}-{_random.token_hex(3)}"
