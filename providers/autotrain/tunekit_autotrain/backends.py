"""Where the container runs: an HF Job (default), or a private Docker Space as AutoTrain's own backend does.

Both launch the same container with the same inputs (AutoTrain's ``PARAMS``
and friends, or ``trl`` arguments), can be found again by the run id, report
a raw stage, stream logs and stop.
"""

from __future__ import annotations

import io
import json
import re
import shlex
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from tunekit.plugin import NotFoundError, get_logger
from tunekit_autotrain.hub import HubConnection

__all__ = ["RUN_ID_LABEL", "Backend", "JobsBackend", "Launch", "Remote", "SpacesBackend", "backend_for", "label_value"]

logger = get_logger("tunekit.autotrain")

RUN_ID_LABEL = "tunekit-run-id"
"""The job label (and Space variable) carrying the tunekit run id."""
RUN_ID_ENV = "TUNEKIT_RUN_ID"
CANCELLED_VARIABLE = "TUNEKIT_STATE"
MODEL_VARIABLE = "TUNEKIT_BASE_MODEL"
AUTOTRAIN_TASK_ID = "9"
"""AutoTrain's task id for LLM training."""

_LABEL_BAD = re.compile(r"[^A-Za-z0-9_-]")


def label_value(run_id: str) -> str:
    """A run id as a job label value (letters, digits, '-' and '_', at most 100)."""
    return _LABEL_BAD.sub("-", run_id)[:100]


@dataclass
class Launch:
    """Everything a container needs to train one run."""

    run_id: str
    namespace: str
    project: str
    model_repo: str
    dataset_repo: str
    params: dict[str, Any]
    runner: str
    image: str
    flavor: str
    timeout: str | int
    trl_args: list[str]

    def env(self) -> dict[str, str]:
        """AutoTrain's own variables (its Space backend sets the same); the token goes as a secret."""
        return {
            "PARAMS": json.dumps(self.params, default=str),
            "PROJECT_NAME": self.project,
            "TASK_ID": AUTOTRAIN_TASK_ID,
            "AUTOTRAIN_USERNAME": self.namespace,
            "DATA_PATH": self.dataset_repo,
            "MODEL": str(self.params["model"]),
            RUN_ID_ENV: self.run_id,
        }

    def command(self) -> list[str]:
        if self.runner == "trl":
            trainer = "dpo" if self.params["trainer"] == "dpo" else "sft"
            return ["trl", trainer, *self.trl_args]
        precision = self.params.get("mixed_precision") or "no"
        config = f"{self.project}/training_params.json"
        script = (
            f"mkdir -p {shlex.quote(self.project)} && printf '%s' \"$PARAMS\" > {shlex.quote(config)} && "
            f"accelerate launch --num_machines 1 --num_processes 1 --mixed_precision {shlex.quote(precision)} "
            f"-m autotrain.trainers.clm --training_config {shlex.quote(config)}"
        )
        return ["bash", "-c", script]


@dataclass(frozen=True)
class Remote:
    """A launched container as the backend sees it."""

    job_id: str
    created_at: datetime | None
    stage: str
    message: str | None = None
    cancelled: bool = False
    model: str | None = None
    """The base model, as the container was told."""


class Backend(Protocol):
    name: str

    def launch(self, launch: Launch) -> Remote: ...

    def find(self, run_id: str, namespace: str, project: str) -> Remote | None: ...

    def inspect(self, job_id: str, namespace: str) -> Remote: ...

    def logs(self, job_id: str, namespace: str) -> list[str]: ...

    def cancel(self, job_id: str, namespace: str) -> None: ...


class JobsBackend:
    """HF Jobs: ``run_job`` with the run id as a label; ``list_jobs`` finds it again."""

    name = "jobs"

    def __init__(self, hub: HubConnection) -> None:
        self.hub = hub

    @staticmethod
    def _remote(info: Any) -> Remote:
        return Remote(
            job_id=str(info.id),
            created_at=info.created_at,
            stage=_stage(info),
            message=info.status.message,
            model=(info.environment or {}).get("MODEL"),
        )

    def launch(self, launch: Launch) -> Remote:
        api = self.hub.api
        labels = {RUN_ID_LABEL: label_value(launch.run_id)}

        def send() -> Remote:
            info = api.run_job(
                image=launch.image,
                command=launch.command(),
                env=launch.env(),
                secrets={"HF_TOKEN": self.hub.token},
                flavor=launch.flavor,
                timeout=launch.timeout,
                labels=labels,
                name=f"tunekit-{launch.project}",
                namespace=launch.namespace,
            )
            return self._remote(info)

        return self.hub.create("run job", send, lambda: self.find(launch.run_id, launch.namespace, launch.project))

    def find(self, run_id: str, namespace: str, project: str) -> Remote | None:
        api = self.hub.api

        def scan() -> list[Any]:
            found = api.list_jobs(labels={RUN_ID_LABEL: label_value(run_id)}, namespace=namespace)
            # The run id is checked again in the environment: a label is shortened and may collide.
            return [job for job in found if (job.environment or {}).get(RUN_ID_ENV, run_id) == run_id]

        jobs = [job for job in self.hub.call(scan) if _stage(job) != "DELETED"]
        if not jobs:
            return None
        jobs.sort(key=lambda job: job.created_at or datetime.min)
        if len(jobs) > 1:
            logger.warning("run %s has %d jobs (%s); following the first", run_id, len(jobs), [j.id for j in jobs])
        return self._remote(jobs[0])

    def inspect(self, job_id: str, namespace: str) -> Remote:
        return self._remote(self.hub.call(self.hub.api.inspect_job, job_id=job_id, namespace=namespace))

    def logs(self, job_id: str, namespace: str) -> list[str]:
        api = self.hub.api
        return self.hub.call(lambda: list(api.fetch_job_logs(job_id=job_id, namespace=namespace)))

    def cancel(self, job_id: str, namespace: str) -> None:
        self.hub.call(self.hub.api.cancel_job, job_id=job_id, namespace=namespace)


