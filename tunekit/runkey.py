"""The run key: what determines a training job, so a submit can tell "this job again" from "another job".

``Tuner.submit`` returns the run of the same key that succeeded or is still
going instead of starting (and billing) another job. Two configs share a key
when they would train the same thing:

* the same provider, model, method, hyperparameters, adapter, suffix, seed,
  data settings and job-shaping provider options;
* the same bytes in the data files. Editing ``train.jsonl`` and submitting
  again trains on the new data; it does not return the model of the old one;
* the same parent, for a run that starts from an earlier one (``init_from``):
  the run and checkpoint it resolved to, not the words that named it, so
  ``init_from: latest`` after another run is another job.

What does not change the job is left out: the run's ``name``, secrets (a
rotated key is the same job), the ``eval`` and ``deploy`` sections (they act
on the tuned model afterwards), and the options that only say how this client
waits and retries.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunekit.errors import DataError
from tunekit.secrets import MASK

if TYPE_CHECKING:
    from tunekit.config import TuneConfig
    from tunekit.ledger_lineage import Lineage

__all__ = ["CLIENT_ONLY_OPTIONS", "run_key"]

CLIENT_ONLY_OPTIONS = frozenset(
    {
        "poll_interval",
        "file_poll_interval",
        "timeout",
        "file_processing_timeout",
        "deploy_timeout",
        "cancel_timeout",
        "max_retries",
        "retry_max_wait",
        "create_attempts",
        "multipart_threshold",
        "part_size",
        "base_deployment",
        "inference_url",
        "inference_provider",
        "arm",
    }
)
"""Provider options that change how the client talks to the service or serves the model, never the job."""

_NOT_THE_JOB = ("name", "eval", "deploy", "tracking", "sweep")
_CHUNK = 1 << 20


def run_key(config: TuneConfig, parent: Lineage | None = None) -> str:
    """A stable hash of what determines ``config``'s training job, its data files' content included.

    ``parent`` is the resolved ``init_from`` (:func:`tunekit.lineage.resolve_parent`); a config
    with ``init_from`` and no parent given raises ``ValueError``: its key depends on the parent.

    Raises :class:`~tunekit.errors.DataError` naming the file when a data file cannot be read.
    """
    shape = config.redacted()
    for section in _NOT_THE_JOB:
        shape.pop(section, None)
    shape["provider_options"] = _job_options(shape.get("provider_options") or {})
    if config.init_from is not None:
        if parent is None:
            raise ValueError("the run key of a config with init_from needs its resolved parent")
        shape["init_from"] = {"run": parent.run_id, "checkpoint": parent.checkpoint, "start": parent.start}
    files = {
        role: _file_hash(path) for role, path in (("train", config.data.train), ("validation", config.data.validation))
    }
    shape["data_content"] = {role: digest for role, digest in files.items() if digest is not None}
    canonical = json.dumps(_without_secrets(shape), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _job_options(options: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in options.items() if key not in CLIENT_ONLY_OPTIONS}


def _without_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_secrets(v) for k, v in value.items() if v != MASK}
    if isinstance(value, list):
        return [_without_secrets(v) for v in value]
    return value


def _file_hash(path: str | None) -> str | None:
    if path is None:
        return None
    digest = hashlib.sha256()
    try:
        with Path(path).open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    except OSError as exc:
        raise DataError(f"cannot read the data file: {exc.strerror or exc}", file=path) from None
    return digest.hexdigest()
