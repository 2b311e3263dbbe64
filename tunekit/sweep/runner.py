"""Running a sweep: check the budget, then train, follow and evaluate each child run.

Nothing is submitted before every child's cost is estimated and the sum fits
``max_usd``. Each child is an ordinary run (its own run key, its own ledger
row); the ledger ties it to the sweep with a ``sweep`` event keyed by the
sweep's id, which ``tunekit runs --sweep ID`` reads. A sweep killed half-way
and started again finds the children it already made (by their run keys) and
makes only the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunekit.errors import ConfigError
from tunekit.secrets import get_logger
from tunekit.sweep.plan import SweepChild, plan_sweep, sweep_id
from tunekit.tuner import Tuner

if TYPE_CHECKING:
    from tunekit.config import TuneConfig
    from tunekit.evaluate.report import EvalReport
    from tunekit.jobs import Job
    from tunekit.ledger import Ledger

__all__ = ["ChildOutcome", "Sweep", "SweepEstimate"]

logger = get_logger("tunekit.sweep")

SWEEP_EVENT = "sweep"
_OVER = "the sweep does not fit its spending cap; nothing was submitted"


@dataclass(frozen=True)
class SweepEstimate:
    """What the sweep would cost: each child's estimate and their sum (USD)."""

    per_child: list[float | None]
    spends_money: bool

    @property
    def total(self) -> float:
        return sum(cost or 0.0 for cost in self.per_child)

    @property
    def unknown(self) -> list[int]:
        """Children whose cost could not be estimated (no price for the model)."""
        return [i for i, cost in enumerate(self.per_child) if cost is None] if self.spends_money else []


@dataclass
class ChildOutcome:
    """How one child run ended."""

    child: SweepChild
    run_id: str | None = None
    status: str = "not started"
    reused: bool = False
    report: EvalReport | None = None
    error: str | None = None
    final_metrics: dict[str, float] = field(default_factory=dict)


