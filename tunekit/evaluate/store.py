"""Where evaluation reports live, and reading one back.

Every evaluation of a run writes a folder of its own under the run's
``eval/`` folder, named for when it started (``eval/20261203-081502/``), and
points ``eval/latest`` at it: a 10-example check never replaces the
200-example report, and ``tunekit run`` on a finished run shows the stored
report instead of paying for every request again.

``latest`` is a relative symbolic link; where links cannot be made (some
Windows setups) a ``LATEST`` file names the folder instead.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tunekit.evaluate.candidates import EvalItem, Price
from tunekit.evaluate.report import CandidateSummary, EvalReport, ItemResult

__all__ = ["latest_report_folder", "link_latest", "load_report", "new_report_folder", "report_into_new_folder"]

LATEST = "latest"


def new_report_folder(root: str | Path) -> Path:
    """A fresh folder under ``root`` named for the current UTC time (suffixed when that name is taken)."""
    base = Path(root)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    folder = base / stamp
    suffix = 2
    while folder.exists():
        folder = base / f"{stamp}-{suffix}"
        suffix += 1
    folder.mkdir(parents=True)
    return folder


def link_latest(root: str | Path, folder: str | Path) -> None:
    """Point ``root/latest`` at ``folder`` (replacing the previous link in one step)."""
    base = Path(root)
    name = Path(folder).name
    link = base / LATEST
    temporary = base / f".{LATEST}-{os.getpid()}"
    try:
        if temporary.is_symlink() or temporary.exists():
            temporary.unlink()
        temporary.symlink_to(name, target_is_directory=True)
        os.replace(temporary, link)
    except OSError:
        (base / LATEST.upper()).write_text(name + "\n", encoding="utf-8")


def report_into_new_folder(root: str | Path, write: Callable[[Path], EvalReport]) -> EvalReport:
    """``write(folder)`` into a new folder under ``root``; on success ``root/latest`` points at it.

    A failed evaluation leaves no empty folder behind, and ``latest`` keeps
    pointing at the last report that was written.
    """
    folder = new_report_folder(root)
    try:
        report = write(folder)
    except BaseException:
        if not any(folder.iterdir()):
            folder.rmdir()
        raise
    link_latest(root, folder)
    return report


def latest_report_folder(root: str | Path) -> Path | None:
    """The folder of the newest report under ``root``, if any (a report written before folders also counts)."""
    base = Path(root)
    candidates = [base / LATEST]
    marker = base / LATEST.upper()
    if marker.is_file():
        candidates.append(base / marker.read_text(encoding="utf-8").strip())
    candidates.append(base)
    return next((folder for folder in candidates if (folder / "report.json").is_file()), None)


def load_report(folder: str | Path) -> EvalReport:
    """An :class:`EvalReport` read back from a folder :meth:`EvalReport.save` wrote."""
    base = Path(folder)
    data = json.loads((base / "report.json").read_text(encoding="utf-8"))
    rows = [json.loads(line) for line in (base / "predictions.jsonl").read_text(encoding="utf-8").splitlines() if line]
    items = [
        EvalItem(prompt=list(row.get("prompt") or []), reference=row["reference"], where=row["where"]) for row in rows
    ]
    candidates = []
    for summary in data["candidates"]:
        name = summary["name"]
        price = summary.get("price")
        results = [_item_result(row["answers"][name]) for row in rows]
        candidates.append(
            CandidateSummary(
                name=name,
                kind=summary["kind"],
                model=summary["model"],
                items=results,
                price=Price(**price) if price else None,
            )
        )
    paths = {key: str(base / Path(value).name) for key, value in (data.get("paths") or {}).items()}
    return EvalReport(
        candidates=candidates,
        metrics=list(data["metrics"]),
        items=items,
        title=data.get("title", "Evaluation"),
        loss=list(data.get("loss") or []),
        created_at=datetime.fromisoformat(data["created_at"]),
        paths=paths,
    )


def _item_result(raw: dict[str, Any]) -> ItemResult:
    known = set(ItemResult.__dataclass_fields__)
    return ItemResult(**{key: value for key, value in raw.items() if key in known})
