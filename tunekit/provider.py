"""The provider plugin contract and the values it returns.

A provider says *where* a model is tuned. It is a class registered in the
``tunekit.providers`` entry-point group; the :class:`~tunekit.tuner.Tuner`
drives it and records every side effect in the run ledger. A provider only
talks to its service; it never decides whether a run exists (the ledger does)
and it can always answer :meth:`Provider.find` so a crashed client re-attaches
to its job instead of starting another.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr
from typing_extensions import TypeVar

from tunekit.data.price_tables import table_inference_price, table_limits, table_training_cost
from tunekit.data.profile import Limits
from tunekit.errors import TunekitError, UnsupportedOperationError
from tunekit.states import JobEvent, JobState

if TYPE_CHECKING:
    from tunekit.config import DeployConfig, TrackingConfig, TuneConfig
    from tunekit.data.cost import CostEstimate
    from tunekit.data.profile import HostingCost
    from tunekit.data.splits import DatasetSplits
    from tunekit.data.stats import TokenStats
    from tunekit.data.tokens import TokenCounter
    from tunekit.inference.base import ChatClient
    from tunekit.ledger import Ledger
    from tunekit.remote import RemoteFile
    from tunekit.retirement import Retirement

__all__ = ["Checkpoint", "FineTunedModel", "JobRef", "NoOptions", "OptionsT", "PreparedData", "Provider", "RunContext"]

OptionsT = TypeVar("OptionsT", bound=BaseModel, covariant=True, default=BaseModel)
"""A provider's options model: ``class MyProvider(Provider[MyOptions])`` types ``self.options``.

Covariant so that any provider is a ``Provider`` (the registry, the Tuner and
the CLI hold providers without knowing their options); the default makes a
bare ``Provider`` mean "some options model"."""


class NoOptions(BaseModel):
    """The options of a provider that takes none."""

    model_config = ConfigDict(extra="forbid")


class PreparedData(BaseModel):
    """Training data converted and placed where the provider reads it."""

    train: str
    """The provider's handle: a file id, a dataset repo, a local path."""
    validation: str | None = None
    train_examples: int = 0
    validation_examples: int = 0
    content_hash: str = ""
    """SHA-256 of the converted training file: identical data is not uploaded twice."""
    extra: dict[str, Any] = Field(default_factory=dict)


class JobRef(BaseModel):
    """Enough to find a job again, stored in the ledger."""

    provider: str
    job_id: str
    extra: dict[str, Any] = Field(default_factory=dict)


class Checkpoint(BaseModel):
    """An intermediate model a job saved, usable as a result."""

    id: str
    step: int
    model_id: str | None = None
    path: str | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    created_at: datetime | None = None


class FineTunedModel(BaseModel):
    """The product of a run: something a :class:`ChatClient` can call."""

    provider: str
    model_id: str
    """What inference needs: an OpenAI model id, a Hub repo, a deployment name, an adapter folder."""
    base_model: str
    kind: Literal["model_id", "adapter", "model_dir", "hub_repo", "deployment"] = "model_id"
    run_id: str | None = None
    path: str | None = None
    """Local folder of the adapter or merged model, when there is one."""
    checkpoint: str | None = None
    deployment: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))

    _provider: Provider | None = PrivateAttr(None)

    def bind(self, provider: Provider) -> FineTunedModel:
        """Attach the provider that can build a client for this model."""
        self._provider = provider
        return self

    def client(self) -> ChatClient:
        """A chat client for this model: the server ``tunekit serve`` runs for it, else the provider's client.

        ``job.result()``, ``Tuner.deploy()`` and ``job.use_checkpoint()`` return
        models bound to their provider; a model built by hand is bound first
        (``model.bind(tunekit.create_provider(model.provider))``). The contract
        does not look providers up itself: the registry is a layer above it.
        """
        served = self.served_at()
        if served is not None:
            from tunekit.inference.openai_client import OpenAIChatClient

            # Any OpenAI-compatible server ignores the key; a placeholder keeps OPENAI_API_KEY off the wire.
            return OpenAIChatClient(
                str(served["model"]), base_url=str(served["base_url"]), api_key="unused", provider=str(served["engine"])
            )
        if self._provider is None:
            raise TunekitError(
                f"model {self.model_id!r} is not bound to its provider: use job.result(), "
                f"or model.bind(tunekit.create_provider({self.provider!r})).client()"
            )
        return self._provider.client(self)

    def served_at(self) -> dict[str, Any] | None:
        """Where ``tunekit serve`` serves this model (``base_url``, ``model``, ``engine``, ``pid``), while it runs.

        The record is dropped when the server stops; a server killed without
        stopping leaves it behind, so a record whose process is gone is ignored.
        """
        served = self.metadata.get("served_at")
        if not isinstance(served, dict) or not served.get("base_url"):
            return None
        pid = served.get("pid")
        if isinstance(pid, int) and not _process_alive(pid):
            return None
        return served


