"""Training files imported from a URL (an Azure Blob SAS URL) instead of uploaded.

Azure OpenAI can fetch a training file itself (``POST /openai/files/import``),
which spares sending a large file from the client. The URL carries its
access signature, so it is a secret: it travels only in the request body and
never reaches a log line, an error or the ledger; files are named by a hash
of the URL without its query.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any
from urllib.parse import urlsplit

from tunekit.plugin import ConfigError, get_logger, register_secret
from tunekit_openai.connection import Connection
from tunekit_openai.files import FAILED_STATES, PURPOSE, RemoteFile, wait_processed

__all__ = ["import_file", "import_name"]

logger = get_logger("tunekit.azure")

_CLOCK_SKEW_S = 300


def import_name(url: str, role: str) -> str:
    """The remote file name of an import: stable for one blob, free of its signature."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigError(f"provider_options.{role}_file_url must be an https URL (a Blob SAS URL)")
    digest = hashlib.sha256(f"{parts.hostname}{parts.path}".encode()).hexdigest()[:32]
    return f"tunekit-import-{role}-{digest}.jsonl"


def import_file(conn: Connection, url: str, *, role: str) -> RemoteFile:
    """Have Azure import ``url`` as a fine-tune file and wait until it is processed.

    A retry after a lost response first looks for the file the earlier attempt
    may have created (by name, created since this import began), so one
    import never leaves two files. An import from an earlier run is not
    reused: the blob may have changed since.
    """
    register_secret(url)
    name = import_name(url, role)
    started = time.time()

    def send() -> Any:
        from openai.types import FileObject

        body = {"purpose": PURPOSE, "filename": name, "content_url": url}
        return conn.client.post("/files/import", body=body, cast_to=FileObject)

    def find() -> Any | None:
        def scan() -> Any | None:
            for item in conn.client.files.list(purpose=PURPOSE):
                fresh = (item.created_at or 0) >= started - _CLOCK_SKEW_S
                if item.filename == name and fresh and str(item.status or "").lower() not in FAILED_STATES:
                    return item
            return None

        return conn.call(scan)

    created = conn.create(f"import {name}", send, find)
    logger.info("imported %s from %s as %s", role, urlsplit(url).hostname, created.id)
    processed = wait_processed(conn, created.id)
    return RemoteFile(created.id, name, int(getattr(processed, "bytes", 0) or 0), sha256="")
