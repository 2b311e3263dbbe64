"""Showing progress in a Jupyter notebook without depending on Jupyter.

The library never prints; in a notebook, though, a job that trains for an
hour must show that it is alive. :class:`StatusLine` keeps one line of plain
text in the cell's output and replaces it in place (IPython's
``display(..., display_id=True)``, which every notebook front end renders);
outside IPython, or when IPython is not installed, it logs the line instead.
IPython is imported only when it is already loaded (it always is in a
notebook kernel), so nothing here is a dependency.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from tunekit.secrets import get_logger, redact

if TYPE_CHECKING:
    from tunekit.states import JobEvent, JobState

__all__ = ["JobProgress", "StatusLine", "describe", "in_notebook"]

logger = get_logger("tunekit.jobs")


def _shell() -> Any:
    """The running IPython shell, if this process has one (never imports IPython itself)."""
    if "IPython" not in sys.modules:
        return None
    from IPython import get_ipython

    return get_ipython()


def in_notebook() -> bool:
    """Whether this code runs in a Jupyter kernel (notebook, lab, VS Code), not a terminal."""
    shell = _shell()
    return shell is not None and hasattr(shell, "kernel")


class StatusLine:
    """One line of text, updated in place in the notebook's output; logged at INFO elsewhere."""

    def __init__(self) -> None:
        self._handle: Any = None
        self._last: str | None = None

    def update(self, text: str) -> None:
        text = redact(text)
        if text == self._last:
            return
        self._last = text
        shell = _shell()
        if shell is None:
            logger.info("%s", text)
            return
        from IPython.display import display

        bundle = {"text/plain": text}
        if self._handle is None:
            self._handle = display(bundle, raw=True, display_id=True)  # type: ignore[no-untyped-call,unused-ignore]
        else:
            self._handle.update(bundle, raw=True)


class JobProgress:
    """A job's status and its latest event (metrics or message) on one :class:`StatusLine`."""

    def __init__(self) -> None:
        self.line = StatusLine()
        self._state = ""
        self._event = ""

    def __call__(self, item: JobEvent | JobState) -> None:
        from tunekit.states import JobState

        text = describe(item)
        if isinstance(item, JobState):
            self._state = text
        elif text:
            self._event = text
        self.line.update(" | ".join(x for x in (self._state, self._event) if x))


def describe(item: JobEvent | JobState) -> str:
    """The progress line for a status or an event: status, step of total, the latest metrics or message."""
    from tunekit.states import JobState

    if isinstance(item, JobState):
        parts = [f"job {item.job_id or ''}".strip() + f": {item.status.value}"]
        if item.step is not None:
            parts.append(f"step {item.step}" + (f"/{item.total_steps}" if item.total_steps else ""))
        if item.progress is not None:
            parts.append(f"{100 * item.progress:.0f}%")
        if item.message:
            parts.append(item.message)
        return " · ".join(parts)
    where = f"step {item.step}" + (f"/{item.total_steps}" if item.total_steps else "") if item.step is not None else ""
    if item.metrics:
        shown = ", ".join(f"{key} {value:.4g}" for key, value in sorted(item.metrics.items()))
        return " · ".join(x for x in (where, shown) if x)
    return " · ".join(x for x in (where, item.message) if x)
