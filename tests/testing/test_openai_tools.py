"""Tool calls through the real openai SDK: tool_choice decides, arguments fit the function's schema."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import openai
import pytest

from tunekit_emulators import OpenAIEmulator

MODEL = "gpt-4o-mini-2024-07-18"
WEATHER: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city", "days", "unit"],
            "additionalProperties": False,
        },
    },
}
CLOCK: dict[str, Any] = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}


@pytest.fixture
def client(openai_emulator: OpenAIEmulator) -> openai.OpenAI:
    return openai.OpenAI(base_url=openai_emulator.base_url, api_key=openai_emulator.api_key, max_retries=0)


def _ask(client: openai.OpenAI, text: str, **kwargs: Any) -> Any:
    messages = kwargs.pop("messages", [{"role": "user", "content": text}])
    return client.chat.completions.create(model=MODEL, messages=messages, tools=[CLOCK, WEATHER], **kwargs)


def test_required_makes_a_call_whose_arguments_fit_the_schema(client: openai.OpenAI) -> None:
    answer = _ask(client, "What is the weather in Paris?", tool_choice="required")
    choice = answer.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    [call] = choice.message.tool_calls or []
    assert call.type == "function" and call.id.startswith("call_") and call.function.name == "get_weather"
    arguments = json.loads(call.function.arguments)
    jsonschema.validate(arguments, WEATHER["function"]["parameters"])
    assert answer.usage is not None and answer.usage.completion_tokens > 0


def test_tool_choice_decides_whether_and_which(client: openai.OpenAI) -> None:
    named = {"type": "function", "function": {"name": "get_time"}}
    assert _ask(client, "Weather?", tool_choice=named).choices[0].message.tool_calls[0].function.name == "get_time"
    assert _ask(client, "Please get weather for Oslo", tool_choice="auto").choices[0].finish_reason == "tool_calls"
    plain = _ask(client, "Hello there", tool_choice="auto").choices[0]
    assert plain.finish_reason == "stop" and plain.message.tool_calls is None and plain.message.content
    assert _ask(client, "get_weather in Rome", tool_choice="none").choices[0].message.tool_calls is None


def test_after_the_tool_answers_the_model_replies_in_text(client: openai.OpenAI) -> None:
    first = _ask(client, "get weather in Lima", tool_choice="auto").choices[0].message
    call = (first.tool_calls or [])[0]
    messages = [
        {"role": "user", "content": "get weather in Lima"},
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "18 degrees"},
    ]
    reply = _ask(client, "", messages=messages).choices[0]
    assert reply.finish_reason == "stop" and reply.message.content


def test_streamed_tool_call_reassembles(client: openai.OpenAI) -> None:
    stream = _ask(client, "What is the weather in Paris?", tool_choice="required", stream=True)
    name, arguments, finish = "", "", None
    for chunk in stream:
        for choice in chunk.choices:
            for delta in choice.delta.tool_calls or []:
                name += (delta.function and delta.function.name) or ""
                arguments += (delta.function and delta.function.arguments) or ""
            finish = choice.finish_reason or finish
    assert (name, finish) == ("get_weather", "tool_calls")
    jsonschema.validate(json.loads(arguments), WEATHER["function"]["parameters"])


def test_bad_tool_requests_are_refused(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="only allowed when 'tools'"):
        client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "hi"}], tool_choice="required"
        )
    with pytest.raises(openai.BadRequestError, match="no function named 'nope'"):
        _ask(client, "hi", tool_choice={"type": "function", "function": {"name": "nope"}})
