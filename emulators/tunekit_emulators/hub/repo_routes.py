"""Accounts and repositories: whoami, create/delete, info, file trees, preupload + commit, downloads."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tunekit_emulators.hub.http import endpoint, json_body, optional_user, require_user
from tunekit_emulators.hub.state import HubState
from tunekit_emulators.hub.store import REPO_TYPES, HubError, HubRepo, RepoType, StoredFile, iso

__all__ = ["repo_routes"]

_SPACE_SDKS = ("gradio", "docker", "static", "streamlit")
_WEIGHT_FILES = ("adapter_model.safetensors", "model.safetensors", "adapter_model.bin", "pytorch_model.bin")


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _repo_id(request: Request) -> str:
    return f"{request.path_params['namespace']}/{request.path_params['name']}"


def _check_revision(repo: HubRepo, revision: str) -> None:
    if revision not in ("main", repo.sha):
        raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")


async def whoami(request: Request, state: HubState) -> Response:
    user = require_user(request, state)
    return JSONResponse(
        {
            "type": "user",
            "id": hashlib.sha1(user.name.encode()).hexdigest()[:24],
            "name": user.name,
            "fullname": user.fullname,
            "email": f"{user.name}@example.com",
            "emailVerified": True,
            "canPay": True,
            "isPro": False,
            "periodEnd": None,
            "orgs": [{"type": "org", "name": org, "fullname": org, "roleInOrg": "write"} for org in user.orgs],
            "auth": {
                "type": "access_token",
                "accessToken": {
                    "displayName": "tunekit-emulator",
                    "role": user.role,
                    "createdAt": "2025-01-01T00:00:00.000Z",
                },
            },
        }
    )


async def create_repo(request: Request, state: HubState) -> Response:
    user = require_user(request, state)
    body = await json_body(request)
    name = str(body.get("name") or "")
    namespace = str(body.get("organization") or user.name)
    repo_type = str(body.get("type") or "model")
    if repo_type not in REPO_TYPES:
        raise HubError(400, f"Invalid repo type {repo_type!r}")
    visibility = body.get("visibility")
    private = visibility == "private" if visibility is not None else bool(body.get("private", False))
    sdk = body.get("sdk")
    if repo_type == "space" and sdk not in _SPACE_SDKS:
        raise HubError(400, f"Invalid sdk {sdk!r}: use one of {', '.join(_SPACE_SDKS)}")
    repo_id = f"{namespace}/{name}"
    with state.lock:
        try:
            repo = state.store.create(
                repo_type,
                repo_id,
                user,
                private=private,
                sdk=sdk if repo_type == "space" else None,
                hardware=body.get("hardware") or ("cpu-basic" if repo_type == "space" else None),
            )
        except HubError as exc:
            if exc.status == 409:
                existing = state.store.find(repo_type, repo_id)
                url = existing.url(_base_url(request)) if existing else ""
                return JSONResponse({"error": exc.message, "url": url}, status_code=409)
            raise
        now = state.clock()
        for item in body.get("secrets") or []:
            repo.secrets[str(item["key"])] = (str(item["value"]), item.get("description"), now)
        for item in body.get("variables") or []:
            repo.variables[str(item["key"])] = (str(item["value"]), item.get("description"), now)
    return JSONResponse({"url": repo.url(_base_url(request)), "name": repo_id, "id": repo_id})


async def delete_repo(request: Request, state: HubState) -> Response:
    user = require_user(request, state)
    body = await json_body(request)
    namespace = str(body.get("organization") or user.name)
    repo_type = str(body.get("type") or "model")
    repo_id = f"{namespace}/{body.get('name', '')}"
    with state.lock:
        state.store.delete(repo_type, repo_id, user)
        if repo_type == "space":
            state.spaces.pop(repo_id, None)
    return Response(status_code=200)


async def validate_yaml(request: Request, state: HubState) -> Response:
    """Check a README's YAML front matter, as the Hub does before a commit that adds one."""
    import yaml

    content = str((await json_body(request)).get("content") or "")
    if not content.startswith("---"):
        return JSONResponse({"warnings": [{"message": "Empty or missing yaml metadata in repo card"}], "errors": []})
    header = content[3:].split("\n---", 1)[0]
    try:
        metadata = yaml.safe_load(header)
    except yaml.YAMLError as exc:
        return JSONResponse({"errors": [{"message": f"Invalid YAML: {exc}"}], "warnings": []}, status_code=400)
    if metadata is not None and not isinstance(metadata, dict):
        return JSONResponse({"errors": [{"message": "metadata must be a mapping"}], "warnings": []}, status_code=400)
    return JSONResponse({"errors": [], "warnings": []})


def _siblings(repo: HubRepo, blobs: bool) -> list[dict[str, Any]]:
    out = []
    for path, stored in sorted(repo.files.items()):
        item: dict[str, Any] = {"rfilename": path}
        if blobs:
            item["size"] = len(stored.content)
            item["blobId"] = stored.blob_id
        out.append(item)
    return out


def repo_json(repo: HubRepo, state: HubState, *, blobs: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "_id": hashlib.sha1(repo.repo_id.encode()).hexdigest()[:24],
        "id": repo.repo_id,
        "author": repo.namespace,
        "sha": repo.sha,
        "private": repo.private,
        "disabled": False,
        "gated": False,
        "createdAt": iso(repo.created_at),
        "lastModified": iso(repo.last_modified),
        "likes": 0,
        "downloads": 0,
        "tags": [],
        "siblings": _siblings(repo, blobs),
        "usedStorage": sum(len(f.content) for f in repo.files.values()),
    }
    if repo.repo_type == "model":
        adapter = "adapter_config.json" in repo.files
        data["library_name"] = "peft" if adapter else ("transformers" if "config.json" in repo.files else None)
        data["pipeline_tag"] = "text-generation" if any(f in repo.files for f in _WEIGHT_FILES) else None
        data["tags"] = ["peft", "safetensors"] if adapter else data["tags"]
    if repo.repo_type == "space":
        data["sdk"] = repo.sdk
        data["runtime"] = state.space_runtime(repo)
        data["subdomain"] = repo.repo_id.replace("/", "-")
    return data


def _info(repo_type: RepoType) -> Any:
    async def info(request: Request, state: HubState) -> Response:
        user = optional_user(request, state)
        with state.lock:
            repo = state.store.get(repo_type, _repo_id(request), user)
            revision = request.path_params.get("revision", "main")
            _check_revision(repo, revision)
            return JSONResponse(repo_json(repo, state, blobs=_truthy(request.query_params.get("blobs"))))

    return info


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")


def _tree(repo_type: RepoType) -> Any:
    async def tree(request: Request, state: HubState) -> Response:
        user = optional_user(request, state)
        recursive = _truthy(request.query_params.get("recursive"))
        expand = _truthy(request.query_params.get("expand"))
        with state.lock:
            repo = state.store.get(repo_type, _repo_id(request), user)
            _check_revision(repo, request.path_params["revision"])
            prefix = request.path_params.get("path", "").strip("/")
            entries = _tree_entries(repo, prefix, recursive=recursive, expand=expand)
        if prefix and not entries:
            raise HubError(404, f'{prefix} does not exist on "main"', "EntryNotFound")
        return JSONResponse(entries)

    return tree


def _tree_entries(repo: HubRepo, prefix: str, *, recursive: bool, expand: bool) -> list[dict[str, Any]]:
    base = prefix + "/" if prefix else ""
    files: list[dict[str, Any]] = []
    folders: dict[str, None] = {}
    for path, stored in sorted(repo.files.items()):
        if not path.startswith(base):
            continue
        rest = path[len(base) :]
        parts = rest.split("/")
        for depth in range(1, len(parts)):
            if depth == 1 or recursive:
                folders.setdefault(base + "/".join(parts[:depth]), None)
        if len(parts) == 1 or recursive:
            files.append(_file_entry(path, stored, expand))
    dirs = [{"type": "directory", "oid": hashlib.sha1(p.encode()).hexdigest(), "path": p, "size": 0} for p in folders]
    return dirs + files


def _file_entry(path: str, stored: StoredFile, expand: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": "file", "oid": stored.blob_id, "size": len(stored.content), "path": path}
    if expand:
        commit = stored.last_commit
        entry["lastCommit"] = {"id": commit.id, "title": commit.title, "date": iso(commit.date)}
    return entry


def _preupload(repo_type: RepoType) -> Any:
    async def preupload(request: Request, state: HubState) -> Response:
        user = require_user(request, state)
        body = await json_body(request)
        with state.lock:
            repo = state.store.writable(repo_type, _repo_id(request), user)
            _check_revision(repo, request.path_params["revision"])
            files = []
            for item in body.get("files") or []:
                path = str(item.get("path", ""))
                existing = repo.files.get(path)
                files.append(
                    {
                        "path": path,
                        "uploadMode": "regular",
                        "shouldIgnore": False,
                        "oid": existing.blob_id if existing else None,
                    }
                )
            return JSONResponse({"files": files, "commitOid": repo.sha})

    return preupload


def _commit(repo_type: RepoType) -> Any:
    async def commit(request: Request, state: HubState) -> Response:
        user = require_user(request, state)
        if _truthy(request.query_params.get("create_pr")):
            raise HubError(400, "Pull requests are not supported by the tunekit Hub emulator")
        header, additions, deletions = _parse_commit(await request.body())
        with state.lock:
            repo = state.store.writable(repo_type, _repo_id(request), user)
            _check_revision(repo, request.path_params["revision"])
            done = state.store.commit(
                repo,
                additions,
                deletions,
                title=str(header.get("summary") or "Upload files"),
                message=str(header.get("description") or ""),
                author=user.name,
                parent=header.get("parentCommit"),
            )
            if repo_type == "space" and repo.sdk == "docker" and "Dockerfile" in repo.files:
                state.start_space(repo)
        url = f"{repo.url(_base_url(request))}/commit/{done.id}"
        return JSONResponse(
            {"success": True, "commitOid": done.id, "commitUrl": url, "hookOutput": "", "pullRequestUrl": None}
        )

    return commit


def _parse_commit(raw: bytes) -> tuple[dict[str, Any], dict[str, bytes], list[str]]:
    header: dict[str, Any] = {}
    additions: dict[str, bytes] = {}
    deletions: list[str] = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            key, value = item["key"], item["value"]
        except (json.JSONDecodeError, KeyError, TypeError):
            raise HubError(400, f"Invalid commit payload at line {number}") from None
        if key == "header":
            header = value
        elif key == "file":
            if value.get("encoding") != "base64":
                raise HubError(400, f"Unsupported encoding {value.get('encoding')!r} for {value.get('path')}")
            try:
                additions[str(value["path"])] = base64.b64decode(value["content"], validate=True)
            except (binascii.Error, KeyError):
                raise HubError(400, f"Invalid base64 content for {value.get('path')}") from None
        elif key in ("deletedFile", "deletedFolder"):
            deletions.append(str(value["path"]))
        elif key == "lfsFile":
            raise HubError(422, f"LFS object {value.get('oid')} for {value.get('path')} was never uploaded")
        else:
            raise HubError(400, f"Unknown commit operation {key!r}")
    if not header.get("summary"):
        raise HubError(400, "A commit needs a summary")
    return header, additions, deletions


def _commits(repo_type: RepoType) -> Any:
    async def commits(request: Request, state: HubState) -> Response:
        user = optional_user(request, state)
        with state.lock:
            repo = state.store.get(repo_type, _repo_id(request), user)
            _check_revision(repo, request.path_params["revision"])
            items = [
                {
                    "id": c.id,
                    "title": c.title,
                    "message": c.message,
                    "date": iso(c.date),
                    "authors": [{"user": c.author}],
                }
                for c in reversed(repo.commits)
            ]
        return JSONResponse(items)

    return commits


def _resolve(repo_type: RepoType) -> Any:
    async def resolve(request: Request, state: HubState) -> Response:
        user = optional_user(request, state)
        with state.lock:
            repo = state.store.get(repo_type, _repo_id(request), user)
            _check_revision(repo, request.path_params["revision"])
            stored = repo.files.get(request.path_params["path"])
            if stored is None:
                raise HubError(404, "Entry not found", "EntryNotFound")
            headers = {
                "X-Repo-Commit": repo.sha,
                "ETag": f'"{stored.blob_id}"',
                "Content-Length": str(len(stored.content)),
                "Content-Type": "application/octet-stream",
            }
        body = b"" if request.method == "HEAD" else stored.content
        return Response(body, headers=headers)

    return resolve


def repo_routes(state: HubState) -> list[Route]:
    routes = [
        Route("/api/whoami-v2", endpoint(state, whoami)),
        Route("/api/repos/create", endpoint(state, create_repo), methods=["POST"]),
        Route("/api/repos/delete", endpoint(state, delete_repo), methods=["DELETE"]),
        Route("/api/validate-yaml", endpoint(state, validate_yaml), methods=["POST"]),
    ]
    for repo_type in REPO_TYPES:
        api = f"/api/{repo_type}s/{{namespace}}/{{name}}"
        web = "" if repo_type == "model" else f"/{repo_type}s"
        routes += [
            Route(api, endpoint(state, _info(repo_type))),
            Route(f"{api}/revision/{{revision}}", endpoint(state, _info(repo_type))),
            Route(f"{api}/tree/{{revision}}", endpoint(state, _tree(repo_type))),
            Route(f"{api}/tree/{{revision}}/{{path:path}}", endpoint(state, _tree(repo_type))),
            Route(f"{api}/preupload/{{revision}}", endpoint(state, _preupload(repo_type)), methods=["POST"]),
            Route(f"{api}/commit/{{revision}}", endpoint(state, _commit(repo_type)), methods=["POST"]),
            Route(f"{api}/commits/{{revision}}", endpoint(state, _commits(repo_type))),
            Route(
                f"{web}/{{namespace}}/{{name}}/resolve/{{revision}}/{{path:path}}",
                endpoint(state, _resolve(repo_type)),
                methods=["GET", "HEAD"],
            ),
        ]
    return routes
