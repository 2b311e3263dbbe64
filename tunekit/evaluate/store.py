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

import os
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from tunekit.evaluate.report import EvalReport

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
    return EvalReport.load(folder)
