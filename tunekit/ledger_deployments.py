"""The ledger's deployments table: every deployment a run makes, kept until it is deleted.

A deployment (Azure) may bill by the hour for as long as it exists, so the
ledger gets a row *before* the create request (``creating``: it may exist),
marks it ``active`` with the time billing started once it serves, ``paused``
while it exists without serving or billing (an Inference Endpoint paused by
``tunekit deploy RUN --pause``; resuming bills again from then), and
``deleted`` once it is gone. ``tunekit show`` lists the rows and
``tunekit undeploy`` deletes every one that is not deleted yet.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from tunekit.errors import LedgerError
from tunekit.secrets import redact_data

__all__ = ["DeploymentRecord", "DeploymentRows"]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class DeploymentRecord:
    """A deployment a run made, kept until it is deleted: while ``billing``, it may cost money by the hour.

    ``state`` is ``creating`` (asked for; it may exist), ``active`` (serving,
    billed from ``billing_since``), ``paused`` (exists, bills nothing, no
    ``billing_since``) or ``deleted``.
    """

    run_id: str
    name: str
    model: str
    sku: str | None
    capacity: int | None
    hourly_price: float | None
    currency: str | None
    state: str
    created_at: datetime
    billing_since: datetime | None
    deleted_at: datetime | None
    data: dict[str, Any] = field(default_factory=dict)
    """What the provider needs to find it again (account, resource group, endpoint)."""

    @property
    def billing(self) -> bool:
        """Whether it bills, or may: it exists (or may) and is not paused."""
        return self.state not in ("deleted", "paused")

    @property
    def exists(self) -> bool:
        """Whether it exists, or may (paused included): deleting it is the only way to be sure it is gone."""
        return self.state != "deleted"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "model": self.model,
            "sku": self.sku,
            "capacity": self.capacity,
            "hourly_price": self.hourly_price,
            "currency": self.currency,
            "state": self.state,
            "created_at": self.created_at.isoformat(),
            "billing_since": self.billing_since.isoformat() if self.billing_since else None,
            "deleted_at": self.deleted_at.isoformat() if self.deleted_at else None,
            "data": self.data,
        }


class DeploymentRows:
    """The deployment methods of :class:`~tunekit.ledger.Ledger` (which provides the connection)."""

    def _connect(self) -> sqlite3.Connection:
        raise NotImplementedError

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def deployment_intent(
        self, run_id: str, name: str, *, model: str, sku: str | None, capacity: int | None
    ) -> DeploymentRecord:
        """Record a deployment about to be created (state ``creating``) before the request goes out."""
        now = _now()
        with self._write() as conn:
            conn.execute(
                "INSERT INTO deployments (run_id, name, model, sku, capacity, state, created_at) VALUES (?,?,?,?,?,?,?)"
                # One that serves already keeps what it serves until the change succeeded.
                " ON CONFLICT (run_id, name) DO UPDATE SET model = excluded.model, sku = excluded.sku,"
                " capacity = excluded.capacity, state = 'creating', created_at = excluded.created_at,"
                " deleted_at = NULL WHERE state != 'active'",
                (run_id, name, model, sku, capacity, "creating", now),
            )
        return self.deployment(run_id, name)

    def deployment_active(
        self,
        run_id: str,
        name: str,
        *,
        model: str,
        sku: str | None,
        capacity: int | None,
        hourly_price: float | None,
        currency: str | None,
        data: dict[str, Any],
    ) -> DeploymentRecord:
        """The deployment serves: it bills from now (or from when it first served, if it already did)."""
        now = _now()
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE deployments SET state = 'active', model = ?, sku = ?, capacity = ?, hourly_price = ?,"
                " currency = ?, data_json = ?, billing_since = COALESCE(billing_since, ?), deleted_at = NULL"
                " WHERE run_id = ? AND name = ?",
                (model, sku, capacity, hourly_price, currency, json.dumps(redact_data(data)), now, run_id, name),
            )
            if cursor.rowcount != 1:
                raise LedgerError(f"run {run_id} recorded no deployment {name!r} before creating it")
        return self.deployment(run_id, name)

    def deployment_paused(self, run_id: str, name: str) -> DeploymentRecord:
        """The deployment is paused: it stops billing (``billing_since`` cleared) until it serves again."""
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE deployments SET state = 'paused', billing_since = NULL WHERE run_id = ? AND name = ?",
                (run_id, name),
            )
            if cursor.rowcount != 1:
                raise LedgerError(f"run {run_id} has no deployment {name!r}")
        return self.deployment(run_id, name)

    def deployment_gone(self, run_id: str, name: str, *, never_created: bool = False) -> None:
        """The deployment was deleted (or, with ``never_created``, refused before it existed: forget it)."""
        with self._write() as conn:
            if never_created:
                conn.execute(
                    "DELETE FROM deployments WHERE run_id = ? AND name = ? AND state = 'creating'", (run_id, name)
                )
            else:
                conn.execute(
                    "UPDATE deployments SET state = 'deleted', deleted_at = ?, billing_since = NULL"
                    " WHERE run_id = ? AND name = ?",
                    (_now(), run_id, name),
                )

    def deployment(self, run_id: str, name: str) -> DeploymentRecord:
        row = (
            self._connect()
            .execute(f"SELECT {_DEPLOYMENT_COLUMNS} FROM deployments WHERE run_id = ? AND name = ?", (run_id, name))
            .fetchone()
        )
        if row is None:
            raise LedgerError(f"run {run_id} has no deployment {name!r}")
        return _deployment_from_row(row)

    def deployments(self, run_id: str, *, billing: bool = False, existing: bool = False) -> list[DeploymentRecord]:
        """The run's deployments, oldest first; with ``billing``, only those that bill (neither deleted nor
        paused); with ``existing``, only those not deleted (paused ones too)."""
        sql = f"SELECT {_DEPLOYMENT_COLUMNS} FROM deployments WHERE run_id = ?"
        if billing:
            sql += " AND state NOT IN ('deleted', 'paused')"
        elif existing:
            sql += " AND state != 'deleted'"
        rows = self._connect().execute(sql + " ORDER BY created_at, rowid", (run_id,)).fetchall()
        return [_deployment_from_row(r) for r in rows]


_DEPLOYMENT_COLUMNS = (
    "run_id, name, model, sku, capacity, hourly_price, currency, state, created_at, billing_since, deleted_at,"
    " data_json"
)


def _deployment_from_row(row: tuple[Any, ...]) -> DeploymentRecord:
    return DeploymentRecord(
        run_id=row[0],
        name=row[1],
        model=row[2],
        sku=row[3],
        capacity=row[4],
        hourly_price=row[5],
        currency=row[6],
        state=row[7],
        created_at=datetime.fromisoformat(row[8]),
        billing_since=datetime.fromisoformat(row[9]) if row[9] else None,
        deleted_at=datetime.fromisoformat(row[10]) if row[10] else None,
        data=json.loads(row[11] or "{}"),
    )
