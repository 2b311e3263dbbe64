"""The Python handle on a running Hugging Face Hub emulator.

::

    with HubEmulator(lifecycle="manual") as hub:
        api = HfApi(endpoint=hub.endpoint, token=hub.token)
        job = api.run_job(image="huggingface/autotrain-advanced:latest", command=[...], namespace=hub.namespace)
        hub.advance(job.id)                 # SCHEDULING -> RUNNING
        hub.advance(job.id, progress=0.5)   # half the training log lines
        hub.advance(job.id)                 # -> COMPLETED, adapter pushed to the model repo

``HfApi`` is the real client: everything goes over HTTP on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from tunekit.testing.faults import Fault, FaultRule, RecordedRequest
from tunekit.testing.hub.app import build_app
from tunekit.testing.hub.container import Outcome
from tunekit.testing.hub.control_routes import snapshot
from tunekit.testing.hub.runs import Lifecycle, Phase
from tunekit.testing.hub.state import HubState
from tunekit.testing.server import EmulatorServer

if TYPE_CHECKING:
    from huggingface_hub import HfApi

__all__ = ["HubEmulator"]


class _HubServer(EmulatorServer):
    """uvicorn without its own ``Date`` header: it is refreshed once a second, and the Hub's log
    replay (which stops at the first line logged after ``Date``) needs the exact time the routes set."""

    def _make_server(self) -> Any:
        server = super()._make_server()
        server.config.date_header = False
        return server


class HubEmulator:
    """An in-process Hugging Face Hub: repositories, uploads, HF Jobs, Spaces and chat inference.

    ``lifecycle`` is ``"immediate"`` (a job ends on the first look after its
    creation), ``"manual"`` (only :meth:`advance` moves it) or ``"timed"``
    (``scheduling_s`` then ``running_s`` seconds). ``seed`` makes ids, tokens
    and loss curves repeatable.
    """

    def __init__(
        self,
        *,
        lifecycle: Lifecycle | str = "immediate",
        seed: int = 0,
        namespace: str = "tunekit-user",
        token: str | None = None,
        orgs: Sequence[str] = (),
        scheduling_s: float | None = None,
        running_s: float | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        log_idle_close_s: float = 0.3,
        access_log: bool = False,
    ) -> None:
        mode = Lifecycle.parse(lifecycle)
        if scheduling_s is not None or running_s is not None:
            mode = Lifecycle(
                mode.mode,
                scheduling_s if scheduling_s is not None else mode.scheduling_s,
                running_s if running_s is not None else mode.running_s,
            )
        self.state = HubState(namespace=namespace, token=token, orgs=orgs, lifecycle=mode, seed=seed)
        self.faults = build_app(self.state, log_idle_close_s=log_idle_close_s, seed=seed)
        self.server = _HubServer(self.faults, host=host, port=port, access_log=access_log)

    def __repr__(self) -> str:
        where = self.server.url if self.server.running else "stopped"
        return f"HubEmulator({where}, lifecycle={self.state.lifecycle.mode!r})"

    # -- running ------------------------------------------------------------------------------------

    def start(self) -> HubEmulator:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> HubEmulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Serve in the calling thread (``tunekit emulate hub``)."""
        self.server.serve_forever()

    # -- what a client needs ------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        """Pass as ``HfApi(endpoint=...)`` or ``HF_ENDPOINT``."""
        return self.server.url

    @property
    def token(self) -> str:
        return self.state.user.token

    @property
    def namespace(self) -> str:
        return self.state.user.name

    def inference_url(self, model: str) -> str:
        """``InferenceClient(base_url=...)`` for chatting with ``model`` through the emulator."""
        return f"{self.endpoint}/models/{model}"

    def api(self) -> HfApi:
        """A real ``HfApi`` on this emulator with its token."""
        from huggingface_hub import HfApi

        return HfApi(endpoint=self.endpoint, token=self.token)

    def add_user(self, name: str, token: str, *, orgs: Sequence[str] = (), role: str = "write") -> None:
        """Another account (``role="read"`` for a read-only token)."""
        self.state.add_user(name, token, orgs=orgs, role=role)

    # -- looking ------------------------------------------------------------------------------------

    def jobs(self, *, labels: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Every job as the Jobs API shows it (oldest first), optionally filtered by labels."""
        jobs = snapshot(self.state)["jobs"]
        if labels:
            jobs = [j for j in jobs if all((j.get("labels") or {}).get(k) == v for k, v in labels.items())]
        return list(jobs)

    def job(self, job_id: str) -> dict[str, Any]:
        with self.state.lock:
            self.state.settle()
            return self.state.job(job_id).to_json("")

    def job_logs(self, job_id: str) -> list[str]:
        with self.state.lock:
            self.state.settle()
            return [line.text for line in self.state.job(job_id).run.logs]

    def repos(self, repo_type: str | None = None) -> list[dict[str, Any]]:
        """Repositories with their file lists (``type``, ``id``, ``private``, ``sha``, ``files``)."""
        repos = snapshot(self.state)["repos"]
        return [r for r in repos if repo_type is None or r["type"] == repo_type]

    def files(self, repo_id: str, repo_type: str = "model") -> dict[str, bytes]:
        """The files of a repository, by path."""
        with self.state.lock:
            self.state.settle()
            repo = self.state.store.find(repo_type, repo_id)
            if repo is None:
                raise KeyError(f"no {repo_type} repository {repo_id!r} in the emulator")
            return {path: stored.content for path, stored in repo.files.items()}

    def space_stage(self, repo_id: str) -> str:
        with self.state.lock:
            self.state.settle()
            repo = self.state.store.find("space", repo_id)
            if repo is None:
                raise KeyError(f"no space {repo_id!r} in the emulator")
            return str(self.state.space_runtime(repo)["stage"])

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request answered so far (control routes excluded)."""
        return list(self.faults.requests)

    # -- driving ------------------------------------------------------------------------------------

    def advance(
        self, job_id: str, to: Phase | None = None, *, progress: float | None = None, message: str | None = None
    ) -> Phase:
        """Move a job (or, by repo id, a Space's run) one stage, to ``to``, or ``progress`` through training."""
        return self.state.advance(job_id, to, progress=progress, message=message)

    def fail(self, job_id: str, message: str) -> Phase:
        """End a job in ERROR with ``message`` as its status message."""
        return self.state.advance(job_id, "ERROR", message=message)

    def set_job_outcome(
        self,
        outcome: Outcome,
        *,
        job_id: str | None = None,
        message: str | None = None,
        losses: Sequence[float] | None = None,
    ) -> None:
        """How jobs end: ``success`` (model pushed), ``no_files`` (completes, pushes nothing) or ``error``.

        Without ``job_id`` it applies to every job created afterwards.
        """
        self.state.set_outcome(outcome, job_id=job_id, message=message, losses=losses)

    def seed_metrics(self, losses: Sequence[float], *, job_id: str | None = None) -> None:
        """The training loss reported at each logging step."""
        self.state.seed_losses(losses, job_id=job_id)

    def inject(
        self, route: str, fault: Fault, *, first_n: int | None = None, probability: float | None = None
    ) -> FaultRule:
        """Inject a fault on ``route`` ("POST /api/jobs/*", "GET /api/models/*", "*")."""
        return self.faults.add(route, fault, first_n=first_n, probability=probability)

    def clear_faults(self) -> None:
        self.faults.clear()

    def reset(self) -> None:
        """Forget every repository, job, space, fault and recorded request."""
        self.state.reset()
        self.faults.clear()
        self.faults.clear_requests()
