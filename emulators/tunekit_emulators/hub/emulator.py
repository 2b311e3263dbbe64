"""The Python handle on a running Hugging Face Hub emulator.

::

    with HubEmulator(lifecycle="manual") as hub, loopback_only():
        api = HfApi(endpoint=hub.endpoint, token=hub.token)
        job = api.run_job(image="huggingface/autotrain-advanced:latest", command=[...], namespace=hub.namespace)
        hub.advance(job.id)                 # SCHEDULING -> RUNNING
        hub.advance(job.id, progress=0.5)   # half the training log lines
        hub.advance(job.id)                 # -> COMPLETED, adapter pushed to the model repo

``HfApi`` is the real client: everything goes over HTTP on 127.0.0.1.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from starlette.routing import BaseRoute
from starlette.types import ASGIApp
from typing_extensions import Self

from tunekit_emulators.base import Emulator
from tunekit_emulators.hub.app import build_hub_app
from tunekit_emulators.hub.container import Outcome
from tunekit_emulators.hub.control_routes import control_routes, snapshot
from tunekit_emulators.hub.http import error_body
from tunekit_emulators.hub.runs import Phase
from tunekit_emulators.hub.state import HubState
from tunekit_emulators.hub.store import HubError
from tunekit_emulators.lifecycle import Lifecycle, LifecycleMode
from tunekit_emulators.server import EmulatorServer

if TYPE_CHECKING:
    from huggingface_hub import HfApi

__all__ = ["HubEmulator"]


class _HubServer(EmulatorServer):
    """uvicorn without its own ``Date`` header, which it refreshes only once a second: the Hub's log
    replay stops at the first line logged after ``Date``, so the routes set the exact time instead."""

    def _make_server(self) -> Any:
        server = super()._make_server()
        server.config.date_header = False
        return server


class HubEmulator(Emulator):
    """An in-process Hugging Face Hub: repositories, uploads, HF Jobs, Spaces and chat inference.

    ``lifecycle`` is ``"immediate"`` (a job ends on the first look after its
    creation), ``"manual"`` (only :meth:`advance` moves it) or ``"timed"``
    (``step_seconds`` scheduling, then ``step_seconds`` training). ``seed``
    makes ids, the token and loss curves repeatable.

    Log streams stay open while a container runs, as on the Hub, so a one-shot
    ``fetch_job_logs`` of a running job waits for the client's read timeout
    (5 s); ``log_idle_close_s`` ends quiet streams sooner.
    """

    service: ClassVar[str] = "hub"

    def __init__(
        self,
        *,
        lifecycle: LifecycleMode | Lifecycle = "immediate",
        seed: int | None = None,
        namespace: str = "tunekit-user",
        token: str | None = None,
        orgs: Sequence[str] = (),
        step_seconds: float = 1.0,
        log_idle_close_s: float | None = None,
        port: int = 0,
        host: str = "127.0.0.1",
        access_log: bool = False,
    ) -> None:
        super().__init__(seed=seed, port=port, host=host, access_log=access_log)
        self.lifecycle = lifecycle if isinstance(lifecycle, Lifecycle) else Lifecycle(lifecycle, step_seconds)
        if token is None and seed is None:  # random per start: a fixed, printed token would open it to anyone
            token = "hf_" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(34))
        self.state = HubState(namespace=namespace, token=token, orgs=orgs, lifecycle=self.lifecycle, seed=self.seed)
        self.log_idle_close_s = log_idle_close_s

    def __repr__(self) -> str:
        where = self.url if self.running else "stopped"
        return f"HubEmulator({where}, lifecycle={self.lifecycle.mode!r})"

    # -- the app ------------------------------------------------------------------------------------

    def build_app(self) -> ASGIApp:
        return build_hub_app(self.state, self.control_routes(), log_idle_close_s=self.log_idle_close_s)

    def control_routes(self) -> list[BaseRoute]:
        return [*super().control_routes(), *control_routes(self.state)]

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        return error_body(status, message)

    def reset_state(self) -> None:
        self.state.reset()

    def start(self) -> Self:
        if self._server is None or not self._server.running:
            self._server = _HubServer(
                self.app, host=self.host, port=self.port_requested, access_log=self.access_log
            ).start()
        return self

    def serve_forever(self) -> None:
        server = _HubServer(self.app, host=self.host, port=self.port_requested, access_log=self.access_log)
        self._server = server
        try:
            server.serve_forever()
        finally:
            self._server = None

    # -- what a client needs ------------------------------------------------------------------------

    def describe(self) -> dict[str, str]:
        return {
            "endpoint": self.endpoint,
            "token": self.token,
            "namespace": self.namespace,
            "inference": self.inference_url("{model}"),
            "endpoints_api": self.endpoints_api,
            "control": f"{self.endpoint}/_emulator",
            "usage": f"HfApi(endpoint={self.endpoint!r}, token=...) or HF_ENDPOINT={self.endpoint}",
        }

    @property
    def endpoint(self) -> str:
        """Pass as ``HfApi(endpoint=...)`` or ``HF_ENDPOINT``."""
        return self.url

    @property
    def token(self) -> str:
        return self.state.user.token

    @property
    def namespace(self) -> str:
        return self.state.user.name

    def inference_url(self, model: str) -> str:
        """``InferenceClient(base_url=...)`` for chatting with ``model`` through the emulator."""
        return f"{self.endpoint}/models/{model}"

    @property
    def endpoints_api(self) -> str:
        """The Inference Endpoints management API (``huggingface_hub.constants.INFERENCE_ENDPOINTS_ENDPOINT``)."""
        from tunekit_emulators.hub.endpoint_routes import API_PREFIX

        return self.endpoint + API_PREFIX

    def inference_endpoints(self) -> list[dict[str, Any]]:
        """Every Inference Endpoint of every namespace, as the API describes it."""
        with self.state.lock:
            return [dict(record) for record in self.state.endpoints.values()]

    def fail_endpoint_start(self, name: str) -> None:
        """Endpoints named ``name`` fail while initializing, as a container that crashes does."""
        with self.state.lock:
            self.state.failing_endpoints.add(name)

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
        jobs: list[dict[str, Any]] = snapshot(self.state)["jobs"]
        if labels:
            jobs = [j for j in jobs if all((j.get("labels") or {}).get(k) == v for k, v in labels.items())]
        return jobs

    def job(self, job_id: str) -> dict[str, Any]:
        with self.state.lock:
            self.state.settle()
            return self.state.job(job_id).to_json()

    def job_logs(self, job_id: str) -> list[str]:
        with self.state.lock:
            self.state.settle()
            return [line.text for line in self.state.job(job_id).run.logs]

    def repos(self, repo_type: str | None = None) -> list[dict[str, Any]]:
        """Repositories with their file lists (``type``, ``id``, ``private``, ``sha``, ``files``)."""
        repos: list[dict[str, Any]] = snapshot(self.state)["repos"]
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

    # -- driving ------------------------------------------------------------------------------------

    def advance(
        self, job_id: str, to: Phase | None = None, *, progress: float | None = None, message: str | None = None
    ) -> Phase:
        """Move a job (or, by repo id, a Space's run) one stage, to ``to``, or ``progress`` through training."""
        try:
            return self.state.advance(job_id, to, progress=progress, message=message)
        except HubError as exc:
            raise (KeyError(exc.message) if exc.status == 404 else ValueError(exc.message)) from None

    def fail(self, job_id: str, message: str) -> Phase:
        """End a job in ERROR with ``message`` as its status message."""
        return self.advance(job_id, "ERROR", message=message)

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
