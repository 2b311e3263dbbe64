"""Users, repositories, files and commits of the emulated Hub.

Everything lives in memory. Commit ids and blob ids are real SHA-1 digests
(blob ids in git's ``blob <size>\\0`` form), so ``huggingface_hub``'s own
"file unchanged, skip it" logic works against the emulator exactly as it does
against huggingface.co.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Literal

__all__ = [
    "REPO_TYPES",
    "Commit",
    "HubError",
    "HubRepo",
    "HubUser",
    "RepoStore",
    "RepoType",
    "StoredFile",
    "git_blob_id",
    "iso",
    "utcnow",
]

RepoType = Literal["model", "dataset", "space"]
REPO_TYPES: tuple[RepoType, ...] = ("model", "dataset", "space")

_GITATTRIBUTES = b"""*.bin filter=lfs diff=lfs merge=lfs -text
*.gguf filter=lfs diff=lfs merge=lfs -text
*.h5 filter=lfs diff=lfs merge=lfs -text
*.parquet filter=lfs diff=lfs merge=lfs -text
*.pt filter=lfs diff=lfs merge=lfs -text
*.safetensors filter=lfs diff=lfs merge=lfs -text
*.zip filter=lfs diff=lfs merge=lfs -text
"""


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    """The Hub's timestamp format: ``2025-06-01T12:00:00.123Z``."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def git_blob_id(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


class HubError(Exception):
    """An error the emulator answers with the Hub's status code, message and ``X-Error-Code``."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


@dataclass(frozen=True)
class HubUser:
    """An account with one access token; ``orgs`` are namespaces it may also write to."""

    name: str
    token: str
    orgs: tuple[str, ...] = ()
    fullname: str = ""
    role: Literal["read", "write"] = "write"

    def may_write(self, namespace: str) -> bool:
        return self.role == "write" and (namespace == self.name or namespace in self.orgs)

    def may_read(self, namespace: str) -> bool:
        return namespace == self.name or namespace in self.orgs


@dataclass(frozen=True)
class Commit:
    id: str
    title: str
    message: str
    author: str
    date: datetime


@dataclass(frozen=True)
class StoredFile:
    content: bytes
    last_commit: Commit

    @property
    def blob_id(self) -> str:
        return git_blob_id(self.content)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass
class HubRepo:
    repo_type: RepoType
    repo_id: str
    private: bool
    created_at: datetime
    files: dict[str, StoredFile] = field(default_factory=dict)
    commits: list[Commit] = field(default_factory=list)
    sdk: str | None = None
    hardware: str | None = None
    secrets: dict[str, tuple[str, str | None, datetime]] = field(default_factory=dict)
    """Space secrets: key -> (value, description, updated at). Values never leave the emulator."""
    variables: dict[str, tuple[str, str | None, datetime]] = field(default_factory=dict)

    @property
    def namespace(self) -> str:
        return self.repo_id.split("/", 1)[0]

    @property
    def sha(self) -> str:
        return self.commits[-1].id

    @property
    def last_modified(self) -> datetime:
        return self.commits[-1].date

    def url(self, endpoint: str) -> str:
        prefix = "" if self.repo_type == "model" else f"{self.repo_type}s/"
        return f"{endpoint}/{prefix}{self.repo_id}"


class RepoStore:
    """Repositories by type and id, with the Hub's access rules.

    A private repository is invisible (404 ``RepoNotFound``) to anyone but
    its namespace's members, as on the Hub, which never confirms that a
    private repository exists.
    """

    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self.clock = clock
        self.repos: dict[tuple[str, str], HubRepo] = {}
        self._counter = 0

    def reset(self) -> None:
        self.repos.clear()
        self._counter = 0

    def find(self, repo_type: str, repo_id: str) -> HubRepo | None:
        return self.repos.get((repo_type, repo_id))

    def get(self, repo_type: str, repo_id: str, user: HubUser | None) -> HubRepo:
        """A repository the caller may read, or the Hub's 401/404."""
        repo = self.find(repo_type, repo_id)
        if repo is not None and (not repo.private or (user is not None and user.may_read(repo.namespace))):
            return repo
        if user is None and repo is not None:
            raise HubError(401, "Invalid username or password.", "RepoNotFound")
        raise HubError(404, "Repository not found", "RepoNotFound")

    def writable(self, repo_type: str, repo_id: str, user: HubUser | None) -> HubRepo:
        if user is None:
            raise HubError(401, "Invalid username or password.")
        repo = self.get(repo_type, repo_id, user)
        if not user.may_write(repo.namespace):
            raise HubError(403, f"You don't have the rights to write to {repo_type}s/{repo_id}")
        return repo

    def create(
        self,
        repo_type: RepoType,
        repo_id: str,
        user: HubUser,
        *,
        private: bool,
        sdk: str | None = None,
        hardware: str | None = None,
    ) -> HubRepo:
        namespace, _, name = repo_id.partition("/")
        if not name or not _valid_name(name):
            raise HubError(400, f"Invalid repo name {name or repo_id!r}: use letters, digits, '-', '_' and '.'")
        if not user.may_write(namespace):
            raise HubError(403, f"You don't have the rights to create a {repo_type} under the namespace {namespace!r}")
        if (repo_type, repo_id) in self.repos:
            raise HubError(409, f"You already created this {repo_type} repo")
        repo = HubRepo(repo_type=repo_type, repo_id=repo_id, private=private, created_at=self.clock(), sdk=sdk)
        repo.hardware = hardware
        self.repos[(repo_type, repo_id)] = repo
        self.commit(repo, {".gitattributes": _GITATTRIBUTES}, [], title="initial commit", author=user.name)
        return repo

    def delete(self, repo_type: str, repo_id: str, user: HubUser | None) -> HubRepo:
        repo = self.writable(repo_type, repo_id, user)
        del self.repos[(repo_type, repo_id)]
        return repo

    def commit(
        self,
        repo: HubRepo,
        additions: dict[str, bytes],
        deletions: list[str],
        *,
        title: str,
        author: str,
        message: str = "",
        parent: str | None = None,
    ) -> Commit:
        if parent is not None and repo.commits and parent != repo.sha:
            raise HubError(412, "A commit has happened since. Please refresh and try again.")
        for path in deletions:
            folder = path.rstrip("/") + "/"
            matched = [p for p in repo.files if p == path or p.startswith(folder)]
            if not matched:
                raise HubError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
            for p in matched:
                del repo.files[p]
        self._counter += 1
        parent_sha = repo.sha if repo.commits else ""
        digest = hashlib.sha1(f"{repo.repo_id}\0{parent_sha}\0{title}\0{self._counter}".encode()).hexdigest()
        commit = Commit(id=digest, title=title, message=message, author=author, date=self.clock())
        for path, content in additions.items():
            repo.files[path] = StoredFile(content=content, last_commit=commit)
        repo.commits.append(commit)
        return commit


def _valid_name(name: str) -> bool:
    if len(name) > 96 or name.startswith(("-", ".")) or name.endswith(("-", ".")) or ".." in name or "--" in name:
        return False
    return all(c.isascii() and (c.isalnum() or c in "-_.") for c in name)
