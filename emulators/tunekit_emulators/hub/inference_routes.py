"""OpenAI-compatible chat completions for Hub models, as HF inference serves them.

``InferenceClient(base_url=f"{endpoint}/models/{repo}")`` posts to
``/models/{repo}/v1/chat/completions``; ``/v1/chat/completions`` takes the model
from the body. A model repository must hold weights (an adapter or a full
model) to be served; ids that are not repositories of the emulator stand for
public base models and are always served.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tunekit_emulators.hub.http import endpoint, json_body, optional_user
from tunekit_emulators.hub.state import HubState
from tunekit_emulators.hub.store import HubError

__all__ = ["chat_for_model", "inference_routes", "reply_text"]

_WEIGHTS = ("adapter_model.safetensors", "model.safetensors", "adapter_model.bin", "pytorch_model.bin")


def reply_text(model: str, messages: list[dict[str, Any]]) -> str:
    """A deterministic answer that names the model and echoes the last user turn."""
    last = next((m for m in reversed(messages) if m.get("role") == "user"), {"content": ""})
    content = last.get("content")
    if isinstance(content, list):
        content = " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return f"[{model}] {str(content or '').strip()}".strip()


def _check_servable(state: HubState, request: Request, model: str) -> None:
    user = optional_user(request, state)
    with state.lock:
        repo = state.store.find("model", model)
        if repo is None:
            return
        state.store.get("model", model, user)
        if not any(name in repo.files for name in _WEIGHTS):
            raise HubError(400, f"Model {model} has no weights to serve (no adapter or model files)")


def _completion(model: str, messages: list[dict[str, Any]], max_tokens: int | None) -> tuple[str, str, int, int]:
    words = reply_text(model, messages).split(" ")
    finish = "stop"
    if max_tokens is not None and len(words) > max_tokens:
        words, finish = words[:max_tokens], "length"
    prompt_tokens = sum(len(str(m.get("content", "")).split()) + 4 for m in messages)
    return " ".join(words), finish, prompt_tokens, len(words)


async def _chat(request: Request, state: HubState, model: str) -> Response:
    body = await json_body(request)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise HubError(422, "messages must be a non-empty list")
    _check_servable(state, request, model)
    text, finish, prompt_tokens, completion_tokens = _completion(model, messages, body.get("max_tokens"))
    created = int(time.time())
    completion_id = "chatcmpl-" + hashlib.sha1(f"{model}{messages}{created}".encode()).hexdigest()[:24]
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    if not body.get("stream"):
        return JSONResponse(
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "system_fingerprint": "tunekit-hub-emulator",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": finish,
                        "logprobs": None,
                    }
                ],
                "usage": usage,
            }
        )

    async def chunks() -> AsyncIterator[bytes]:
        pieces = text.split(" ")
        for index, piece in enumerate(pieces):
            delta = {"role": "assistant", "content": piece if index == 0 else " " + piece}
            chunk = _chunk(completion_id, created, model, delta, None)
            yield f"data: {json.dumps(chunk)}\n\n".encode()
        final = _chunk(completion_id, created, model, {}, finish)
        if (body.get("stream_options") or {}).get("include_usage"):
            final["usage"] = usage
        yield f"data: {json.dumps(final)}\n\n".encode()
        yield b"data: [DONE]\n\n"

    return StreamingResponse(chunks(), media_type="text/event-stream")


def _chunk(cid: str, created: int, model: str, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": "tunekit-hub-emulator",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
    }


async def chat_for_model(request: Request, state: HubState, model: str) -> Response:
    """Chat with ``model`` (a Hub repository or a base model id), as a server that serves it answers."""
    return await _chat(request, state, model)


async def chat_by_body(request: Request, state: HubState) -> Response:
    body = await json_body(request)
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise HubError(422, "model is required")
    return await _chat(request, state, model)


async def chat_by_path(request: Request, state: HubState) -> Response:
    return await _chat(request, state, f"{request.path_params['namespace']}/{request.path_params['name']}")


def inference_routes(state: HubState) -> list[Route]:
    return [
        Route("/v1/chat/completions", endpoint(state, chat_by_body), methods=["POST"]),
        Route("/models/{namespace}/{name}/v1/chat/completions", endpoint(state, chat_by_path), methods=["POST"]),
    ]
