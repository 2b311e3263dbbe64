"""``/fine_tuning/checkpoints/{checkpoint}/permissions``: share a tuned checkpoint with other projects.

The SDK's ``client.fine_tuning.checkpoints.permissions`` (create, retrieve, delete). A checkpoint is
any ``fine_tuned_model_checkpoint`` a job reported, or a fine-tuned model; anything else is a 404,
as on the service.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tunekit_emulators.openai.common import json_body, json_response, page, query_int
from tunekit_emulators.openai.errors import APIError, invalid_request
from tunekit_emulators.openai.store import OpenAIState

__all__ = ["PermissionRecord", "PermissionRoutes"]


@dataclass(frozen=True)
class PermissionRecord:
    id: str
    project_id: str
    created_at: int

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "checkpoint.permission",
            "created_at": self.created_at,
            "project_id": self.project_id,
        }


class PermissionRoutes:
    def __init__(self, state: OpenAIState) -> None:
        self.state = state
        self.granted: dict[str, list[PermissionRecord]] = {}

    def reset(self) -> None:
        self.granted.clear()

    def _checkpoint(self, request: Request) -> str:
        name = str(request.path_params["checkpoint"])
        known = name in self.state.models or any(
            checkpoint.model == name for job in self.state.jobs.values() for checkpoint in job.checkpoints
        )
        if not known:
            raise APIError(404, f"Checkpoint {name} not found.", code="checkpoint_not_found")
        return name

    async def create(self, request: Request) -> Response:
        body = await json_body(request)
        projects = body.get("project_ids")
        if not isinstance(projects, list) or not projects or not all(isinstance(p, str) and p for p in projects):
            raise invalid_request(
                "Invalid 'project_ids': expected a non-empty array of project ids.", param="project_ids"
            )
        with self.state.lock:
            checkpoint = self._checkpoint(request)
            granted = self.granted.setdefault(checkpoint, [])
            new = [
                PermissionRecord(self.state.ids.new("cp_", 24), project, self.state.now())
                for project in dict.fromkeys(projects)
                if project not in {p.project_id for p in granted}
            ]
            granted.extend(new)
            created = page(
                new, PermissionRecord.to_api, lambda p: p.id, after=None, limit=max(len(new), 1), with_bounds=True
            )
        return json_response(created)

    async def list(self, request: Request) -> Response:
        limit = query_int(request, "limit", 10, high=100)
        project = request.query_params.get("project_id")
        order = request.query_params.get("order", "descending")
        if order not in ("ascending", "descending"):
            raise invalid_request(f"Invalid value for 'order': {order!r}.", param="order")
        with self.state.lock:
            checkpoint = self._checkpoint(request)
            items = [p for p in self.granted.get(checkpoint, []) if project is None or p.project_id == project]
            if order == "descending":
                items = list(reversed(items))
            body = page(
                items,
                PermissionRecord.to_api,
                lambda p: p.id,
                after=request.query_params.get("after"),
                limit=limit,
                with_bounds=True,
            )
        return json_response(body)

    async def delete(self, request: Request) -> Response:
        permission_id = str(request.path_params["permission_id"])
        with self.state.lock:
            granted = self.granted.get(self._checkpoint(request), [])
            kept = [p for p in granted if p.id != permission_id]
            if len(kept) == len(granted):
                raise APIError(404, f"Permission {permission_id} not found.", code="permission_not_found")
            granted[:] = kept
        return json_response({"id": permission_id, "object": "checkpoint.permission", "deleted": True})
