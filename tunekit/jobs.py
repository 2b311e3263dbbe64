"""The :class:`Job` driver: one run's job, polled through its provider and recorded in the ledger.

The values it passes around (:class:`JobStatus`, :class:`JobState`,
:class:`JobEvent`, :func:`normalize_status`) live in :mod:`tunekit.states`;
they are re-exported here because ``tunekit.jobs`` has always offered them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from tunekit.states import JobEvent, JobState, JobStatus, normalize_status

if TYPE_CHECKING:
    from tunekit.ledger import Ledger, RunRecord
    from tunekit.provider import Checkpoint, FineTunedModel, JobRef, Provider
    from tunekit.tracking import Pending, RunTracking

__all__ = ["Job", "JobEvent", "JobState", "JobStatus", "normalize_status"]


class Job:
    """A handle on one run's remote or local job.

    Built by :class:`~tunekit.tuner.Tuner`; every status it sees and every
    event it reads is written to the ledger, so ``tunekit status`` and
    ``tunekit show`` work from any process, and re-reading events after a
    crash adds no duplicates.
    """

    def __init__(self, run_id: str, provider: Provider, ledger: Ledger) -> None:
        self.run_id = run_id
        self.provider = provider
        self.ledger = ledger
        self._tracking: RunTracking | None = None
        self._tracking_read = False

    def __repr__(self) -> str:
        return f"Job(run_id={self.run_id!r}, provider={self.provider.name!r})"

    @property
    def record(self) -> RunRecord:
        return self.ledger.get(self.run_id)

    @property
    def ref(self) -> JobRef:
        from tunekit.errors import JobNotFinishedError
        from tunekit.provider import JobRef

        record = self.record
        remote = record.remote
        if "job_id" not in remote:
            hint = "it has no job at the provider yet: submit it first"
            raise JobNotFinishedError(record.status.value, run_id=self.run_id, hint=hint)
        return JobRef(provider=self.provider.name, job_id=remote["job_id"], extra=remote.get("job_extra", {}))

    @property
    def job_id(self) -> str:
        return self.ref.job_id

    def status(self) -> JobState:
        """Poll the provider once and record the state."""
        state = self.provider.status(self.ref)
        before = self.record
        if before.status != state.status or before.raw_status != state.raw_status:
            self.ledger.update(
                self.run_id,
                status=state.status,
                raw_status=state.raw_status,
                error=state.message if state.status == JobStatus.FAILED else None,
            )
            self.ledger.record(
                self.run_id,
                "status",
                message=f"{state.status.value} ({state.raw_status})",
                data={"status": state.status.value, "raw": state.raw_status},
            )
        return state

    def events(self) -> Iterator[JobEvent]:
        """New provider events since the last one recorded, each recorded once."""
        after = self.ledger.last_event_key(self.run_id, "job_event")
        for event in self.provider.events(self.ref, after=after):
            if self.ledger.record(
                self.run_id,
                "job_event",
                message=event.message,
                data=event.model_dump(mode="json"),
                key=event.id,
            ):
                yield event

    def history(self) -> list[JobEvent]:
        """Every provider event recorded so far, oldest first."""
        return [JobEvent.model_validate(e.data) for e in self.ledger.events(self.run_id, kinds=["job_event"])]

    def metrics(self) -> list[JobEvent]:
        """The recorded events that carry metrics (for loss curves)."""
        return [e for e in self.history() if e.metrics]

    def watch(self, *, poll_interval: float = 5.0, timeout: float | None = None) -> Iterator[JobEvent | JobState]:
        """Yield new events and each state change until the job ends.

        Polls with ``poll_interval`` seconds between rounds; raises
        ``TimeoutError`` after ``timeout`` seconds. The timeout also bounds the
        retries of each poll: a service that is down surfaces its error
        (``ServiceUnavailableError``) by then instead of being retried past it.
        """
        from tunekit.retry import deadline as retry_deadline

        deadline = None if timeout is None else time.monotonic() + timeout

        def left() -> float | None:
            return None if deadline is None else max(0.0, deadline - time.monotonic())

        last: JobState | None = None
        while True:
            with retry_deadline(left()):
                fresh = list(self.events())
                state = self.status()
            if not state.is_terminal:
                self.track()
            yield from fresh
            changed = last is None or (state.status, state.step, state.raw_status) != (
                last.status,
                last.step,
                last.raw_status,
            )
            if changed:
                yield state
            last = state
            if state.is_terminal:
                yield from self.events()  # the final messages arrive with the last state
                self.track(state.status)
                return
            remaining = left()
            if remaining is not None and remaining <= 0:
                raise TimeoutError(f"run {self.run_id} still {state.status.value} after {timeout} s")
            time.sleep(poll_interval if remaining is None else min(poll_interval, remaining))

    # -- experiment tracking -------------------------------------------------------------------------------

    @property
    def tracking(self) -> RunTracking | None:
        """The run's tracked copy (MLflow, Trackio, W&B) when its config has a ``tracking`` section."""
        if not self._tracking_read:
            from tunekit.tracking import RunTracking, tracking_settings

            self._tracking_read = True
            settings = tracking_settings(self.record.config)
            if settings is not None:
                sweeps = [e.data.get("sweep_id") for e in self.ledger.events(self.run_id, kinds=["sweep"])]
                tags = {"tunekit.sweep_id": str(sweeps[-1])} if sweeps and sweeps[-1] else {}
                native = self.provider.native_tracking(settings)
                self._tracking = RunTracking(self.ledger, self.run_id, settings, metrics=not native, tags=tags)
        return self._tracking

    def track(self, status: JobStatus | None = None) -> Pending | None:
        """Send what the ledger has that the tracker lacks; with a final ``status``, mark the tracked run ended.

        Never raises for the tracker's sake: a tracker that is down is
        reported (the returned :class:`~tunekit.tracking.Pending`, a
        ``tracking`` event in the ledger) and caught up on the next call.
        """
        tracking = self.tracking
        if tracking is None:
            return None
        if status is None and self.record.status.is_terminal:
            status = self.record.status
        pending = tracking.sync(status=None if status is None or not status.is_terminal else status.value)
        if pending.evaluations and pending.error is None:
            pending = tracking.flush_evaluations()  # evaluations made while the tracker was down
        return pending

    def wait(
        self,
        *,
        poll_interval: float = 5.0,
        timeout: float | None = None,
        on_event: Callable[[JobEvent | JobState], None] | None = None,
        progress: bool | None = None,
    ) -> JobState:
        """Block until the job ends; return its final state.

        ``progress`` shows one status line, updated in place, in a Jupyter
        notebook (and logs it at INFO elsewhere); by default it is shown in
        notebooks only (see :mod:`tunekit.notebook`).

        Ctrl-C (``KeyboardInterrupt``) stops a job that runs on this machine
        before it propagates, as it would stop a training script; a remote job
        goes on, and ``watch`` or ``wait`` can follow it again.
        """
        from tunekit.notebook import JobProgress, in_notebook

        show = JobProgress() if (in_notebook() if progress is None else progress) else None
        state: JobState | None = None
        try:
            for item in self.watch(poll_interval=poll_interval, timeout=timeout):
                if show is not None:
                    show(item)
                if on_event is not None:
                    on_event(item)
                if isinstance(item, JobState):
                    state = item
        except KeyboardInterrupt:
            self.interrupted()
            raise
        assert state is not None
        return state

    def interrupted(self) -> bool:
        """The user pressed Ctrl-C while following the job: cancel it if it runs on this machine (True).

        A remote job is left running (False): only watching it stopped.
        """
        if not self.provider.runs_here:
            return False
        self.cancel()
        return True

    def result(self) -> FineTunedModel:
        """The tuned model; raises if the job failed, was cancelled, or is still running."""
        from tunekit.errors import JobCancelledError, JobFailedError, JobNotFinishedError
        from tunekit.provider import FineTunedModel

        record = self.record
        if record.result is not None:
            return FineTunedModel.model_validate(record.result).bind(self.provider)
        state = self.status()
        if state.status == JobStatus.FAILED:
            raise JobFailedError(state.message or "the job failed", run_id=self.run_id, job_id=state.job_id)
        if state.status == JobStatus.CANCELLED:
            raise JobCancelledError("the job was cancelled", run_id=self.run_id, job_id=state.job_id)
        if state.status != JobStatus.SUCCEEDED:
            raise JobNotFinishedError(state.status.value, run_id=self.run_id, job_id=state.job_id)
        model = self.provider.result(self.ref)
        model.run_id = self.run_id
        self.ledger.update(self.run_id, result=model.model_dump(mode="json"))
        self.ledger.record(self.run_id, "outcome", step="result", message=model.model_id)
        return model.bind(self.provider)

    def cancel(self) -> None:
        self.ledger.record(self.run_id, "intent", step="cancel")
        self.provider.cancel(self.ref)
        self.ledger.record(self.run_id, "outcome", step="cancel")

    def pause(self) -> None:
        self.ledger.record(self.run_id, "intent", step="pause")
        self.provider.pause(self.ref)
        self.ledger.record(self.run_id, "outcome", step="pause")

    def resume(self) -> None:
        # A resume may start work (the local provider launches a training process): one process at a time.
        with self.ledger.lock(self.run_id):
            self.ledger.record(self.run_id, "intent", step="resume")
            self.provider.resume(self.ref)
            self.ledger.record(self.run_id, "outcome", step="resume")

    def checkpoints(self) -> list[Checkpoint]:
        return self.provider.checkpoints(self.ref)

    def checkpoint(self, checkpoint: str | int) -> Checkpoint:
        """The saved checkpoint with this id or step that holds a model: the one place a checkpoint is chosen."""
        from tunekit.errors import JobError

        wanted = str(checkpoint)
        for saved in self.checkpoints():
            if wanted in (saved.id, str(saved.step)) and (saved.model_id is not None or saved.path is not None):
                return saved
        raise JobError(f"no usable checkpoint {wanted!r} (see `tunekit checkpoints`)", run_id=self.run_id)

    def checkpoint_model(self, checkpoint: str | int) -> FineTunedModel:
        """The model a saved checkpoint (by id or step) holds, without making it the run's result."""
        from tunekit.provider import FineTunedModel

        chosen = self.checkpoint(checkpoint)
        return FineTunedModel(
            provider=self.provider.name,
            model_id=chosen.model_id or chosen.path or "",
            base_model=self.record.model,
            kind="model_id" if chosen.model_id else "adapter",
            run_id=self.run_id,
            path=chosen.path,
            checkpoint=chosen.id,
            metadata={"job_id": self.job_id, "step": chosen.step, "metrics": chosen.metrics},
        ).bind(self.provider)

    def use_checkpoint(self, checkpoint: str | int) -> FineTunedModel:
        """Make a saved checkpoint (by id or step) the run's result, instead of the final model."""
        model = self.checkpoint_model(checkpoint)
        self.ledger.update(self.run_id, result=model.model_dump(mode="json"))
        self.ledger.record(
            self.run_id, "outcome", step="result", message=f"checkpoint {model.checkpoint}: {model.model_id}"
        )
        return model
