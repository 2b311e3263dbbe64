"""``init_from``: which earlier run a config starts from, checked before anything is uploaded or billed.

Users tune in stages (SFT, then DPO on top; more data next month). A config's
``init_from: RUN[@STEP]`` names the parent with the same rules as every
``RUN`` argument (:mod:`tunekit.runref`); ``@STEP`` picks one of its saved
checkpoints. Here the parent is resolved to a :class:`~tunekit.ledger.Lineage`:

1. the run exists, ran on the same provider, and succeeded;
2. its result (or the checkpoint) is read through the provider;
3. it was tuned from the config's ``model`` (a different base model is
   refused: continuing a model of another base cannot work, and would bill);
4. the provider says what its job starts from (:meth:`Provider.starting_point
   <tunekit.provider.Provider.starting_point>`), or refuses.

Every refusal is a :class:`~tunekit.errors.ConfigError` naming ``init_from``.
The resolved parent is part of the run key (:mod:`tunekit.runkey`), so the
same config started from another parent is another job, and the ledger
records it with the run (``tunekit show``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tunekit.errors import ConfigError, JobError, NotFoundError, RunNotFoundError, UnsupportedOperationError
from tunekit.jobs import Job
from tunekit.ledger import Lineage
from tunekit.runref import resolve_run
from tunekit.states import JobStatus

if TYPE_CHECKING:
    from tunekit.config import TuneConfig
    from tunekit.ledger import Ledger, RunRecord
    from tunekit.provider import FineTunedModel, Provider

__all__ = ["resolve_parent", "split_init_from"]


def split_init_from(text: str) -> tuple[str, str | None]:
    """``RUN[@STEP]`` as (run reference, checkpoint step or id or None)."""
    ref, sep, step = text.rpartition("@")
    if not sep:
        return text.strip(), None
    if not ref.strip() or not step.strip():
        raise ConfigError("invalid config", problems=[f"init_from: {text!r} is not RUN or RUN@STEP"])
    return ref.strip(), step.strip()


def resolve_parent(config: TuneConfig, provider: Provider, ledger: Ledger, *, config_hash: str) -> Lineage | None:
    """The run ``config.init_from`` names and what ``provider`` starts from; None without ``init_from``.

    ``config_hash`` is the config's own: ``latest`` passes over its runs, so a
    config that starts from ``latest`` keeps meaning the same parent once its
    own run exists. The provider reads the parent's result (or checkpoints)
    only when the ledger does not hold it.
    """
    if config.init_from is None:
        return None
    ref, step = split_init_from(config.init_from)
    try:
        run_id = resolve_run(ref, ledger=ledger, other_than=config_hash)
    except RunNotFoundError as exc:
        raise _refused(f"{exc}") from None
    except ConfigError as exc:
        raise _refused(str(exc)) from None
    record = ledger.get(run_id)
    if record.provider != provider.name:
        raise _refused(f"run {run_id} was trained on {record.provider}; a run on {provider.name} cannot start from it")
    if record.status is not JobStatus.SUCCEEDED:
        raise _refused(
            f"run {run_id} is {record.status.value}: only a succeeded run has a model to start from"
            + ("" if record.status.is_terminal else f" (`tunekit watch {run_id}` follows it)")
        )
    parent = _parent_model(record, provider, ledger, step)
    _check_base(config, record, parent, provider)
    try:
        start = provider.starting_point(parent, config)
    except UnsupportedOperationError as exc:
        raise _refused(str(exc)) from None
    return Lineage(
        run_id=run_id,
        model_id=parent.model_id,
        base_model=provider.base_model_of(parent.base_model),
        start=start,
        checkpoint=parent.checkpoint if step is not None else None,
        step=_step_of(parent) if step is not None else None,
    )


def _parent_model(record: RunRecord, provider: Provider, ledger: Ledger, step: str | None) -> FineTunedModel:
    job = Job(record.run_id, provider, ledger)
    try:
        return job.result() if step is None else job.checkpoint_model(step)
    except (JobError, NotFoundError, UnsupportedOperationError) as exc:  # no such checkpoint; an outage propagates
        raise _refused(f"run {record.run_id}: {exc}") from None


def _check_base(config: TuneConfig, record: RunRecord, parent: FineTunedModel, provider: Provider) -> None:
    """Refuse a parent tuned from another base model than the config's ``model``.

    The parent's base is known three ways: its config's ``model`` as written,
    its result's ``base_model``, and what the provider reads in a tuned model's
    id (``ft:gpt-4o-mini-2024-07-18:...``); the config may name any of them.
    """
    names = {record.model, parent.base_model, provider.base_model_of(parent.base_model)}
    if record.parent is not None:
        names.add(record.parent.base_model)
    if config.model in names:
        return
    raise _refused(
        f"run {record.run_id} was tuned from {provider.base_model_of(parent.base_model)}, not from this "
        f"config's model {config.model}; set model to the parent's base model, or start from a run of {config.model}"
    )


def _step_of(model: FineTunedModel) -> int | None:
    step = model.metadata.get("step")
    return step if isinstance(step, int) else None


def _refused(message: str) -> ConfigError:
    return ConfigError("cannot start from the earlier run", problems=[f"init_from: {message}"])
