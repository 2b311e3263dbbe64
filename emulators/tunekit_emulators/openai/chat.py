"""``/chat/completions`` (plain and SSE-streamed) and ``/models``.

Answers are deterministic: a fine-tuned model replays the assistant reply it memorized for the
conversation's last user message (see :mod:`tunekit_emulators.openai.training`) and otherwise answers
like its base model; a base model echoes the first line of the last user message (asked at a
temperature above 0, it samples among a few variants of that echo, in a fixed order). Token usage comes
from :mod:`tunekit_emulators.openai.tokens`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from tunekit_emulators.openai.common import json_body, json_response
from tunekit_emulators.openai.errors import APIError, invalid_request, not_found
from tunekit_emulators.openai.store import ModelRecord, OpenAIState
from tunekit_emulators.openai.tokens import count_message_tokens, count_tokens, message_text, split_tokens
from tunekit_emulators.openai.tools import arguments_for, check_tools, tool_to_call
from tunekit_emulators.openai.training import base_model_answer, normalize_prompt, sampled_base_answer
from tunekit_emulators.ratelimit import RateLimiter

__all__ = ["ChatRoutes", "Completion"]

_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
_BASE_CREATED = 1_700_000_000
_FINGERPRINT = "fp_tk0emulator"


@dataclass(frozen=True)
class Completion:
    """One computed answer, before rendering."""

    model: str
    text: str
    prompt_tokens: int
    completion_pieces: list[str]
    finish_reason: str
    tool_call: Mapping[str, Any] | None = None
    """The function the model calls (``name``, JSON ``arguments``) instead of answering in text."""


def _positive_int(body: Mapping[str, Any], name: str, high: int = 1_000_000) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise invalid_request(f"Invalid '{name}': expected an integer between 1 and {high}.", param=name)
    return value


class ChatRoutes:
    def __init__(self, state: OpenAIState, limiter: RateLimiter, *, token_latency: float = 0.0) -> None:
        self.state = state
        self.limiter = limiter
        self.token_latency = token_latency
        self._draws = itertools.count()
        """Which variant the next sampled base-model answer takes (see :func:`sampled_base_answer`)."""
        self.resolve: Callable[[str], tuple[str, str]] = lambda model: (model, model)
        """Maps the requested ``model`` to (model that answers, model named in the response); Azure maps
        deployment names here."""

    # --- models -------------------------------------------------------------------------------------------

    def tuned(self, model: str) -> ModelRecord | None:
        return self.state.models.get(model)

    def exists(self, model: str) -> bool:
        return model in self.state.flavor.chat_models or model in self.state.models

    def _model_error(self, model: str) -> APIError:
        return not_found(
            f"The model `{model}` does not exist or you do not have access to it.",
            param="model",
            code="model_not_found",
        )

    def _base_model(self, model: str) -> dict[str, Any]:
        data: dict[str, Any] = {"id": model, "object": "model", "created": _BASE_CREATED, "owned_by": "system"}
        if model in self.state.shutdown_dates:
            data["shutdown_date"] = self.state.shutdown_dates[model]
        return data

    async def list_models(self, request: Request) -> Response:
        with self.state.lock:
            data = [self._base_model(m) for m in self.state.flavor.chat_models]
            data += [m.to_api() for m in self.state.models.values()]
        return json_response({"object": "list", "data": data})

    async def retrieve_model(self, request: Request) -> Response:
        model = request.path_params["model"]
        with self.state.lock:
            record = self.tuned(model)
            if record is not None:
                return json_response(record.to_api())
            if model in self.state.flavor.chat_models:
                return json_response(self._base_model(model))
        raise self._model_error(model)

    async def delete_model(self, request: Request) -> Response:
        model = request.path_params["model"]
        with self.state.lock:
            if model in self.state.flavor.chat_models:
                raise APIError(
                    403, "You have insufficient permissions for this operation.", code="insufficient_permissions"
                )
            if self.state.models.pop(model, None) is None:
                raise self._model_error(model)
        return json_response({"id": model, "object": "model", "deleted": True})

    # --- completions --------------------------------------------------------------------------------------

    def _validate(self, body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        messages = body.get("messages")
        if messages is None:
            raise invalid_request(
                "Missing required parameter: 'messages'.", param="messages", code="missing_required_parameter"
            )
        if not isinstance(messages, list) or not messages:
            raise invalid_request(
                "Invalid 'messages': empty array. Expected an array with minimum length 1.",
                param="messages",
                code="empty_array",
            )
        for index, message in enumerate(messages):
            if not isinstance(message, dict) or message.get("role") not in _ROLES:
                role = message.get("role") if isinstance(message, dict) else None
                raise invalid_request(
                    f"Invalid value: '{role}'. Supported values are: 'system', 'assistant', 'user', 'function', "
                    "'tool', and 'developer'.",
                    param=f"messages[{index}].role",
                    code="invalid_value",
                )
        temperature = body.get("temperature")
        if temperature is not None and (not isinstance(temperature, int | float) or not 0 <= temperature <= 2):
            raise invalid_request(
                f"Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got {temperature}.",
                param="temperature",
                code="decimal_above_max_value",
            )
        if body.get("stream_options") is not None and not body.get("stream"):
            raise invalid_request(
                "The 'stream_options' parameter is only allowed when 'stream' is enabled.", param="stream_options"
            )
        return messages

    def answer(self, model: str, body: Mapping[str, Any]) -> Completion:
        """Compute the reply for ``model`` (already resolved: a base or fine-tuned model id)."""
        messages = self._validate(body)
        tools = check_tools(body)
        limit = _positive_int(body, "max_completion_tokens") or _positive_int(body, "max_tokens")
        last_user = next((message_text(m) for m in reversed(messages) if m.get("role") == "user"), "")
        with self.state.lock:
            record = self.tuned(model)
            if record is None and model not in self.state.flavor.chat_models:
                raise self._model_error(model)
            memorized = record.replies.get(normalize_prompt(last_user)) if record is not None else None
        function = tool_to_call(tools, body.get("tool_choice", "auto"), messages, last_user)
        if function is not None:
            arguments = arguments_for(function, last_user)
            call = {"name": str(function["name"]), "arguments": arguments}
            prompt = count_message_tokens(messages) + count_tokens(json.dumps(tools))
            return Completion(model, "", prompt, split_tokens(arguments), "tool_calls", call)
        temperature = body.get("temperature")
        if memorized is not None:
            text = memorized
        elif isinstance(temperature, int | float) and temperature > 0:
            with self.state.lock:  # requests arrive concurrently: each draw is taken once
                draw = next(self._draws)
            text = sampled_base_answer(last_user, draw)
        else:
            text = base_model_answer(last_user)
        finish = "stop"
        stop = body.get("stop")
        stops = [stop] if isinstance(stop, str) else [s for s in (stop or []) if isinstance(s, str) and s]
        for marker in stops:
            if marker in text:
                text = text[: text.index(marker)]
        pieces = split_tokens(text)
        if limit is not None and len(pieces) > limit:
            pieces, finish = pieces[:limit], "length"
        return Completion(model, "".join(pieces), count_message_tokens(messages), pieces, finish)

    async def create(self, request: Request) -> Response:
        body = await json_body(request)
        model = body.get("model")
        if not model or not isinstance(model, str):
            raise invalid_request(
                "Missing required parameter: 'model'.", param="model", code="missing_required_parameter"
            )
        with self.state.lock:
            actual, shown = self.resolve(model)
        return await self.respond(actual, body, response_model=shown)

    async def respond(self, model: str, body: Mapping[str, Any], *, response_model: str | None = None) -> Response:
        completion = self.answer(model, body)
        n = _positive_int(body, "n", 128) or 1
        decision = self.limiter.acquire(completion.prompt_tokens + len(completion.completion_pieces) * n)
        if not decision.allowed:
            kind = decision.limited_by or "requests"
            unit = "requests per min (RPM)" if kind == "requests" else "tokens per min (TPM)"
            raise APIError(
                429,
                f"Rate limit reached for {model} in organization org-{self.state.flavor.organization} on {unit}. "
                f"Please try again in {decision.retry_after:.3f}s.",
                type=kind,
                code="rate_limit_exceeded",
                headers={**decision.headers, "retry-after": f"{max(decision.retry_after, 0.001):.3f}"},
            )
        shown = response_model or completion.model
        completion_id = self.state.ids.new("chatcmpl-", 29)
        created = int(time.time())
        if body.get("stream"):
            options = body.get("stream_options") or {}
            include_usage = bool(isinstance(options, Mapping) and options.get("include_usage"))
            stream = self._stream(completion, completion_id, created, shown, n, include_usage)
            return StreamingResponse(stream, media_type="text/event-stream", headers=decision.headers)
        if self.token_latency:
            await asyncio.sleep(self.token_latency * len(completion.completion_pieces))
        choices: list[dict[str, Any]] = [
            {
                "index": i,
                "message": self._message(completion, completion_id, i),
                "logprobs": None,
                "finish_reason": completion.finish_reason,
            }
            for i in range(n)
        ]
        payload = {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": shown,
            "choices": choices,
            "usage": _usage(completion, n),
            "service_tier": "default",
            "system_fingerprint": _FINGERPRINT,
        }
        return json_response(payload, headers=decision.headers)

    @staticmethod
    def _call_id(completion_id: str, index: int) -> str:
        return f"call_{completion_id.removeprefix('chatcmpl-')[:22]}{index}"

    def _message(self, completion: Completion, completion_id: str, index: int) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": completion.text, "refusal": None, "annotations": []}
        if completion.tool_call is not None:
            call = {
                "id": self._call_id(completion_id, index),
                "type": "function",
                "function": dict(completion.tool_call),
            }
            message.update(content=None, tool_calls=[call])
        return message

    async def _stream(
        self, completion: Completion, completion_id: str, created: int, model: str, n: int, include_usage: bool
    ) -> AsyncIterator[bytes]:
        def chunk(choices: list[dict[str, Any]], usage: Any = None) -> bytes:
            data: dict[str, Any] = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "service_tier": "default",
                "system_fingerprint": _FINGERPRINT,
                "choices": choices,
            }
            if include_usage:
                data["usage"] = usage
            return b"data: " + json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode() + b"\n\n"

        def delta(index: int, content: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {"index": index, "delta": content, "logprobs": None, "finish_reason": finish}

        call = completion.tool_call
        if call is None:
            yield chunk([delta(i, {"role": "assistant", "content": "", "refusal": None}) for i in range(n)])
        else:  # the call's id and name first, then its arguments piece by piece, as OpenAI streams them
            head = {"id": "", "type": "function", "function": {"name": call["name"], "arguments": ""}}
            yield chunk(
                [
                    delta(
                        i,
                        {
                            "role": "assistant",
                            "content": None,
                            "tool_calls": [{"index": 0, **head, "id": self._call_id(completion_id, i)}],
                        },
                    )
                    for i in range(n)
                ]
            )
        for piece in completion.completion_pieces:
            if self.token_latency:
                await asyncio.sleep(self.token_latency)
            if call is None:
                yield chunk([delta(i, {"content": piece}) for i in range(n)])
            else:
                yield chunk(
                    [delta(i, {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}) for i in range(n)]
                )
        yield chunk([delta(i, {}, completion.finish_reason) for i in range(n)])
        if include_usage:
            yield chunk([], _usage(completion, n))
        yield b"data: [DONE]\n\n"


def _usage(completion: Completion, n: int) -> dict[str, Any]:
    completion_tokens = len(completion.completion_pieces) * n
    return {
        "prompt_tokens": completion.prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": completion.prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }
