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
from tunekit.errors import ConfigError, RunNotFoundError
from tunekit.jobs import Job, JobStatus
from tunekit.ledger import Ledger, RunRecord
from tunekit.provider import Provider, RunContext
from tunekit.registry import create_provider
from tunekit.secrets import get_logger

if TYPE_CHECKING:
    from tunekit.data.report import ValidationReport

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

        return validate_data(self.config, strict=strict)

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
        if "job_id" in record.remote:
            return job
        with self.ledger.lock(record.run_id):
            record = self.ledger.get(record.run_id)
            if "job_id" in record.remote:
                return job
            run = self._context(record)
            ref = self.provider.find(run)
            if ref is not None:
                self.ledger.record(record.run_id, "outcome", step="submit", message=f"adopted job {ref.job_id}")
            else:
                from tunekit.data import load_splits

                problems = self.provider.check(self.config)
                if problems:
                    raise ConfigError("the provider rejects this config", problems=problems)
                splits = load_splits(self.config)
                run.intent("prepare")
                prepared = self.provider.prepare(splits, self.config, run)
                run.outcome("prepare", data=prepared.model_dump(mode="json"))
                run.intent("submit")
                ref = self.provider.submit(prepared, self.config, run)
            self.ledger.update(record.run_id, remote={"job_id": ref.job_id, "job_extra": ref.extra})
            self.ledger.update(record.run_id, status=JobStatus.QUEUED)
            self.ledger.record(record.run_id, "outcome", step="submit", message=ref.job_id, data=ref.model_dump())
        return job

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


def _new_run_id(config: TuneConfig) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"{config.provider}-{stamp}-{_random.token_hex(3)}"
