"""The provider conformance kit: checks every tunekit provider must pass, run against its emulator.

Describe a provider with a :class:`~tunekit_emulators.conformance.crash.ProviderCase` (its config,
its emulator, how to count the jobs carrying a run id), then:

* :mod:`~tunekit_emulators.conformance.checks` — in process: :func:`check_exactly_once` (two
  submits, and a submit after the job ended, make one job), :func:`check_create_fault` (a create
  whose answer was lost is found, not repeated), :func:`check_secret_hygiene` (no credential in
  logs, errors or files);
* :mod:`~tunekit_emulators.conformance.crash` — the crash-point harness: a real ``tunekit submit``
  client SIGKILLed at every ledger step, resumed, and exactly one job counted
  (:func:`run_case`, with a :class:`~tunekit_emulators.conformance.zygote.Zygote` forking clients);
* :mod:`~tunekit_emulators.conformance.data` — ``write_jsonl``, ``write_yaml``, ``chat_rows``;
* :mod:`~tunekit_emulators.conformance.tracking` — ``ledger_series``, ``mlflow_series`` and
  ``wandb_offline_run`` (W&B's offline folders, read with W&B's own reader), to check that a tracker
  holds the metrics the ledger recorded.
"""

from tunekit_emulators.conformance.checks import (
    check_create_fault as check_create_fault,
    check_exactly_once as check_exactly_once,
    check_secret_hygiene as check_secret_hygiene,
)
from tunekit_emulators.conformance.crash import (
    CrashPoint as CrashPoint,
    ProviderCase as ProviderCase,
    local_points as local_points,
    remote_points as remote_points,
    run_case as run_case,
)
from tunekit_emulators.conformance.data import (
    ConfigWriter as ConfigWriter,
    chat_rows as chat_rows,
    write_jsonl as write_jsonl,
    write_yaml as write_yaml,
)
from tunekit_emulators.conformance.tracking import (
    WandbRun as WandbRun,
    ledger_series as ledger_series,
    mlflow_series as mlflow_series,
    wandb_offline_run as wandb_offline_run,
)

__all__ = [
    "ConfigWriter",
    "CrashPoint",
    "ProviderCase",
    "WandbRun",
    "chat_rows",
    "check_create_fault",
    "check_exactly_once",
    "check_secret_hygiene",
    "ledger_series",
    "local_points",
    "mlflow_series",
    "remote_points",
    "run_case",
    "wandb_offline_run",
    "write_jsonl",
    "write_yaml",
]