class Sweep:
    """The sweep a config's ``sweep`` section describes.

    ::

        sweep = Sweep(load_config("sweep.yaml"))
        sweep.check_budget()          # raises ConfigError before anything is submitted
        outcomes = sweep.run()
    """

    def __init__(self, config: TuneConfig, *, ledger: Ledger | None = None) -> None:
        from tunekit.ledger import Ledger

        if config.sweep is None:
            raise ConfigError("the config has no sweep section")
        self.config = config
        self.settings = config.sweep
        self.ledger = ledger or Ledger()
        self.id = sweep_id(config)
        self.children = plan_sweep(config)

    def __repr__(self) -> str:
        return f"Sweep({self.id!r}, children={len(self.children)})"

    def tuner(self, child: SweepChild) -> Tuner:
        return Tuner(child.config, ledger=self.ledger)

    # -- before spending -----------------------------------------------------------------------------

    def check(self) -> None:
        """Each child's own checks (provider, tracking), before anything is estimated or sent."""
        for child in self.children:
            self.tuner(child)._check()

    def estimate(self) -> SweepEstimate:
        """Each child's estimated cost, from the data layer's estimate (validates the data once per child)."""
        costs: list[float | None] = []
        spends = False
        for child in self.children:
            tuner = self.tuner(child)
            spends = spends or tuner.provider.spends_money
            report = tuner.validate()
            if not report.ok:
                from tunekit.errors import DataError

                raise DataError(
                    f"child {child.index} ({child.label}): the data is invalid", file=child.config.data.train
                )
            cost = report.cost
            value = None if cost is None else (cost.total if cost.total is not None else cost.training_cost)
            costs.append(value if tuner.provider.spends_money else 0.0)
        return SweepEstimate(costs, spends)

    def check_budget(self, estimate: SweepEstimate | None = None) -> SweepEstimate:
        """Raise :class:`~tunekit.errors.ConfigError` (``sweep.max_usd: ...``) unless the summed estimate fits."""
        estimate = estimate or self.estimate()
        cap = self.settings.max_usd
        if cap is None:
            return estimate
        if estimate.unknown:
            raise ConfigError(
                _OVER,
                problems=[
                    f"sweep.max_usd: no cost estimate for child run(s) {', '.join(map(str, estimate.unknown))} "
                    f"({self.config.provider} has no price for {self.config.model}), so the cap of {cap:.2f} USD "
                    "cannot be kept"
                ],
            )
        if estimate.total > cap:
            one = max((c or 0.0) for c in estimate.per_child)
            detail = (
                f"one run alone is estimated at {one:.2f} USD"
                if one > cap
                else f"{len(self.children)} runs at up to {one:.2f} USD each"
            )
            raise ConfigError(
                _OVER,
                problems=[
                    f"sweep.max_usd: the sweep is estimated at {estimate.total:.2f} USD, above the cap of "
                    f"{cap:.2f} USD ({detail})"
                ],
            )
        return estimate

    # -- running -------------------------------------------------------------------------------------

    def run(
        self,
        *,
        evaluate: bool = True,
        poll_interval: float | None = None,
        timeout: float | None = None,
        on_child: Callable[[ChildOutcome], None] | None = None,
    ) -> list[ChildOutcome]:
        """Train every child (``parallel`` at a time), follow it to the end, evaluate it; the outcomes in order.

        Call :meth:`check_budget` first: this submits.
        """

        def one(child: SweepChild) -> ChildOutcome:
            outcome = self._run_child(child, evaluate=evaluate, poll_interval=poll_interval, timeout=timeout)
            if on_child is not None:
                on_child(outcome)
            return outcome

        if self.settings.parallel == 1:
            return [one(child) for child in self.children]
        with ThreadPoolExecutor(max_workers=self.settings.parallel, thread_name_prefix="tunekit-sweep") as pool:
            return list(pool.map(one, self.children))

    def _run_child(
        self, child: SweepChild, *, evaluate: bool, poll_interval: float | None, timeout: float | None
    ) -> ChildOutcome:
        from tunekit.errors import TunekitError

        outcome = ChildOutcome(child)
        tuner = self.tuner(child)
        try:
            existing = tuner.existing_run()
            outcome.reused = existing is not None
            job = tuner.submit()
            outcome.run_id = job.run_id
            self._join(job, child)
            state = job.wait(poll_interval=poll_interval or tuner.provider.poll_interval, timeout=timeout)
            outcome.status = state.status.value
            outcome.final_metrics = _final_metrics(job)
            if state.status.value == "succeeded" and evaluate and child.config.eval is not None:
                outcome.report = self._evaluate(tuner, job)
        except (TunekitError, TimeoutError) as exc:
            outcome.error = str(exc)
            outcome.status = outcome.status if outcome.status != "not started" else "error"
            logger.warning("sweep %s child %s: %s", self.id, child.index, exc)
        return outcome

    def _join(self, job: Job, child: SweepChild) -> None:
        """Record the child in the sweep (once): the event ``tunekit runs --sweep`` finds it by."""
        self.ledger.record(
            job.run_id,
            SWEEP_EVENT,
            step=f"child-{child.index}",
            message=f"{self.id} child {child.index}: {child.label}",
            data={"sweep_id": self.id, "index": child.index, "point": child.point},
            key=f"{SWEEP_EVENT}:{self.id}",
        )

    def _evaluate(self, tuner: Tuner, job: Job) -> EvalReport:
        from tunekit.evaluate import evaluate_run
        from tunekit.evaluate.runs import stored_report

        stored = stored_report(job)  # every evaluation request is paid for: a re-run shows what it measured
        if stored is not None:
            return stored
        self.ledger.record(job.run_id, "intent", step="evaluate")
        report = evaluate_run(tuner, job)
        self.ledger.record(job.run_id, "outcome", step="evaluate", message=report.verdict)
        return report

    def report_dir(self) -> Path:
        return self.ledger.home / "sweeps" / self.id


def _final_metrics(job: Job) -> dict[str, float]:
    """The last value of each metric the run reported."""
    final: dict[str, float] = {}
    for event in job.metrics():
        final.update({k: float(v) for k, v in event.metrics.items()})
    return final


def point_of(ledger: Ledger, run_id: str, sweep: str) -> dict[str, Any] | None:
    """The point a run stands for in ``sweep``, from its ledger event."""
    for event in ledger.events(run_id, kinds=[SWEEP_EVENT]):
        if event.data.get("sweep_id") == sweep:
            return dict(event.data.get("point") or {})
    return None
