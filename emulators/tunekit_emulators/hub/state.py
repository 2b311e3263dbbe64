"""The whole emulated Hub: accounts, repositories, HF Jobs and Spaces, behind one lock.

Route handlers and the Python control handle both go through :class:`HubState`;
every public method takes the lock, so a test thread and the server thread
never see half a transition.
"""

from __future__ import annotations

import hashlib
import random
import string
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from tunekit_emulators.hub.container import OUTCOMES, ContainerPlan, Outcome, plan_container
from tunekit_emulators.hub.runs import Phase, Run
from tunekit_emulators.hub.store import HubError, HubRepo, HubUser, RepoStore, iso
from tunekit_emulators.lifecycle import Lifecycle

__all__ = ["HubJob", "HubState", "SpaceRun"]


@dataclass
class HubJob:
    """An HF Job: its spec as posted, its labels, and the container run behind it."""

    id: str
    namespace: str
    owner: HubUser
    spec: dict[str, Any]
    run: Run
    deleted: bool = False

    @property
    def labels(self) -> dict[str, str]:
        labels = self.spec.get("labels") or {}
        return {str(k): str(v) for k, v in labels.items()}

    @property
    def stage(self) -> Phase:
        return "DELETED" if self.deleted else self.run.phase

    def to_json(self) -> dict[str, Any]:
        run = self.run
        now = run.clock()
        scheduling = ((run.started_at or now) - run.created_at).total_seconds()
        running = ((run.finished_at or now) - run.started_at).total_seconds() if run.started_at else None
        data: dict[str, Any] = {
            "id": self.id,
            "createdAt": iso(run.created_at),
            "startedAt": iso(run.started_at) if run.started_at else None,
            "finishedAt": iso(run.finished_at) if run.finished_at else None,
            "command": self.spec.get("command"),
            "arguments": self.spec.get("arguments", []),
            "environment": self.spec.get("environment", {}),
            # Secret values are write-only on the Hub: only their names come back.
            "secrets": {key: None for key in self.spec.get("secrets") or {}},
            "flavor": self.spec.get("flavor"),
            "labels": self.labels or None,
            "status": {"stage": self.stage, "message": run.message},
            "owner": {"id": _account_id(self.namespace), "name": self.namespace, "type": _account_type(self)},
            "initiator": {"type": "user", "id": _account_id(self.owner.name), "name": self.owner.name},
            "durations": {
                "schedulingSecs": int(scheduling),
                "runningSecs": int(running) if running is not None else None,
                "totalSecs": int(((run.finished_at or now) - run.created_at).total_seconds()),
            },
        }
        if "spaceId" in self.spec:
            data["spaceId"] = self.spec["spaceId"]
        else:
            data["dockerImage"] = self.spec.get("dockerImage")
        if "timeoutSeconds" in self.spec:
            data["timeoutSeconds"] = self.spec["timeoutSeconds"]
        return data


def _account_id(name: str) -> str:
    return hashlib.sha1(f"account:{name}".encode()).hexdigest()[:24]


def _account_type(job: HubJob) -> str:
    return "user" if job.namespace == job.owner.name else "org"


@dataclass
class SpaceRun:
    """A Space's runtime: built from its Dockerfile, run with its secrets, paused when AutoTrain ends."""

    repo_id: str
    run: Run | None = None
    paused: bool = False
    build_logs: list[str] = field(default_factory=list)

    def stage(self, repo: HubRepo) -> str:
        if self.paused and (self.run is None or self.run.terminal):
            return "PAUSED"
        run = self.run
        if run is None:
            return "NO_APP_FILE" if "Dockerfile" not in repo.files and repo.sdk == "docker" else "BUILDING"
        if run.phase == "SCHEDULING":
            return "BUILDING"
        if run.phase == "RUNNING":
            return "RUNNING"
        if run.phase == "ERROR":
            return "RUNTIME_ERROR"
        if run.phase == "COMPLETED" and run.plan.runner == "autotrain":
            return "PAUSED"
        return "STOPPED" if run.phase == "COMPLETED" else "PAUSED"


@dataclass
class _JobDefaults:
    outcome: Outcome = "success"
    message: str | None = None
    losses: list[float] | None = None


