"""Renting a dedicated deployment, the same way on every service: created once, waited for, never left failing.

A deployment bills by the hour from the moment it exists, so its creation
follows one path whatever the service (Fireworks deployments, Together
dedicated endpoints):

1. the run's ledger records the intent (the core's deployments table already
   holds the row, ``creating``) before any request;
2. a deployment left by an earlier attempt (a client killed after the create,
   a lost answer) is found and adopted, never made twice (``find``);
3. tunekit waits until it serves, fails or ``timeout`` passes;
4. one that did not start is deleted before :class:`DeploymentFailedError` is
   raised, so nothing bills unnoticed (the core then marks it deleted).

:class:`Rental` says how to do each step on one service; :func:`rent` runs them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from tunekit.errors import DeploymentFailedError, NotFoundError
from tunekit.remote import RemoteConnection, poll_until
from tunekit.secrets import get_logger

__all__ = ["Rental", "rent", "return_rental"]

logger = get_logger("tunekit.remote_deploy")

T = TypeVar("T")


class _Run(Protocol):
    run_id: str

    def intent(self, step: str, message: str = "", **data: Any) -> None: ...

    def outcome(self, step: str, message: str = "", **data: Any) -> None: ...

    def remember(self, **remote: Any) -> None: ...


@dataclass(frozen=True)
class Rental(Generic[T]):
    """How one service creates, finds, reads and deletes the deployment called ``name``."""

    name: str
    """The deployment's name as tunekit chose it (the ledger's, the one ``find`` recognises)."""
    find: Callable[[], T | None]
    """The deployment of that name, or None: asked before the create and before any retry of it."""
    create: Callable[[], T]
    refresh: Callable[[T], T]
    state: Callable[[T], str]
    delete: Callable[[T], object]
    ready: Collection[str]
    failed: Collection[str] = field(default_factory=frozenset)
    """States it never leaves for ``ready`` by itself: it is deleted at once."""


def rent(
    conn: RemoteConnection,
    run: _Run,
    rental: Rental[T],
    *,
    what: str,
    interval: float,
    timeout: float = math.inf,
    **data: Any,
) -> T:
    """The deployment ``rental`` describes, created at most once and serving; deleted and raised when it does not start.

    ``what`` says what it serves where (the ledger's intent message); ``data``
    goes with the intent and outcome (the hardware, the hourly price).
    """
    run.intent("create_deployment", what, deployment=rental.name, **data)
    found = rental.find()
    if found is not None:
        logger.info("deployment %s already exists; adopting it", rental.name)
        created = found
    else:
        created = conn.create(f"create deployment {rental.name}", rental.create, rental.find)
    ends = {*rental.ready, *rental.failed}
    try:
        served = poll_until(
            created,
            lambda: conn.call(rental.refresh, created),
            lambda d: rental.state(d) in ends,
            interval=interval,
            timeout=timeout,
        )
    except Exception as exc:  # a poll that gave up: the deployment may bill, so it goes
        _delete_failed(conn, run, rental, created, f"could not be watched ({exc})")
        raise
    if rental.state(served) not in rental.ready:
        why = f"is {rental.state(served)}" + ("" if rental.state(served) in rental.failed else f" after {timeout:g} s")
        _delete_failed(conn, run, rental, served, why)
        raise DeploymentFailedError(
            f"deployment {rental.name} {why}; it was deleted, nothing bills", provider=conn.provider
        )
    run.outcome("create_deployment", rental.name, deployment=rental.name, state=rental.state(served), **data)
    run.remember(deployment=rental.name)
    return served


def return_rental(conn: RemoteConnection, run: _Run, name: str, delete: Callable[[], object]) -> None:
    """Delete deployment ``name`` (``delete`` sends the request); one already gone counts as deleted."""
    run.intent("delete_deployment", name, deployment=name)
    try:
        conn.call(delete)
    except NotFoundError:
        logger.info("deployment %s was already gone", name)
    run.outcome("delete_deployment", name, deployment=name)
    run.remember(deployment=None)


def _delete_failed(conn: RemoteConnection, run: _Run, rental: Rental[T], deployment: T, why: str) -> None:
    try:
        return_rental(conn, run, rental.name, lambda: rental.delete(deployment))
    except Exception as exc:
        logger.error(
            "deployment %s %s and could not be deleted (%s): `tunekit undeploy %s` deletes it; it may bill until then",
            rental.name,
            why,
            exc,
            run.run_id,
        )
        raise
