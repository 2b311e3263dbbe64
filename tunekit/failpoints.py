"""Failpoints: kill the process at a chosen ledger step, to prove recovery from crashes.

The hook lives in the core because the ledger calls it; the crash-point harness that sets it is
:mod:`tunekit_emulators.conformance`.

Set ``TUNEKIT_CRASH_AT`` before starting a tunekit process (a ``tunekit submit`` or a script)::

    TUNEKIT_CRASH_AT=outcome:create_job tunekit submit tune.yaml        # dies with SIGKILL

The value is one or more comma-separated points ``KIND:STEP[:after]``:

* ``KIND`` and ``STEP`` name a ledger event (``intent:prepare``, ``outcome:upload_train``,
  ``intent:create_job``, ``outcome:submit``; ``tunekit show RUN`` lists a run's events);
  ``*`` matches any step;
* without ``:after`` the process dies *before* the event is written (the side effect it
  describes has happened, or is about to, and the ledger does not know); with ``:after``
  it dies right after the event is committed.

The process sends itself ``SIGKILL``: no ``finally`` block, ``atexit`` handler or buffered
write runs, as when the OOM killer or a power cut ends a client. The ledger consults the
variable on every event it records; unset, the cost is one environment lookup.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass

__all__ = ["CRASH_ENV", "CrashPoint", "crash_at", "parse_crash_points"]

CRASH_ENV = "TUNEKIT_CRASH_AT"


@dataclass(frozen=True)
class CrashPoint:
    """Where to die: before (or after) the ledger writes event ``kind`` of ``step``."""

    kind: str
    step: str
    after: bool = False

    def matches(self, kind: str, step: str | None, *, after: bool) -> bool:
        return self.after == after and self.kind == kind and self.step in ("*", step or "")

    def __str__(self) -> str:
        return f"{self.kind}:{self.step}" + (":after" if self.after else "")


def parse_crash_points(value: str) -> list[CrashPoint]:
    """Parse ``KIND:STEP[:after]`` items separated by commas; ValueError on a malformed item."""
    points = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        parts = item.split(":")
        if len(parts) not in (2, 3) or not parts[0] or not parts[1] or (len(parts) == 3 and parts[2] != "after"):
            raise ValueError(f"{CRASH_ENV}: {item!r} is not KIND:STEP or KIND:STEP:after")
        points.append(CrashPoint(parts[0], parts[1], after=len(parts) == 3))
    return points


def crash_at(kind: str, step: str | None, *, after: bool) -> None:
    """SIGKILL this process when ``TUNEKIT_CRASH_AT`` names this event (``after``: once it is written)."""
    value = os.environ.get(CRASH_ENV)
    if not value:
        return
    if any(point.matches(kind, step, after=after) for point in parse_crash_points(value)):
        os.kill(os.getpid(), signal.SIGKILL)
