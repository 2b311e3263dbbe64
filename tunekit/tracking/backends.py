"""The experiment trackers tunekit writes to: MLflow, Trackio and Weights & Biases.

Each backend is a small :class:`Tracker` that opens (or re-opens) one tracked
run per tunekit run and takes what the ledger holds: parameters, metric points,
evaluation results, report files. The libraries are imported only here, inside
the backend that needs them, so a config without ``tracking`` never pays for them.

Nothing secret is handed to a tracker: parameters come from the ledger's
redacted config, and every string passes :func:`tunekit.secrets.redact` on its
way out (:func:`clean_params`).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from tunekit.paths import tunekit_home
from tunekit.secrets import MASK, get_logger, redact

if TYPE_CHECKING:
    from tunekit.config import TrackingConfig

__all__ = [
    "BACKENDS",
    "MetricPoint",
    "MlflowTracker",
    "Tracker",
    "TrackioTracker",
    "WandbTracker",
    "clean_params",
    "create_tracker",
    "metric_key",
    "tracking_problems",
]

logger = get_logger("tunekit.tracking")


@dataclass(frozen=True)
class MetricPoint:
    """One metric event of the ledger: the values a step reported, when it reported them."""

    step: int
    values: Mapping[str, float]
    time: datetime


class Tracker(ABC):
    """One tracked run at one backend; every method may raise when the tracker is down."""

    backend: ClassVar[str]
    module: ClassVar[str]
    """The library to import; its absence is reported with :attr:`install`."""
    install: ClassVar[str]

    def __init__(self, settings: TrackingConfig) -> None:
        self.settings = settings

    @abstractmethod
    def open(self, run_id: str, tracked_id: str | None, params: Mapping[str, str], tags: Mapping[str, str]) -> str:
        """Start the tracked run (or re-open ``tracked_id``); returns its id at the backend."""

    @abstractmethod
    def log_metrics(self, points: Sequence[MetricPoint]) -> None:
        """Log training and validation metric points, in order."""

    @abstractmethod
    def log_results(self, values: Mapping[str, float], *, step: int) -> None:
        """Log evaluation results (``eval/<candidate>/<metric>``)."""

    @abstractmethod
    def log_files(self, folder: Path, *, name: str) -> None:
        """Upload a report folder's files as artifacts under ``name``."""

    @abstractmethod
    def close(self, status: str | None) -> None:
        """Mark the tracked run finished (``status``: succeeded, failed, cancelled) or just let go of it (None)."""

    def problems(self) -> list[str]:
        """What is missing before this backend can track (checked before anything is spent)."""
        return []

    @property
    def where(self) -> str:
        """Where the runs land, for messages."""
        return self.backend


# -- MLflow ----------------------------------------------------------------------------------------


class MlflowTracker(Tracker):
    """MLflow through ``MlflowClient``: a file store under ``$TUNEKIT_HOME/mlruns`` unless ``uri`` says otherwise."""

    backend = "mlflow"
    module = "mlflow"
    install = "pip install 'tunekit[mlflow]'"
    _BATCH = 1000  # MLflow's log_batch limit on metrics per call
    _PARAMS = 100  # and on params per call

    def __init__(self, settings: TrackingConfig) -> None:
        super().__init__(settings)
        self.uri = settings.uri or (tunekit_home() / "mlruns").as_uri()
        self._client: Any = None
        self._run: str | None = None

    @property
    def where(self) -> str:
        return f"mlflow ({self.uri})"

    def problems(self) -> list[str]:
        # tunekit[mlflow] brings both; a bare mlflow-skinny install has neither, and MLflow would fail on first use.
        database = self.uri.startswith(("sqlite:", "postgresql", "mysql", "mssql"))
        if database and any(importlib.util.find_spec(name) is None for name in ("sqlalchemy", "alembic")):
            return [f"tracking.uri: a database store needs SQLAlchemy and Alembic: {self.install}"]
        return []

    def _connect(self) -> Any:
        if self._client is None:
            from mlflow.tracking import MlflowClient

            if "://" not in self.uri or self.uri.startswith("file:"):
                # MLflow 3 keeps its file store only for those who opt in; tunekit's default store is one
                # (offline, no database packages), so choosing it is the opt-in.
                os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")

            self._client = MlflowClient(tracking_uri=self.uri)
        return self._client

    def open(self, run_id: str, tracked_id: str | None, params: Mapping[str, str], tags: Mapping[str, str]) -> str:
        from mlflow.entities import Param

        client = self._connect()
        if tracked_id is None:
            tracked_id = self._find(client, run_id)
        if tracked_id is not None:
            self._run = tracked_id
            return tracked_id
        experiment = client.get_experiment_by_name(self.settings.project)
        if experiment is None:
            experiment_id = client.create_experiment(self.settings.project, artifact_location=self._artifacts())
        else:
            experiment_id = experiment.experiment_id
        run = client.create_run(experiment_id, run_name=run_id, tags=dict(tags))
        self._run = str(run.info.run_id)
        items = [Param(key, value) for key, value in params.items()]
        for start in range(0, len(items), self._PARAMS):
            client.log_batch(self._run, params=items[start : start + self._PARAMS])
        return self._run

    def _find(self, client: Any, run_id: str) -> str | None:
        """A tracked run of this tunekit run made before its id was saved (a crash between the two)."""
        experiment = client.get_experiment_by_name(self.settings.project)
        if experiment is None:
            return None
        found = client.search_runs(
            [experiment.experiment_id], filter_string=f"tags.`tunekit.run_id` = '{run_id}'", max_results=1
        )
        return str(found[0].info.run_id) if found else None

    def _artifacts(self) -> str | None:
        # A database store has no folder of its own: keep artifacts beside the database, not in the working folder.
        if self.uri.startswith("sqlite:///"):
            return (Path(self.uri.removeprefix("sqlite:///")).parent / "mlartifacts").resolve().as_uri()
        return None

    def log_metrics(self, points: Sequence[MetricPoint]) -> None:
        from mlflow.entities import Metric

        metrics = [
            Metric(key, float(value), int(point.time.timestamp() * 1000), point.step)
            for point in points
            for key, value in point.values.items()
        ]
        for start in range(0, len(metrics), self._BATCH):
            self._connect().log_batch(self._opened(), metrics=metrics[start : start + self._BATCH])

    def log_results(self, values: Mapping[str, float], *, step: int) -> None:
        from mlflow.entities import Metric

        now = int(datetime.now().timestamp() * 1000)
        metrics = [Metric(key, float(value), now, step) for key, value in values.items()]
        self._connect().log_batch(self._opened(), metrics=metrics)

    def log_files(self, folder: Path, *, name: str) -> None:
        self._connect().log_artifacts(self._opened(), str(folder), artifact_path=name)

    def close(self, status: str | None) -> None:
        if status is not None and self._run is not None:
            mapped = {"succeeded": "FINISHED", "failed": "FAILED", "cancelled": "KILLED"}.get(status, "FINISHED")
            self._connect().set_terminated(self._run, status=mapped)
        self._run = None

    def _opened(self) -> str:
        assert self._run is not None, "open() first"
        return self._run


