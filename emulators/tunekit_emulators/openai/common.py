"""Request parsing, pagination and response helpers shared by the OpenAI-shaped routes."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from tunekit_emulators.openai.errors import APIError, invalid_request

__all__ = ["json_body", "json_response", "multipart", "page", "query_int"]

T = TypeVar("T")

_MAX_FORM_PART = 512 * 1024 * 1024


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(body, status_code=status, headers=headers, media_type="application/json")


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        data = json.loads(raw) if raw.strip() else None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise invalid_request(
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
            "HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)"
        ) from exc
    if not isinstance(data, dict):
        raise invalid_request("The request body must be a JSON object.")
    return data


async def multipart(request: Request) -> FormData:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise invalid_request(
            f"Invalid Content-Type header ({content_type or 'none'}), expected multipart/form-data.",
            code="invalid_content_type",
        )
    try:
        return await request.form(max_part_size=_MAX_FORM_PART)
    except Exception as exc:  # starlette raises MultiPartException/HTTPException for malformed bodies
        raise invalid_request(f"Could not parse multipart form: {exc}") from exc


def query_int(request: Request, name: str, default: int, *, low: int = 1, high: int = 10_000) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise invalid_request(f"Invalid '{name}': expected an integer, got {raw!r}.", param=name) from exc
    if not low <= value <= high:
        raise invalid_request(f"Invalid '{name}': must be between {low} and {high}, got {value}.", param=name)
    return value


def page(
    items: Sequence[T],
    render: Callable[[T], dict[str, Any]],
    key: Callable[[T], str],
    *,
    after: str | None,
    limit: int,
    with_bounds: bool = False,
) -> dict[str, Any]:
    """An OpenAI cursor page over ``items`` (already in listing order), starting after id ``after``."""
    start = 0
    if after:
        ids = [key(item) for item in items]
        start = ids.index(after) + 1 if after in ids else len(items)
    chunk = items[start : start + limit]
    data = [render(item) for item in chunk]
    body: dict[str, Any] = {"object": "list", "data": data, "has_more": start + limit < len(items)}
    if with_bounds:
        body["first_id"] = data[0]["id"] if data else None
        body["last_id"] = data[-1]["id"] if data else None
    return body


def require(condition: bool, error: APIError) -> None:
    if not condition:
        raise error
