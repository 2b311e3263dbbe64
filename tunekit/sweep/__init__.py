"""Hyperparameter sweeps: grid or random search over a config, under a spending cap.

``tunekit sweep CONFIG`` (or :class:`Sweep`) plans the child runs from the
config's ``sweep`` section (:func:`plan_sweep`), refuses a sweep whose summed
cost estimate is above ``max_usd`` before anything is submitted, trains and
evaluates each child as an ordinary run, and ranks them (:func:`summarize`).
"""

from tunekit.sweep.plan import SweepChild, plan_sweep, sweep_id
from tunekit.sweep.runner import ChildOutcome, Sweep, SweepEstimate, point_of
from tunekit.sweep.summary import SweepRow, summarize, sweep_runs, write_summary

__all__ = [
    "ChildOutcome",
    "Sweep",
    "SweepChild",
    "SweepEstimate",
    "SweepRow",
    "plan_sweep",
    "point_of",
    "summarize",
    "sweep_id",
    "sweep_runs",
    "write_summary",
]
