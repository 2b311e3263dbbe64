"""Which run a reference names: the same rules for every command argument and for ``init_from``.

A run id is long (``openai-20260114-093012-5f2a1c``), so a reference may be
any of:

* the whole run id;
* a prefix that only one run id starts with (``openai-20260114-09``);
* ``latest``: the newest run in the ledger;
* a config file: the newest run of that config (the same config hash).

A prefix that several runs share is refused with the candidates listed,
rather than guessed: the caller could cancel, deploy, pay for or start from
the wrong run.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tunekit.errors import ConfigError, RunNotFoundError

if TYPE_CHECKING:
    from tunekit.ledger import Ledger

__all__ = ["LATEST", "AmbiguousRunError", "resolve_run"]

LATEST = "latest"
_CONFIG_SUFFIXES = frozenset({".yaml", ".yml", ".json"})
_SHOWN_CANDIDATES = 10


class AmbiguousRunError(RunNotFoundError):
    """Several runs start with the prefix given; the candidates are listed."""

    def __init__(self, prefix: str, candidates: list[str]) -> None:
        self.candidates = candidates
        shown = ", ".join(candidates[:_SHOWN_CANDIDATES])
        more = f" and {len(candidates) - _SHOWN_CANDIDATES} more" if len(candidates) > _SHOWN_CANDIDATES else ""
        super().__init__(prefix)
        self.args = (f"{prefix!r} matches {len(candidates)} runs: {shown}{more}; give more of the run id",)


def resolve_run(ref: str, *, ledger: Ledger | None = None, other_than: str | None = None) -> str:
    """The run id ``ref`` names (see the module docstring); raises ``RunNotFoundError`` or ``ConfigError``.

    ``other_than`` is a config hash whose runs ``latest`` passes over: a config
    that starts from ``latest`` means the newest run of another config, also
    once its own run is the newest in the ledger.
    """
    from tunekit.ledger import Ledger

    ledger = ledger or Ledger()
    text = ref.strip()
    if not text:
        raise RunNotFoundError(ref)
    if text == LATEST:
        candidates = ledger.runs(limit=1) if other_than is None else ledger.runs()
        newest = next((r for r in candidates if r.config_hash != other_than), None)
        if newest is None:
            raise RunNotFoundError(LATEST)
        return newest.run_id
    path = Path(text).expanduser()
    if path.suffix.lower() in _CONFIG_SUFFIXES or path.is_file():
        return _newest_of_config(path, ledger)
    matches = ledger.run_ids(prefix=text)
    if text in matches:
        return text
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise AmbiguousRunError(text, matches)
    raise RunNotFoundError(text)


def _newest_of_config(path: Path, ledger: Ledger) -> str:
    from tunekit.config import config_hash, load_config

    if not path.is_file():
        raise ConfigError(f"no such config file: {path}")
    newest = ledger.runs(config_hash=config_hash(load_config(path)), limit=1)
    if not newest:
        raise RunNotFoundError(f"(newest run of {path})")
    return newest[0].run_id