_DOCKERFILE = """FROM huggingface/autotrain-advanced:latest

CMD autotrain api --port 7860 --host 0.0.0.0
"""


def _readme(project: str) -> str:
    return (
        f"---\ntitle: {project}\nemoji: 🚀\ncolorFrom: green\ncolorTo: indigo\nsdk: docker\npinned: false\n"
        "tags:\n- autotrain\n- tunekit\n---\n"
    )


class SpacesBackend:
    """AutoTrain's Space protocol: a private Docker Space with the run's secrets; AutoTrain pauses it when done."""

    name = "spaces"

    def __init__(self, hub: HubConnection, *, private: bool = True) -> None:
        self.hub = hub
        self.private = private

    @staticmethod
    def space_id(namespace: str, project: str) -> str:
        return f"{namespace}/autotrain-{project}"

    def launch(self, launch: Launch) -> Remote:
        # Every step is idempotent (exist_ok, secrets overwritten, identical files not committed again),
        # so a retried launch completes a half-made Space instead of making another.
        from huggingface_hub import CommitOperationAdd

        api = self.hub.api
        space = self.space_id(launch.namespace, launch.project)
        self.hub.call(
            api.create_repo,
            space,
            repo_type="space",
            space_sdk="docker",
            space_hardware=launch.flavor,
            private=True,
            exist_ok=True,
        )
        secrets = {"HF_TOKEN": self.hub.token, **{k: v for k, v in launch.env().items() if k != RUN_ID_ENV}}
        for key, value in secrets.items():
            self.hub.call(api.add_space_secret, space, key, value)
        self.hub.call(api.add_space_variable, space, RUN_ID_ENV, launch.run_id)
        self.hub.call(api.add_space_variable, space, MODEL_VARIABLE, str(launch.params["model"]))
        # The run file makes every run a new commit: a Space reused by a later run (same project) rebuilds
        # with the new secrets, and the commit's time tells its model files from the earlier run's.
        run_file = json.dumps({"run_id": launch.run_id, "model_repo": launch.model_repo}, indent=2) + "\n"
        files = [
            CommitOperationAdd("README.md", io.BytesIO(_readme(launch.project).encode())),
            CommitOperationAdd("Dockerfile", io.BytesIO(_DOCKERFILE.encode())),
            CommitOperationAdd("tunekit-run.json", io.BytesIO(run_file.encode())),
        ]
        self.hub.call(
            lambda: api.create_commit(space, files, commit_message="AutoTrain Space (tunekit)", repo_type="space")
        )
        return self.inspect(space, launch.namespace)

    def find(self, run_id: str, namespace: str, project: str) -> Remote | None:
        """The run's Space, once its launch got as far as committing the Dockerfile."""
        api = self.hub.api
        space = self.space_id(namespace, project)
        try:
            variables = self.hub.call(api.get_space_variables, space)
        except NotFoundError:
            return None
        found = variables.get(RUN_ID_ENV)
        if found is None or found.value != run_id:
            return None
        files = self.hub.call(api.list_repo_files, space, repo_type="space")
        return self.inspect(space, namespace) if "Dockerfile" in files else None

    def inspect(self, job_id: str, namespace: str) -> Remote:
        api = self.hub.api
        runtime = self.hub.call(api.get_space_runtime, job_id)
        variables = self.hub.call(api.get_space_variables, job_id)
        commits = self.hub.call(api.list_repo_commits, job_id, repo_type="space")
        state = variables.get(CANCELLED_VARIABLE)
        model = variables.get(MODEL_VARIABLE)
        return Remote(
            job_id=job_id,
            created_at=commits[0].created_at if commits else None,
            stage=str(getattr(runtime.stage, "value", runtime.stage)),
            message=runtime.raw.get("errorMessage"),
            cancelled=state is not None and state.value == "cancelled",
            model=model.value if model is not None else None,
        )

    def logs(self, job_id: str, namespace: str) -> list[str]:
        api = self.hub.api
        return self.hub.call(lambda: list(api.fetch_space_logs(job_id)))

    def cancel(self, job_id: str, namespace: str) -> None:
        api = self.hub.api
        self.hub.call(api.add_space_variable, job_id, CANCELLED_VARIABLE, "cancelled")
        self.hub.call(api.pause_space, job_id)


def _stage(info: Any) -> str:
    stage = info.status.stage
    return str(getattr(stage, "value", stage))


def backend_for(name: str, hub: HubConnection, *, private: bool = True) -> JobsBackend | SpacesBackend:
    return SpacesBackend(hub, private=private) if name == "spaces" else JobsBackend(hub)