def _process_alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists but belongs to someone else
        return True
    return True


@dataclass
class RunContext:
    """What a provider may know and do about the run it is serving."""

    run_id: str
    run_dir: Path
    config_hash: str
    ledger: Ledger
    remote: dict[str, Any] = field(default_factory=dict)
    start_from: str | None = None
    """What the job starts from instead of the base model (``init_from``): the provider's own
    :meth:`Provider.starting_point` answer, recorded with the run. None: the base model."""

    def intent(self, step: str, message: str = "", **data: Any) -> None:
        """Record that a side effect is about to happen (before the request)."""
        self.ledger.record(self.run_id, "intent", step=step, message=message, data=data)

    def outcome(self, step: str, message: str = "", **data: Any) -> None:
        """Record what a side effect produced (after the response)."""
        self.ledger.record(self.run_id, "outcome", step=step, message=message, data=data)

    def remember(self, **remote: Any) -> None:
        """Store remote ids (file ids, job ids, repo names) on the run row."""
        self.remote.update(remote)
        self.ledger.update(self.run_id, remote=remote)

    def upload_splits(
        self, data: DatasetSplits, target: str, upload: Callable[[Path, str], RemoteFile]
    ) -> PreparedData:
        """Write each split as JSONL in ``target``'s format into the run folder and upload it once.

        ``upload(path, sha256)`` sends one file (or finds the same content on
        the service); each is recorded as the ledger's ``upload_<role>`` intent
        and outcome, and its id is remembered as ``<role>_file``. What a
        provider whose job reads uploaded JSONL files does in ``prepare``.
        """
        from tunekit.data.writers import write_examples
        from tunekit.remote import recorded_upload

        files: dict[str, RemoteFile] = {}
        for role, examples in (("train", data.train), ("validation", data.validation)):
            if examples is None:
                continue
            path = self.run_dir / f"{role}.jsonl"
            write_examples(examples, path, target=target)
            files[role] = recorded_upload(self, role, path, upload)
            self.remember(**{f"{role}_file": files[role].id})
        validation = files.get("validation")
        return PreparedData(
            train=files["train"].id,
            validation=validation.id if validation else None,
            train_examples=len(data.train),
            validation_examples=len(data.validation or []),
            content_hash=files["train"].sha256,
        )


