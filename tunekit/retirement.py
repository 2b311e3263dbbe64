"""When base models shut down: a dated table per provider, and who must move.

A tuned model lives only as long as its base model: when a provider shuts a
base snapshot down, the fine-tunes built on it stop answering the same day.
Each provider plugin ships the dates it knows (with the page they came from and
the day they were checked) through :meth:`Provider.retirements`, and may refresh
them from its API where the service reports one (OpenAI's ``shutdown_date`` on
``GET /v1/models``). ``tunekit runs``, ``show`` and ``estimate`` use this module
to flag runs whose model shuts down soon, and print the ``tunekit migrate``
command that moves them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

__all__ = [
    "WARN_DAYS",
    "Retirement",
    "cached_retirements",
    "days_left",
    "lookup",
    "parse_table",
    "retirement_notice",
    "save_cached_retirements",
]

WARN_DAYS = 60
"""Runs whose model shuts down within this many days are flagged."""


@dataclass(frozen=True)
class Retirement:
    """One model's end of life at one provider.

    ``model`` matches by prefix (the longest key wins), so ``gpt-4.1-mini``
    covers ``gpt-4.1-mini-2025-04-14``. ``shutdown`` is when the model and its
    fine-tunes stop answering; ``training_ends`` is when no new job can start.
    ``not_before`` marks a "no earlier than" date: the provider promised the
    model until then, not that it ends then.
    """

    provider: str
    model: str
    shutdown: date | None = None
    training_ends: date | None = None
    replacement: str = ""
    source: str = ""
    checked: date | None = None
    not_before: bool = False

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("shutdown", "training_ends", "checked"):
            value = data[key]
            data[key] = value.isoformat() if value else None
        return data

    def ends(self) -> date | None:
        """The first firm date after which a tuned model of this base is no use (a job or an answer)."""
        if self.not_before:
            return None
        return self.shutdown


def _date(value: object, where: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{where}: {value!r} is not a YYYY-MM-DD date") from None


def parse_table(provider: str, document: dict[str, Any], *, where: str = "retirements") -> list[Retirement]:
    """The rows of a provider's retirement table (YAML/JSON already loaded).

    The document has ``checked`` and ``source`` defaults and ``models``, a map
    of model (prefix) to ``{shutdown, training_ends, replacement, source, checked, not_before}``.
    """
    checked = _date(document.get("checked"), f"{where}: checked")
    source = str(document.get("source", ""))
    rows = []
    for model, row in (document.get("models") or {}).items():
        row = row or {}
        here = f"{where}: models.{model}"
        rows.append(
            Retirement(
                provider=provider,
                model=str(model),
                shutdown=_date(row.get("shutdown"), f"{here}.shutdown"),
                training_ends=_date(row.get("training_ends"), f"{here}.training_ends"),
                replacement=str(row.get("replacement", "")),
                source=str(row.get("source", source)),
                checked=_date(row.get("checked"), f"{here}.checked") or checked,
                not_before=bool(row.get("not_before", False)),
            )
        )
    return rows


def lookup(rows: Iterable[Retirement], model: str) -> Retirement | None:
    """The row whose model key is the longest prefix of ``model`` (``None`` when none is)."""
    best: Retirement | None = None
    for row in rows:
        matches = model == row.model or model.startswith((row.model + "-", row.model + ":", row.model + "."))
        if matches and (best is None or len(row.model) > len(best.model)):
            best = row
    return best


def days_left(row: Retirement, today: date | None = None) -> int | None:
    """Days until the row's firm shutdown (negative once past); ``None`` without a firm date."""
    ends = row.ends()
    if ends is None:
        return None
    return (ends - (today or datetime.now(timezone.utc).date())).days


def retirement_notice(row: Retirement, *, today: date | None = None, within_days: int = WARN_DAYS) -> str | None:
    """One sentence for a model that shuts down within ``within_days`` (or already did); ``None`` otherwise."""
    left = days_left(row, today)
    if left is None or left > within_days:
        return None
    when = row.ends()
    replacement = f"; the provider suggests {row.replacement}" if row.replacement else ""
    if left < 0:
        return f"{row.model} shut down on {when} at {row.provider}, with every model tuned on it{replacement}"
    return (
        f"{row.model} and every model tuned on it shut down at {row.provider} on {when} "
        f"({left} day{'s' if left != 1 else ''} left){replacement}"
    )


def _cache_file(provider: str, home: Path | None = None) -> Path:
    from tunekit.paths import tunekit_home

    return (home or tunekit_home()) / "retirements" / f"{provider}.json"


def cached_retirements(provider: str, *, home: Path | None = None) -> list[Retirement]:
    """Rows a provider refreshed from its API earlier (``tunekit retirements --refresh``)."""
    path = _cache_file(provider, home)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return parse_table(provider, document, where=str(path))
    except (OSError, ValueError, AttributeError):
        return []  # no cache, or one a newer or older tunekit wrote: the shipped table still answers


def save_cached_retirements(provider: str, rows: Sequence[Retirement], *, home: Path | None = None) -> Path:
    """Keep rows refreshed from a provider's API, for the commands that must not call the network."""
    path = _cache_file(provider, home)
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "checked": datetime.now(timezone.utc).date().isoformat(),
        "models": _rows_document(rows),
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(document, indent=2), encoding="utf-8")
    tmp.replace(path)
    return path


def _rows_document(rows: Sequence[Retirement]) -> dict[str, dict[str, Any]]:
    return {row.model: {k: v for k, v in row.to_json().items() if k not in ("provider", "model")} for row in rows}
