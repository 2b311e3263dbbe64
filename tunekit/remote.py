"""What every provider that drives a remote service shares: options, safe calls, the create-once call, uploads.

A remote provider talks to a service through an SDK whose own retries are off.
:class:`RemoteConnection` puts every request under the shared
:class:`~tunekit.retry.RetryPolicy` and turns SDK errors into tunekit's; a
subclass says only how to build its client and how to read its errors.

The call that creates something (a job, a file, a Space) is special: the
services take no idempotency key, and a lost response (timeout, reset, 5xx)
does not say whether the object was created. :func:`create_with_find` sends it
again only after looking for what the failed attempt may have made, so one
intent never leaves two jobs. Uploads are named by the SHA-256 of their
content (:func:`content_hash`, :func:`content_name`) and :func:`upload_once`
reuses identical bytes already on the service instead of sending them again.

:class:`RemoteOptions` holds the fields every remote provider's options
repeat: how often to retry, how long to wait, how often to poll.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from tunekit.endpoints import check_endpoint
from tunekit.errors import ConfigError, NotFoundError, TunekitError
from tunekit.retry import RetryPolicy
from tunekit.secrets import get_logger

__all__ = [
    "ClientConnection",
    "RemoteConnection",
    "RemoteFile",
    "RemoteOptions",
    "content_hash",
    "content_name",
    "create_with_find",
    "recorded_upload",
    "resolve_secret",
    "resolve_url",
    "unpack_archive",
    "upload_once",
]

logger = get_logger("tunekit.remote")

T = TypeVar("T")


class RemoteOptions(BaseModel):
    """Retry and polling settings shared by the options of every remote provider (subclass it)."""

    model_config = ConfigDict(extra="forbid")

    max_retries: int = Field(
        4, ge=0, le=20, description="Retries of a safe request on connection errors, 408, 409, 429 and 5xx."
    )
    create_attempts: int = Field(
        6,
        ge=1,
        le=50,
        description="Attempts of a request that creates something (a file, a job); before each retry "
        "tunekit checks whether the previous attempt already succeeded.",
    )
    retry_max_wait: float = Field(60.0, gt=0, description="Longest wait between attempts, in seconds.")
    poll_interval: float = Field(10.0, gt=0, description="Seconds between status polls while watching a job.")

    def retry_policy(self, *, deadline: float | None = None) -> RetryPolicy:
        """The policy for requests that are safe to repeat."""
        return RetryPolicy(max_attempts=self.max_retries + 1, max_wait=self.retry_max_wait, deadline=deadline)

    def create_policy(self) -> RetryPolicy:
        """The policy for requests that create something (each retry is preceded by a look)."""
        return RetryPolicy(max_attempts=self.create_attempts, max_wait=self.retry_max_wait, deadline=None)


def resolve_secret(value: SecretStr | None, env: str, *, service: str, option: str = "api_key") -> str:
    """A credential from its option, else from the environment variable ``env``; ConfigError naming both when unset."""
    if value is not None and value.get_secret_value():
        return value.get_secret_value()
    found = os.environ.get(env)
    if not found:
        raise ConfigError(f"no {service} API key: set {env} or provider_options.{option} (e.g. {option}: ${{{env}}})")
    return found


def resolve_url(value: str | None, env: str, *, field: str = "base_url") -> str | None:
    """An endpoint from its option, else from ``env`` (plain http only to loopback), else None (the SDK's default)."""
    url = value if value is not None else os.environ.get(env)
    if not url:
        return None
    problem = check_endpoint(url, field=field if value is not None else env, secret="API key")
    if problem:
        raise ConfigError(problem)
    return url.rstrip("/")


class _Attempts:
    """Counts the attempts of one call, for the error message."""

    def __init__(self) -> None:
        self.count = 0


def create_with_find(
    what: str,
    send: Callable[[], T],
    find: Callable[[], T | None],
    *,
    policy: RetryPolicy,
    look_first: bool = False,
    attempts: _Attempts | None = None,
) -> T:
    """Create something remote at most once: ``send`` again only after ``find`` saw no trace of it.

    ``find`` looks for the object by what the request carried (the run id in
    a job's metadata or labels, a file's content hash); when it answers, its
    object is adopted instead of sending again. With ``look_first`` it is
    also asked before the first attempt (for uploads: identical content is
    never sent twice). Errors are re-raised unchanged.
    """
    counter = attempts if attempts is not None else _Attempts()

    def attempt() -> T:
        counter.count += 1
        if counter.count > 1 or look_first:
            existing = find()
            if existing is not None:
                if counter.count > 1:
                    logger.info("%s: the earlier attempt had succeeded; adopting it", what)
                return existing
        return send()

    return policy.call(attempt)


class RemoteConnection(ABC):
    """One service's requests under tunekit's retry policies, with its errors turned into tunekit's.

    Subclasses build the SDK client (lazily, as they see fit) and implement
    :meth:`map_error`. ``call`` is for requests that are safe to repeat
    (reads, cancel, uploads of identical content); ``create`` for those that
    create something.
    """

    def __init__(self, options: RemoteOptions, *, provider: str) -> None:
        self.options = options
        self.provider = provider
        self.policy = options.retry_policy()
        self.create_policy = options.create_policy()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(provider={self.provider!r})"

    @abstractmethod
    def map_error(self, exc: BaseException, attempts: int) -> TunekitError:
        """The tunekit error for an SDK exception raised after ``attempts`` attempts."""

    def call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """A request that is safe to repeat, under the retry policy."""
        attempts = _Attempts()

        def attempt() -> T:
            attempts.count += 1
            return fn(*args, **kwargs)

        try:
            return self.policy.call(attempt)
        except TunekitError:
            raise
        except Exception as exc:
            raise self.map_error(exc, attempts.count) from exc

    def create(self, what: str, send: Callable[[], T], find: Callable[[], T | None]) -> T:
        """A request that creates something, sent again only after ``find`` saw no trace of it."""
        attempts = _Attempts()
        try:
            return create_with_find(what, send, find, policy=self.create_policy, attempts=attempts)
        except TunekitError:
            raise
        except Exception as exc:
            raise self.map_error(exc, attempts.count) from exc

    def find(self, fetch: Callable[[], T]) -> T | None:
        """``fetch()``'s answer, or None when the service has no such thing (404)."""
        try:
            return self.call(fetch)
        except NotFoundError:
            return None

    def ensure(self, what: str, get: Callable[[], T], send: Callable[[], T]) -> T:
        """What ``get`` finds, else what ``send`` creates (a lost answer is found again, never created twice).

        For resources whose id the client chooses (a content hash, a run id).
        """
        found = self.find(get)
        return found if found is not None else self.create(what, send, lambda: self.find(get))


def poll_until(
    first: T, fetch: Callable[[], T], done: Callable[[T], bool], *, interval: float, timeout: float = math.inf
) -> T:
    """``first``, else what ``fetch`` answers every ``interval`` seconds, once ``done`` holds or ``timeout`` passed."""
    ends = time.monotonic() + timeout
    while not done(first) and time.monotonic() < ends:
        time.sleep(interval)
        first = fetch()
    return first


def slug_id(text: str, *, prefix: str = "", max_length: int = 63) -> str:
    """An id of lowercase letters, digits and hyphens for ``text``: the same text, the same id.

    A text that had to change (case, other characters) or be shortened gets 8
    hex digits of its hash, so two texts never share an id.
    """
    slug = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    if len(prefix + slug) > max_length or slug != text:
        keep = max(1, max_length - len(prefix) - 12)
        slug = f"{slug[:keep].strip('-')}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"
    return prefix + slug


def download_files(urls: Mapping[str, str], folder: Path, call: Callable[..., Any], *, timeout: float) -> Path:
    """Download each ``file name -> signed URL`` into ``folder``, which appears only once every file is there.

    ``call`` runs each request (a connection's retrying :meth:`RemoteConnection.call`).
    """
    import httpx

    staging = folder.with_name(folder.name + ".partial")
    staging.mkdir(parents=True, exist_ok=True)
    for filename, url in urls.items():
        response = call(httpx.get, url, timeout=timeout, follow_redirects=True)
        response.raise_for_status()
        (staging / Path(filename).name).write_bytes(response.content)
    staging.replace(folder)
    return folder


def unpack_archive(data: bytes, folder: Path) -> Path:
    """Extract a downloaded tar archive (gzip, or zstandard: Together's ``.tar.zst``) into ``folder``, refusing any
    member whose path leaves it."""
    import io
    import tarfile

    if data[:4] == b"\x28\xb5\x2f\xfd":  # zstandard's magic number
        import zstandard

        data = zstandard.ZstdDecompressor().decompressobj().decompress(data)
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
        archive.extractall(folder, filter="data")
    return folder


class _Closable(Protocol):
    def close(self) -> None: ...


ClientT = TypeVar("ClientT", bound=_Closable)


class ClientConnection(RemoteConnection, Generic[ClientT]):
    """A :class:`RemoteConnection` owning one SDK client, built by :meth:`build_client` on first use.

    Building a provider, estimating or validating sends nothing, so it needs
    no credentials: the key is read when the first request needs the client.
    Threads share the one client; :meth:`close` closes it and the next
    request builds another.
    """

    def __init__(self, options: RemoteOptions, *, provider: str) -> None:
        super().__init__(options, provider=provider)
        self._client: ClientT | None = None
        self._lock = threading.Lock()

    @abstractmethod
    def build_client(self) -> ClientT:
        """The SDK client, its own retries off (``max_retries=0``): every request is retried by tunekit's policy."""

    @property
    def client(self) -> ClientT:
        with self._lock:
            if self._client is None:
                self._client = self.build_client()
            return self._client

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()


# -- uploads --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RemoteFile:
    """An uploaded file, and whether identical content was already there."""

    id: str
    name: str
    bytes: int
    sha256: str
    reused: bool = False


def content_hash(path: Path) -> str:
    """SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def content_name(sha256: str, *, prefix: str = "tunekit-", suffix: str = ".jsonl") -> str:
    """The remote name of a file: its content hash, so identical bytes are recognised by name."""
    return f"{prefix}{sha256}{suffix}"


def upload_once(
    path: Path,
    *,
    find: Callable[[str, int], Any | None],
    send: Callable[[str, int], Any],
    sha256: str | None = None,
) -> tuple[Any, RemoteFile]:
    """Upload ``path`` under its content name unless identical bytes are already there.

    ``find(name, size)`` returns the service's object for a file already
    uploaded under that name and size, or None; ``send(name, size)`` uploads
    and returns the new object (it sends its creating request through
    :meth:`RemoteConnection.create` with the same ``find``, so a lost
    response never leaves two files). Both objects must have an ``id``.
    Returns the service's object and what tunekit records about it.
    """
    sha256 = sha256 or content_hash(path)
    name = content_name(sha256)
    size = path.stat().st_size
    existing = find(name, size)
    if existing is not None:
        logger.info("reusing %s (%s): identical content already uploaded", existing.id, name)
        return existing, RemoteFile(str(existing.id), name, size, sha256, reused=True)
    created = send(name, size)
    logger.info("uploaded %s as %s (%d bytes)", path.name, created.id, size)
    return created, RemoteFile(str(created.id), name, size, sha256)


class _Recorder(Protocol):
    """What :func:`recorded_upload` needs of a run (``tunekit.provider.RunContext``)."""

    def intent(self, step: str, message: str = "", **data: Any) -> None: ...

    def outcome(self, step: str, message: str = "", **data: Any) -> None: ...


def recorded_upload(run: _Recorder, role: str, path: Path, upload: Callable[[Path, str], RemoteFile]) -> RemoteFile:
    """Upload one split (``upload(path, sha256)``) between the ledger's ``upload_<role>`` intent and outcome."""
    digest = content_hash(path)
    run.intent(f"upload_{role}", f"{path.name} sha256 {digest[:12]}", sha256=digest)
    remote = upload(path, digest)
    run.outcome(
        f"upload_{role}",
        f"{remote.id}{' (reused)' if remote.reused else ''}",
        file_id=remote.id,
        sha256=digest,
        reused=remote.reused,
        bytes=remote.bytes,
    )
    return remote