class Provider(ABC, Generic[OptionsT]):
    """What a provider plugin implements.

    Subclasses set ``name`` and ``Options`` (a pydantic model validated from
    the config's ``provider_options``), name the same model as the type
    parameter (``Provider[MyOptions]``) so ``self.options`` is typed, and
    implement the abstract methods.
    Optional abilities (pause, resume, checkpoints, deploy) raise
    :class:`UnsupportedOperationError` unless overridden.
    """

    name: ClassVar[str]
    Options: ClassVar[type[BaseModel]] = NoOptions
    spends_money: ClassVar[bool] = True
    """Whether a run bills someone; `tunekit run` asks before spending."""
    runs_here: ClassVar[bool] = False
    """Whether the job runs on this machine: Ctrl-C while waiting for it stops it; a remote job goes on."""
    tables: ClassVar[str | None] = None
    """The package that ships this provider's ``limits.yaml`` and ``prices.yaml``: the defaults of
    :meth:`limits`, :meth:`estimate_cost` and :meth:`inference_price` read them (None: no tables)."""

    def __init__(self, options: BaseModel | None = None) -> None:
        if options is None:
            options = self.Options()
        elif not isinstance(options, self.Options):
            options = self.Options.model_validate(options.model_dump())
        # Options is a ClassVar, which cannot name the type parameter: the class promises they agree.
        self.options: OptionsT = cast(OptionsT, options)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    @property
    def poll_interval(self) -> float:
        """Seconds between status polls while a job is watched (remote providers read their options)."""
        return 10.0

    @classmethod
    def foreign_config(cls, path: Path) -> TuneConfig | None:
        """The tunekit config equivalent to ``path`` when it is a config in this provider's own format, else None.

        ``tunekit run`` asks every installed provider about a file that is not
        a tunekit config (AutoTrain reads AutoTrain's YAML). A file that is
        this provider's format but invalid raises :class:`ConfigError`.
        """
        return None

    def check(self, config: TuneConfig) -> list[str]:
        """Provider-specific problems with a config, as ``"path: message"`` lines.

        The default refuses what :meth:`limits` rules out (model, suffix, epochs);
        an override adds its own problems to ``super().check(config)``. It may
        read from the service what must exist before paying (the hardware a
        ``deploy:`` section names), never create or change anything there.
        """
        return self.limits(config.model).problems(config, self.name)

    @abstractmethod
    def prepare(self, data: DatasetSplits, config: TuneConfig, run: RunContext) -> PreparedData:
        """Convert the data to the provider's format and put it where the job reads it."""

    @abstractmethod
    def submit(self, prepared: PreparedData, config: TuneConfig, run: RunContext) -> JobRef:
        """Start the job. Called only after :meth:`find` found none for this run."""

    @abstractmethod
    def find(self, run: RunContext) -> JobRef | None:
        """The job this run already started, if any (after a crash, a retry)."""

    @abstractmethod
    def status(self, ref: JobRef) -> JobState:
        """The job's normalized state."""

    @abstractmethod
    def events(self, ref: JobRef, after: str | None = None) -> Iterator[JobEvent]:
        """The job's events, oldest first, after the event id ``after``."""

    @abstractmethod
    def cancel(self, ref: JobRef) -> None:
        """Ask the job to stop."""

    @abstractmethod
    def result(self, ref: JobRef) -> FineTunedModel:
        """The tuned model of a succeeded job."""

    @abstractmethod
    def client(self, model: FineTunedModel) -> ChatClient:
        """A chat client for a tuned model (or, with ``kind='model_id'``, a base model)."""

    def base_client(self, model: str) -> ChatClient:
        """A chat client for an untuned base model, for the baselines."""
        return self.client(FineTunedModel(provider=self.name, model_id=model, base_model=model))

    def native_tracking(self, tracking: TrackingConfig) -> bool:
        """Whether the service logs this run's training metrics to ``tracking`` itself (OpenAI's W&B integration).

        Then tunekit's tracker skips the training metrics (it still logs the
        parameters, the evaluation and the report files); the provider adds
        the integration to the job it creates.
        """
        return False

    def base_client_for(self, model: FineTunedModel) -> ChatClient:
        """The untuned base model of a tuned ``model``, for the baselines: where the tuned model's deployment serves
        its base too (an adapter on its base model), there; else :meth:`base_client`."""
        return self.base_client(model.base_model)

    def deploy_serves_evaluation(self, config: TuneConfig) -> bool:
        """Whether the deployment ``config.deploy`` asks for will serve the evaluation's tuned and base models.

        ``tunekit run`` deploys before it evaluates; when this is true the
        evaluation needs no other endpoint, and the baselines, which do not
        exist before the deployment, are not probed before training.
        """
        return False

    @property
    def deploys(self) -> bool:
        """Whether this provider makes deployments (it implements :meth:`deploy`): a ``deploy:`` section can serve
        a tuned model the service does not serve by itself."""
        return type(self).deploy is not Provider.deploy

    def evaluation_problems(self, config: TuneConfig) -> list[str]:
        """What an evaluation of this config's runs lacks (``"path: message"``), asked before training is paid for
        when an evaluation will follow: say, no endpoint serves the models. Quick: no request that bills."""
        return []

    def starting_point(self, parent: FineTunedModel, config: TuneConfig) -> str:
        """What a run of ``config`` starts from to continue ``parent`` (``init_from``), checked before any spend.

        ``parent`` is an earlier run's result or checkpoint, of this provider
        and (the core checked) of the config's base model. The answer reaches
        :meth:`submit` as ``run.start_from``: an ``ft:`` model id, a local
        adapter folder, a Hub repo. Raise :class:`ConfigError
        <tunekit.errors.ConfigError>` (``"init_from: ..."``) when this config
        cannot continue that model; the default cannot continue any.
        """
        raise UnsupportedOperationError(self.name, "starting from an earlier run (init_from)")

    def pause(self, ref: JobRef) -> None:
        raise UnsupportedOperationError(self.name, "pause")

    def resume(self, ref: JobRef) -> None:
        raise UnsupportedOperationError(self.name, "resume")

    def checkpoints(self, ref: JobRef) -> list[Checkpoint]:
        raise UnsupportedOperationError(self.name, "checkpoints")

    def local_files(self, model: FineTunedModel) -> Path:
        """A folder on this machine holding the tuned model (an adapter or a full model), for serving and export.

        The default is the model's own folder; a provider whose results live
        elsewhere (a Hub repo) downloads them here.
        """
        if model.path and Path(model.path).is_dir():
            return Path(model.path)
        raise UnsupportedOperationError(
            self.name, "serving or exporting its models on this machine", "the vendor serves them (tunekit deploy)"
        )

    def local_base_model(self, model: FineTunedModel, folder: Path) -> str:
        """The base model an adapter downloaded to ``folder`` loads onto on this machine (a Hub id or a folder).

        The default is the model's own ``base_model``; a service whose base
        model names are its own (not Hub ids) answers from the adapter's files.
        """
        return model.base_model

    def live_hosting_cost(self, model: str, deploy: DeployConfig) -> HostingCost | None:
        """The hourly fee the service quotes now for hosting a model tuned from ``model`` with ``deploy``.

        A read that creates nothing, asked before a deployment is created so
        the question shows today's price; ``source`` says where it was read
        (e.g. the service's hardware list). None (the default): the service
        quotes no price, and :meth:`hosting_cost`'s dated table price is said.
        """
        return None

    def deploy(self, model: FineTunedModel, deploy: DeployConfig, run: RunContext) -> FineTunedModel:
        raise UnsupportedOperationError(self.name, "deploy", "models from this provider are served without deploying")

    def undeploy(self, model: FineTunedModel, run: RunContext) -> None:
        raise UnsupportedOperationError(self.name, "undeploy")

    def pause_deployment(self, model: FineTunedModel, run: RunContext) -> None:
        """Stop the deployment serving (and billing) while keeping it, so :meth:`resume_deployment` starts it again.

        Raise :class:`NotFoundError <tunekit.errors.NotFoundError>` when it no
        longer exists. The default: deployments of this provider cannot pause.
        """
        raise UnsupportedOperationError(
            self.name, "pausing a deployment", f"delete it with `tunekit undeploy {run.run_id}` to stop its billing"
        )

    def resume_deployment(self, model: FineTunedModel, run: RunContext) -> FineTunedModel:
        """Start a paused deployment again and wait until it answers; returns the model as served now."""
        raise UnsupportedOperationError(self.name, "resuming a deployment", "its deployments cannot pause")

    # -- model lifecycle (optional hooks) ---------------------------------------------------

    @classmethod
    def retirements(cls) -> list[Retirement]:
        """The shutdown dates this provider knows for its base models (a dated table it ships)."""
        return []

    @classmethod
    def base_model_of(cls, model_id: str) -> str:
        """The base model a tuned model id was trained from (``ft:gpt-4.1-mini-...:org::id`` → its snapshot)."""
        return model_id

    def refresh_retirements(self) -> list[Retirement]:
        """Shutdown dates the service reports through its API (network call; credentials needed)."""
        raise UnsupportedOperationError(self.name, "refresh retirements", "it reports no shutdown dates")

    def close(self) -> None:
        """Release clients and connections."""

    # -- what the data layer asks: optional hooks with defaults --------------------------
    # Class methods, so that validating and estimating need neither options nor credentials.

    @classmethod
    def limits(cls, model: str) -> Limits:
        """What this provider accepts for ``model``: example counts and kinds, token limit, suffix, epochs, models.

        Validation checks data against it and :meth:`check` refuses a config
        over it before anything is uploaded. The default reads :attr:`tables`, else knows no limit.
        """
        if cls.tables is not None:
            return table_limits(cls.tables, cls.name, model)
        return Limits()

    @classmethod
    def token_counter(cls, model: str) -> TokenCounter | None:
        """The exact token counter for ``model``; None: its Hugging Face tokenizer, or an estimate."""
        return None

    @classmethod
    def estimate_cost(cls, config: TuneConfig, stats: TokenStats, estimate: CostEstimate) -> CostEstimate:
        """Price a run: fill in ``estimate`` (tokens and epochs already set) with cost, time, memory and notes."""
        if cls.tables is not None:
            return table_training_cost(cls.tables, cls.name, config, estimate)
        estimate.notes.append(f"no cost model for provider {cls.name!r}")
        return estimate

    @classmethod
    def inference_price(cls, model: str, *, tuned: bool = False) -> tuple[float, float] | None:
        """(input, output) price per 1M tokens of ``model`` (of a model tuned from it when ``tuned``); None: unknown."""
        if cls.tables is not None:
            return table_inference_price(cls.tables, cls.name, model, tuned=tuned)
        return None

    @classmethod
    def hosting_cost(cls, model: str, deploy: DeployConfig | None) -> HostingCost | None:
        """What keeping a tuned ``model`` deployed costs with ``deploy``'s sku; None: no hosting to pay for."""
        return None
