"""``/files`` and ``/uploads``: multipart and chunked uploads, listing, retrieval, content, deletion."""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from tunekit_emulators.lifecycle import Lifecycle
from tunekit_emulators.openai.common import json_body, json_response, multipart, page, query_int
from tunekit_emulators.openai.errors import invalid_request, not_found
from tunekit_emulators.openai.store import FileRecord, OpenAIState, UploadRecord

__all__ = ["FILE_PURPOSES", "FileRoutes"]

FILE_PURPOSES = frozenset({"assistants", "batch", "fine-tune", "vision", "user_data", "evals"})
_FILE_PATH = ("uploaded", "processed")
_UNDOWNLOADABLE = frozenset({"fine-tune", "assistants"})
_MAX_PART = 64 * 1024 * 1024
_MAX_UPLOAD = 8 * 1024 * 1024 * 1024
_UPLOAD_TTL = 3600


class FileRoutes:
    """Handlers for files and uploads; ``file_lifecycle`` decides when an upload becomes ``processed``."""

    def __init__(self, state: OpenAIState, file_lifecycle: Lifecycle, *, processed_on_create: bool) -> None:
        self.state = state
        self.file_lifecycle = file_lifecycle
        self.processed_on_create = processed_on_create

    # --- helpers ------------------------------------------------------------------------------------------

    def tick(self, record: FileRecord) -> FileRecord:
        for target, at in self.file_lifecycle.due(_FILE_PATH, record.status, record.entered_at):
            if target == "processed" and record.failure:
                record.status, record.status_details = "error", record.failure
            else:
                record.status = target
            record.entered_at = at
        return record

    def get(self, file_id: str) -> FileRecord:
        record = self.state.files.get(file_id)
        if record is None:
            raise not_found(f"No such File object: {file_id}", param="id")
        return self.tick(record)

    def add_file(
        self,
        filename: str,
        purpose: str,
        content: bytes,
        expires_at: int | None = None,
        *,
        failure: str | None = None,
        processed: bool | None = None,
    ) -> FileRecord:
        state = self.state
        if purpose == "fine-tune" and not filename.lower().endswith(".jsonl"):
            raise invalid_request(
                f"Invalid file format for Fine-Tuning API. Must be .jsonl (got '{filename}').", param="file"
            )
        record = FileRecord(
            id=state.flavor.new_id(state.ids, state.flavor.file_id_prefix),
            filename=filename,
            purpose=purpose,
            content=content,
            created_at=state.now(),
            status="processed" if (self.processed_on_create if processed is None else processed) else "uploaded",
            entered_at=state.lifecycle.now(),
            expires_at=expires_at,
            failure=failure,
        )
        state.files[record.id] = record
        return record

    def advance(self, file_id: str) -> FileRecord:
        record = self.get(file_id)
        if record.status == "uploaded":
            record.status = "error" if record.failure else "processed"
            record.status_details = record.failure
        return record

    @staticmethod
    def _purpose(value: Any) -> str:
        if value is None or value == "":
            raise invalid_request(
                "Missing required parameter: 'purpose'.", param="purpose", code="missing_required_parameter"
            )
        if value not in FILE_PURPOSES:
            raise invalid_request(
                f"'{value}' is not one of {sorted(FILE_PURPOSES)} - 'purpose'", param="purpose", code="invalid_value"
            )
        return str(value)

    def _expires_at(self, anchor: Any, seconds: Any) -> int | None:
        if anchor is None and seconds is None:
            return None
        if anchor != "created_at":
            raise invalid_request("expires_after.anchor must be 'created_at'.", param="expires_after.anchor")
        try:
            ttl = int(seconds)
        except (TypeError, ValueError) as exc:
            raise invalid_request("expires_after.seconds must be an integer.", param="expires_after.seconds") from exc
        if not 3600 <= ttl <= 2_592_000:
            raise invalid_request(
                "expires_after.seconds must be between 3600 and 2592000.", param="expires_after.seconds"
            )
        return self.state.now() + ttl

    # --- /files -------------------------------------------------------------------------------------------

    async def create(self, request: Request) -> Response:
        form = await multipart(request)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise invalid_request(
                "Missing required parameter: 'file'.", param="file", code="missing_required_parameter"
            )
        purpose = self._purpose(form.get("purpose"))
        content = await upload.read()
        expires = self._expires_at(form.get("expires_after[anchor]"), form.get("expires_after[seconds]"))
        with self.state.lock:
            record = self.add_file(upload.filename or "file", purpose, content, expires)
            return json_response(record.to_api(self.state.flavor), status=self.state.flavor.file_create_status)

    async def list(self, request: Request) -> Response:
        purpose = request.query_params.get("purpose")
        order = request.query_params.get("order", "desc")
        if order not in ("asc", "desc"):
            raise invalid_request("order must be 'asc' or 'desc'.", param="order")
        limit = query_int(request, "limit", 10_000, high=10_000)
        with self.state.lock:
            records = [self.tick(r) for r in self.state.files.values() if purpose in (None, r.purpose)]
            if order == "desc":
                records.reverse()
            body = page(
                records,
                lambda r: r.to_api(self.state.flavor),
                lambda r: r.id,
                after=request.query_params.get("after"),
                limit=limit,
                with_bounds=True,
            )
        return json_response(body)

    async def retrieve(self, request: Request) -> Response:
        with self.state.lock:
            return json_response(self.get(request.path_params["file_id"]).to_api(self.state.flavor))

    async def delete(self, request: Request) -> Response:
        file_id = request.path_params["file_id"]
        with self.state.lock:
            self.get(file_id)
            del self.state.files[file_id]
        return json_response({"id": file_id, "object": "file", "deleted": True})

    async def content(self, request: Request) -> Response:
        with self.state.lock:
            record = self.get(request.path_params["file_id"])
            if record.purpose in _UNDOWNLOADABLE:
                raise invalid_request(f"Not allowed to download files of purpose: {record.purpose}")
            data = record.content
            media = "text/csv" if record.filename.endswith(".csv") else "application/octet-stream"
        return Response(data, media_type=media)

    # --- /uploads -----------------------------------------------------------------------------------------

    def _upload(self, upload_id: str) -> UploadRecord:
        record = self.state.uploads.get(upload_id)
        if record is None:
            raise not_found(f"Upload with ID {upload_id} not found.", param="upload_id")
        if record.status == "pending" and self.state.now() > record.expires_at:
            record.status = "expired"
        return record

    def _render_upload(self, record: UploadRecord) -> dict[str, Any]:
        file = self.state.files.get(record.file_id) if record.file_id else None
        return record.to_api(file.to_api(self.state.flavor) if file else None)

    async def create_upload(self, request: Request) -> Response:
        body = await json_body(request)
        for name in ("bytes", "filename", "mime_type", "purpose"):
            if body.get(name) in (None, ""):
                raise invalid_request(
                    f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter"
                )
        size = body["bytes"]
        if isinstance(size, bool) or not isinstance(size, int) or not 0 < size <= _MAX_UPLOAD:
            raise invalid_request("'bytes' must be a positive integer of at most 8 GB.", param="bytes")
        purpose = self._purpose(body["purpose"])
        filename = str(body["filename"])
        if purpose == "fine-tune" and not filename.lower().endswith(".jsonl"):
            raise invalid_request("Invalid file format for Fine-Tuning API. Must be .jsonl", param="filename")
        now = self.state.now()
        with self.state.lock:
            record = UploadRecord(
                id=self.state.ids.new("upload_"),
                filename=filename,
                purpose=purpose,
                size=size,
                mime_type=str(body["mime_type"]),
                created_at=now,
                expires_at=now + _UPLOAD_TTL,
            )
            self.state.uploads[record.id] = record
            return json_response(self._render_upload(record))

    async def add_part(self, request: Request) -> Response:
        form = await multipart(request)
        data = form.get("data")
        if not isinstance(data, UploadFile):
            raise invalid_request(
                "Missing required parameter: 'data'.", param="data", code="missing_required_parameter"
            )
        chunk = await data.read()
        if len(chunk) > _MAX_PART:
            raise invalid_request("Each part may be at most 64 MB.", param="data")
        with self.state.lock:
            record = self._upload(request.path_params["upload_id"])
            if record.status != "pending":
                raise invalid_request(f"Upload {record.id} is {record.status}; parts can only be added while pending.")
            part_id = self.state.ids.new("part_")
            record.parts[part_id] = chunk
            return json_response(
                {"id": part_id, "object": "upload.part", "created_at": self.state.now(), "upload_id": record.id}
            )

    async def complete(self, request: Request) -> Response:
        body = await json_body(request)
        part_ids = body.get("part_ids")
        if not isinstance(part_ids, list) or not part_ids:
            raise invalid_request(
                "Missing required parameter: 'part_ids'.", param="part_ids", code="missing_required_parameter"
            )
        with self.state.lock:
            record = self._upload(request.path_params["upload_id"])
            if record.status != "pending":
                raise invalid_request(f"Upload {record.id} is {record.status} and cannot be completed.")
            missing = [p for p in part_ids if p not in record.parts]
            if missing:
                raise invalid_request(f"Unknown part ids: {', '.join(map(str, missing))}.", param="part_ids")
            content = b"".join(record.parts[p] for p in part_ids)
            if len(content) != record.size:
                raise invalid_request(
                    f"The upload was declared as {record.size} bytes but its parts hold {len(content)} bytes.",
                    param="part_ids",
                )
            md5 = body.get("md5")
            if md5 and hashlib.md5(content, usedforsecurity=False).hexdigest() != md5:
                raise invalid_request("The md5 checksum does not match the uploaded parts.", param="md5")
            file = self.add_file(record.filename, record.purpose, content)
            record.file_id, record.status = file.id, "completed"
            record.parts.clear()
            return json_response(self._render_upload(record))

    async def cancel_upload(self, request: Request) -> Response:
        with self.state.lock:
            record = self._upload(request.path_params["upload_id"])
            if record.status != "pending":
                raise invalid_request(f"Upload {record.id} is {record.status} and cannot be cancelled.")
            record.status = "cancelled"
            record.parts.clear()
            return json_response(self._render_upload(record))