# -- Trackio ---------------------------------------------------------------------------------------


class TrackioTracker(Tracker):
    """Trackio in local mode: one SQLite database per project in ``TRACKIO_DIR`` (default ``$TUNEKIT_HOME/trackio``)."""

    backend = "trackio"
    module = "trackio"
    install = "pip install 'tunekit[trackio]'"

    def __init__(self, settings: TrackingConfig) -> None:
        super().__init__(settings)
        self._run: Any = None

    def open(self, run_id: str, tracked_id: str | None, params: Mapping[str, str], tags: Mapping[str, str]) -> str:
        # Offline by default under TUNEKIT_HOME, as MLflow's store is; Trackio reads TRACKIO_DIR once, on import.
        os.environ.setdefault("TRACKIO_DIR", str(tunekit_home() / "trackio"))
        import trackio

        # The run's name is its id: "allow" re-opens the same Trackio run after a restart.
        with _quiet():
            self._run = trackio.init(
                project=self.settings.project, name=run_id, config={**params, **tags}, resume="allow"
            )
        return run_id

    def log_metrics(self, points: Sequence[MetricPoint]) -> None:
        for point in points:
            self._opened().log(dict(point.values), step=point.step)

    def log_results(self, values: Mapping[str, float], *, step: int) -> None:
        self._opened().log(dict(values), step=step)

    def log_files(self, folder: Path, *, name: str) -> None:
        # Trackio keeps numbers, not files: the report stays in the run folder (its path is a parameter).
        return None

    def close(self, status: str | None) -> None:
        if self._run is not None:
            import trackio
            from trackio import context_vars

            with _quiet():
                if context_vars.current_run.get() is self._run:
                    trackio.finish()  # type: ignore[no-untyped-call]  # also forgets it, so Trackio's exit hook does not finish it a second time
                else:
                    self._run.finish()
        self._run = None

    def _opened(self) -> Any:
        assert self._run is not None, "open() first"
        return self._run


# -- Weights & Biases ------------------------------------------------------------------------------