class HubState:
    """Accounts, repositories, jobs and spaces of one emulator instance."""

    def __init__(
        self,
        *,
        namespace: str = "tunekit-user",
        token: str | None = None,
        orgs: Sequence[str] = (),
        lifecycle: Lifecycle | None = None,
        seed: int = 0,
    ) -> None:
        self.lock = threading.RLock()
        self.seed = seed
        self.lifecycle = lifecycle or Lifecycle()
        self._initial = (namespace, token, tuple(orgs))
        self.store = RepoStore(self.clock)
        self.users: dict[str, HubUser] = {}
        self.jobs: dict[str, HubJob] = {}
        self.spaces: dict[str, SpaceRun] = {}
        self.defaults = _JobDefaults()
        self.job_overrides: dict[str, _JobDefaults] = {}
        self.endpoints: dict[tuple[str, str], dict[str, Any]] = {}
        """Inference Endpoints by (namespace, name): the API's raw record, as ``GET`` answers it."""
        self.failing_endpoints: set[str] = set()
        """Endpoint names that fail to start (a test's switch)."""
        self.reset()

    def clock(self) -> datetime:
        """Now, by the lifecycle's clock (a test may drive it)."""
        return datetime.fromtimestamp(self.lifecycle.now(), timezone.utc)

    def reset(self) -> None:
        """Forget every repository, job and space; keep the configured account and lifecycle."""
        with self.lock:
            self.rng = random.Random(self.seed)
            namespace, token, orgs = self._initial
            token = token or "hf_" + "".join(self.rng.choice(string.ascii_letters + string.digits) for _ in range(34))
            self.store.reset()
            self.users = {}
            self.user = self.add_user(namespace, token, orgs=orgs)
            self.jobs.clear()
            self.spaces.clear()
            self.defaults = _JobDefaults()
            self.job_overrides.clear()
            self.endpoints.clear()
            self.failing_endpoints.clear()

    def add_user(self, name: str, token: str, *, orgs: Sequence[str] = (), role: str = "write") -> HubUser:
        with self.lock:
            user = HubUser(name=name, token=token, orgs=tuple(orgs), fullname=name.title(), role=role)  # type: ignore[arg-type]
            self.users[token] = user
            return user

    def authenticate(self, authorization: str | None) -> HubUser | None:
        """The caller of a request, ``None`` when anonymous; a bad token is a 401 as on the Hub."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise HubError(401, "Invalid credentials in Authorization header")
        user = self.users.get(token.strip())
        if user is None:
            raise HubError(401, "Invalid credentials in Authorization header")
        return user

    def new_id(self) -> str:
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(24))

    # -- the container's side of the Hub -------------------------------------------------------

    def dataset_rows(self, plan: ContainerPlan) -> int:
        user = self.users.get(plan.token or "")
        if plan.token and user is None:
            raise HubError(401, "Invalid credentials in Authorization header")
        if not plan.dataset:
            raise HubError(404, "No dataset given", "RepoNotFound")
        repo = self.store.get("dataset", plan.dataset, user)
        split = plan.train_split
        names = sorted(p for p in repo.files if p.rsplit("/", 1)[-1].split(".", 1)[0].split("-", 1)[0] == split)
        if not names:
            splits = sorted({p.rsplit("/", 1)[-1].split(".", 1)[0] for p in repo.files if not p.startswith(".")})
            raise HubError(404, f'Unknown split "{split}". Should be one of {splits}.', "UnknownSplit")
        rows = 0
        for name in names:
            content = repo.files[name].content
            if name.endswith((".jsonl", ".json")):
                rows += sum(1 for line in content.splitlines() if line.strip())
            elif name.endswith((".csv", ".tsv")):
                rows += max(0, len([line for line in content.splitlines() if line.strip()]) - 1)
            else:
                rows += 100
        return rows

    def push_model(self, plan: ContainerPlan, files: dict[str, bytes]) -> None:
        user = self.users.get(plan.token or "")
        if user is None:
            raise HubError(401, "Invalid credentials in Authorization header")
        repo_id = plan.target_repo or ""
        repo = self.store.find("model", repo_id)
        if repo is None:
            repo = self.store.create("model", repo_id, user, private=True)
        elif not user.may_write(repo.namespace):
            raise HubError(403, f"You don't have the rights to write to models/{repo_id}")
        self.store.commit(repo, files, [], title="Upload folder using huggingface_hub", author=user.name)

    # -- runs ------------------------------------------------------------------------------------

    def _defaults_for(self, job_id: str | None) -> _JobDefaults:
        if job_id is not None and job_id in self.job_overrides:
            return self.job_overrides[job_id]
        return self.defaults

    def new_run(self, plan: ContainerPlan, *, space: bool, timeout_s: float | None, key: str) -> Run:
        defaults = self._defaults_for(key)
        return Run(
            plan,
            host=self,
            lifecycle=self.lifecycle,
            rng=random.Random(f"{self.seed}:{key}"),
            clock=self.clock,
            outcome=defaults.outcome,
            message=defaults.message,
            losses=defaults.losses,
            space=space,
            timeout_s=timeout_s,
        )

    def create_job(self, namespace: str, owner: HubUser, spec: dict[str, Any]) -> tuple[HubJob, dict[str, Any]]:
        """Start a job; returns it and its JSON as of creation (SCHEDULING)."""
        with self.lock:
            job_id = self.new_id()
            image = str(spec.get("dockerImage") or spec.get("spaceId") or "")
            plan = plan_container(
                image=image,
                command=[str(c) for c in spec.get("command") or []] + [str(a) for a in spec.get("arguments") or []],
                env={str(k): str(v) for k, v in (spec.get("environment") or {}).items()},
                secrets={str(k): str(v) for k, v in (spec.get("secrets") or {}).items()},
            )
            timeout = spec.get("timeoutSeconds")
            run = self.new_run(plan, space=False, timeout_s=float(timeout) if timeout else None, key=job_id)
            job = HubJob(id=job_id, namespace=namespace, owner=owner, spec=spec, run=run)
            self.jobs[job_id] = job
            return job, job.to_json()

    def settle(self) -> None:
        """Apply what the lifecycle says: timed runs catch up, immediate ones finish."""
        with self.lock:
            runs = [job.run for job in self.jobs.values()] + [s.run for s in self.spaces.values() if s.run]
            for run in runs:
                if self.lifecycle.mode == "immediate":
                    run.finish()
                else:
                    run.tick()

    def job(self, job_id: str) -> HubJob:
        with self.lock:
            job = self.jobs.get(job_id)
            if job is None:
                raise HubError(404, f"Job {job_id} not found")
            return job

    def set_outcome(
        self,
        outcome: Outcome,
        *,
        job_id: str | None = None,
        message: str | None = None,
        losses: Sequence[float] | None = None,
    ) -> None:
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
        with self.lock:
            current = self._defaults_for(job_id)
            chosen = _JobDefaults(outcome, message, list(losses) if losses else current.losses)
            if job_id is None:
                self.defaults = chosen
                return
            self.job_overrides[job_id] = chosen
            run = self._run_for(job_id)
            run.outcome, run.outcome_message = outcome, message
            if losses:
                run.losses = list(losses)

    def seed_losses(self, losses: Sequence[float], *, job_id: str | None = None) -> None:
        with self.lock:
            if job_id is None:
                self.defaults.losses = list(losses)
            else:
                run = self._run_for(job_id)
                run.losses = list(losses)
                if run.script is not None:
                    run.script.losses = list(losses) + [losses[-1]] * max(0, len(run.script.steps) - len(losses))

    def _run_for(self, key: str) -> Run:
        if key in self.jobs:
            return self.jobs[key].run
        space = self.spaces.get(key)
        if space is not None and space.run is not None:
            return space.run
        raise HubError(404, f"no job or space run {key!r}")

    def advance(
        self, key: str, to: Phase | None = None, *, progress: float | None = None, message: str | None = None
    ) -> Phase:
        """Move a job (by id) or a Space's run (by repo id) along; returns its new phase."""
        if to is not None and to not in ("SCHEDULING", "RUNNING", "COMPLETED", "ERROR", "CANCELED"):
            raise HubError(400, f"cannot advance to {to!r}: use RUNNING, COMPLETED, ERROR or CANCELED")
        with self.lock:
            run = self._run_for(key)
            run.advance(to, progress=progress, message=message)
            return run.phase

    # -- spaces ------------------------------------------------------------------------------------

    def start_space(self, repo: HubRepo) -> SpaceRun:
        """(Re)build and start a Space's container from its current secrets."""
        with self.lock:
            space = self.spaces.setdefault(repo.repo_id, SpaceRun(repo.repo_id))
            if space.run is not None and not space.run.terminal:
                space.run.cancel()
            secrets = {k: v[0] for k, v in repo.secrets.items()}
            variables = {k: v[0] for k, v in repo.variables.items()}
            dockerfile = repo.files.get("Dockerfile")
            image = dockerfile.content.decode(errors="replace") if dockerfile else ""
            plan = plan_container(image=image, command=[], env=variables, secrets=secrets)
            space.run = self.new_run(plan, space=True, timeout_s=None, key=repo.repo_id)
            space.paused = False
            space.build_logs = [
                "===== Build Queued =====",
                "--> FROM docker.io/huggingface/autotrain-advanced:latest",
                "--> Pushing image",
                "DONE 0.1s",
            ]
            return space

    def space_runtime(self, repo: HubRepo) -> dict[str, Any]:
        space = self.spaces.get(repo.repo_id) or SpaceRun(repo.repo_id)
        stage = space.stage(repo)
        running = stage in ("RUNNING", "RUNNING_BUILDING", "APP_STARTING")
        error = space.run.message if space.run is not None and stage == "RUNTIME_ERROR" else None
        data: dict[str, Any] = {
            "stage": stage,
            "hardware": {"current": repo.hardware if running else None, "requested": repo.hardware},
            "gcTimeout": None,
            "storage": None,
            "devMode": False,
            "domains": [{"domain": f"{repo.repo_id.replace('/', '-')}.hf.space", "stage": "READY"}],
            "sha": repo.sha,
        }
        if error:
            data["errorMessage"] = error
        return data
