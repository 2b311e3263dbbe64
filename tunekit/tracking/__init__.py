"""Experiment tracking for every provider: MLflow, Trackio, Weights & Biases.

A config's ``tracking`` section names the backend; the job driver mirrors the
ledger into it while it follows the job (:class:`RunTracking`), and the
evaluation adds its results and report files. Providers never see it, except
through the ``Provider.native_tracking`` hook: a service with its own
integration (OpenAI's W&B integration) logs the training metrics itself.
"""

from tunekit.tracking.backends import (
    BACKENDS,
    MetricPoint,
    Tracker,
    clean_params,
    create_tracker,
    metric_key,
    tracking_problems,
)
from tunekit.tracking.sync import STATE_FILE, Pending, RunTracking, tracking_settings

__all__ = [
    "BACKENDS",
    "STATE_FILE",
    "MetricPoint",
    "Pending",
    "RunTracking",
    "Tracker",
    "clean_params",
    "create_tracker",
    "metric_key",
    "tracking_problems",
    "tracking_settings",
]
