"""Training files on OpenAI: uploaded once per content, waited on until processed.

A file is named after the SHA-256 of its bytes (``tunekit-<sha256>.jsonl``),
so identical data already uploaded, by this run or any other, is found by
listing the organization's fine-tune files and reused instead of sent again.
Files up to ``multipart_threshold`` (512 MB) go through the Files API; larger
ones through the Uploads API in parts of at most 64 MB.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any, Literal

from tunekit.plugin import (
    InvalidRequestError,
    RemoteFile,
    ServiceUnavailableError,
    content_hash,
    get_logger,
    upload_once,
)
from tunekit_openai.connection import Connection

__all__ = ["RemoteFile", "content_hash", "find_uploaded", "upload_file", "wait_processed"]

logger = get_logger("tunekit.openai")

PURPOSE: Literal["fine-tune"] = "fine-tune"
MIME_TYPE = "text/jsonl"
_MAX_FILE_POLL_WAIT = 30.0

READY_STATES = frozenset({"processed", "succeeded"})
"""File states that a job may use (Azure says ``succeeded``)."""
FAILED_STATES = frozenset({"error", "failed", "deleted"})


def find_uploaded(conn: Connection, name: str, size: int) -> Any | None:
    """The newest usable fine-tune file with this name and size, or None."""

    def scan() -> Any | None:
        for item in conn.client.files.list(purpose=PURPOSE, order="desc"):
            if item.filename == name and item.bytes == size and str(item.status or "").lower() not in FAILED_STATES:
                return item
        return None

    return conn.call(scan)


def upload_file(conn: Connection, path: Path, *, sha256: str | None = None) -> RemoteFile:
    """Upload ``path`` for fine-tuning unless identical bytes are already there; wait until processed."""

    def find(name: str, size: int) -> Any | None:
        return find_uploaded(conn, name, size)

    def send(name: str, size: int) -> Any:
        if size <= conn.options.multipart_threshold:
            return _upload_small(conn, path, name, size)
        return _upload_parts(conn, path, name, size)

    item, remote = upload_once(path, find=find, send=send, sha256=sha256)
    wait_processed(conn, item.id)
    return remote


def _upload_small(conn: Connection, path: Path, name: str, size: int) -> Any:
    def send() -> Any:
        with path.open("rb") as handle:
            return conn.client.files.create(file=(name, handle, MIME_TYPE), purpose=PURPOSE)

    return conn.create(f"upload {name}", send, lambda: find_uploaded(conn, name, size))


def _upload_parts(conn: Connection, path: Path, name: str, size: int) -> Any:
    client = conn.client
    # An Upload that is never completed expires on its own, so creating one twice costs nothing.
    upload = conn.call(client.uploads.create, bytes=size, filename=name, mime_type=MIME_TYPE, purpose=PURPOSE)
    part_ids: list[str] = []
    md5 = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(conn.options.part_size), b""):
            md5.update(block)
            # A part sent twice is harmless: only the ids listed at completion count.
            part = conn.call(client.uploads.parts.create, upload_id=upload.id, data=block)
            part_ids.append(part.id)
            logger.debug("uploaded part %d of %s (%d bytes)", len(part_ids), name, len(block))

    def send() -> Any:
        done = client.uploads.complete(upload.id, part_ids=part_ids, md5=md5.hexdigest())
        if done.file is None:
            raise ServiceUnavailableError(f"upload {upload.id} completed without a file", provider=conn.provider)
        return done.file

    return conn.create(f"complete upload {upload.id}", send, lambda: find_uploaded(conn, name, size))


def wait_processed(conn: Connection, file_id: str) -> Any:
    """Poll the file until it is processed, with a doubling wait and the configured deadline."""
    options = conn.options
    deadline = time.monotonic() + options.file_processing_timeout
    wait = options.file_poll_interval
    while True:
        item = conn.call(conn.client.files.retrieve, file_id)
        status = str(item.status or "").lower()
        if status in READY_STATES:
            return item
        if status in FAILED_STATES:
            raise InvalidRequestError(
                f"OpenAI could not process file {file_id}",
                provider=conn.provider,
                provider_message=item.status_details,
                param="training_file",
            )
        if time.monotonic() + wait > deadline:
            raise ServiceUnavailableError(
                f"file {file_id} is still {item.status} after {options.file_processing_timeout:g} s",
                provider=conn.provider,
                hint="Run the same command again later: the upload is reused, not repeated.",
            )
        time.sleep(wait)
        wait = min(wait * 2, _MAX_FILE_POLL_WAIT)