class WandbTracker(Tracker):
    """W&B through ``wandb``; the key comes from ``WANDB_API_KEY`` or ``wandb login``, never from the config.

    Offline (``WANDB_MODE=offline`` or ``wandb offline``) needs no key and no network: each time tunekit
    opens the run, W&B writes a folder under ``wandb/`` (``WANDB_DIR``) that ``wandb sync`` uploads later.
    """

    backend = "wandb"
    module = "wandb"
    install = "pip install 'tunekit[wandb]'"

    def __init__(self, settings: TrackingConfig) -> None:
        super().__init__(settings)
        self._run: Any = None
        self._where = "wandb"

    @property
    def where(self) -> str:
        return self._where

    def problems(self) -> list[str]:
        mode, host = _wandb_mode()
        if mode in ("offline", "dryrun", "disabled") or _wandb_key_found(host):
            return []
        return [
            "tracking.backend: wandb needs a key: set WANDB_API_KEY or run `wandb login` "
            "(or work offline: WANDB_MODE=offline, or `wandb offline`)"
        ]

    def open(self, run_id: str, tracked_id: str | None, params: Mapping[str, str], tags: Mapping[str, str]) -> str:
        import wandb

        with _quiet():  # W&B's process-wide notices (a Weave suggestion when openai is imported) go to the log
            self._run = wandb.init(
                project=self.settings.project,
                entity=self.settings.entity,
                name=run_id,
                id=tracked_id or _wandb_id(run_id),
                resume="allow",
                config=dict(params),
                tags=[f"{k}:{v}" for k, v in tags.items()],
                reinit="create_new",
                # tunekit's own output is not the run's: W&B would copy the terminal (every -vv log line) into
                # the run. Its banner would interleave with tunekit's lines; `where` says where the run went.
                settings=wandb.Settings(console="off", silent=True),
            )
        if self._run.settings._offline:
            folder = self._run.settings.sync_dir
            self._where = f"wandb (offline, {folder}; upload with `wandb sync {Path(folder).parent}`)"
        else:
            self._where = f"wandb ({self._run.url})"
        return str(self._run.id)

    def log_metrics(self, points: Sequence[MetricPoint]) -> None:
        for point in points:
            self._opened().log(dict(point.values), step=point.step)

    def log_results(self, values: Mapping[str, float], *, step: int) -> None:
        self._opened().summary.update(dict(values))

    def log_files(self, folder: Path, *, name: str) -> None:
        import wandb

        artifact = wandb.Artifact(name=_wandb_id(name), type="evaluation")
        artifact.add_dir(str(folder))
        self._opened().log_artifact(artifact)

    def close(self, status: str | None) -> None:
        if self._run is not None:
            self._run.finish(exit_code=0 if status in (None, "succeeded") else 1)
        self._run = None

    def _opened(self) -> Any:
        assert self._run is not None, "open() first"
        return self._run


def _wandb_mode() -> tuple[str, str | None]:
    """W&B's mode and server as ``wandb.init`` will see them: its settings files (``wandb offline`` writes
    ``./wandb/settings``), then ``WANDB_*`` variables. Read without starting W&B's service."""
    import wandb

    try:
        settings = wandb.Settings(quiet=True)
        folder = os.environ.get("WANDB_CONFIG_DIR")
        settings.settings_system = str(Path(folder) / "settings" if folder else Path.home() / ".config/wandb/settings")
        settings.update_from_system_settings()
        settings.update_from_env_vars(dict(os.environ))
        return str(settings.mode), str(settings.base_url)
    except (AttributeError, TypeError, ValueError):  # another wandb release: its variable still says
        return os.environ.get("WANDB_MODE", "online"), None


def _wandb_key_found(host: str | None) -> bool:
    if os.environ.get("WANDB_API_KEY") or os.environ.get("WANDB_IDENTITY_TOKEN_FILE"):
        return True
    if host is not None:
        try:
            from wandb.sdk.lib.wbauth.wbnetrc import read_netrc_auth

            return read_netrc_auth(host=host) is not None
        except Exception:  # another wandb release, or a key W&B finds malformed (wandb.init will say so)
            pass
    netrc = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    return netrc.is_file() and "wandb" in netrc.read_text(encoding="utf-8", errors="ignore")


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """A library that prints (Trackio's progress lines, W&B's notices) says it in tunekit's log instead."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        yield
    if out.getvalue().strip():
        logger.debug("%s", redact(out.getvalue().strip()))


def _wandb_id(text: str) -> str:
    # W&B ids and artifact names allow letters, digits, '-', '_' and '.'; run ids already fit, keep it so.
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in text)[:128]


BACKENDS: dict[str, type[Tracker]] = {
    MlflowTracker.backend: MlflowTracker,
    TrackioTracker.backend: TrackioTracker,
    WandbTracker.backend: WandbTracker,
}


def create_tracker(settings: TrackingConfig) -> Tracker:
    return BACKENDS[settings.backend](settings)


def tracking_problems(settings: TrackingConfig | None) -> list[str]:
    """What keeps ``settings`` from tracking (library not installed, no key), as ``"path: message"`` lines."""
    if settings is None:
        return []
    kind = BACKENDS[settings.backend]
    if importlib.util.find_spec(kind.module) is None:
        return [f"tracking.backend: {kind.backend} is not installed: {kind.install}"]
    return create_tracker(settings).problems()


def metric_key(*parts: str) -> str:
    """A metric name every backend accepts (MLflow: letters, digits, ``_-. :/``), parts joined by ``/``."""
    return "/".join(re.sub(r"[^A-Za-z0-9_\-. :]", "", part.replace("=", "")).strip() for part in parts)


def clean_params(config: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """A redacted config flattened to ``section.key: value`` strings; masked values are left out entirely."""
    flat: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(clean_params(value, f"{name}."))
        elif value is None or value == MASK:
            continue
        else:
            text = redact(str(value) if not isinstance(value, (list, tuple)) else ",".join(map(str, value)))
            if MASK not in text:
                flat[name] = text[:500]
    return flat
