"""Tool calls in chat completions: validate ``tools`` / ``tool_choice`` and decide, deterministically, what to call.

The emulated model calls a function when ``tool_choice`` requires it (``"required"`` or a named
function), and with ``"auto"`` when the last user message names one of the tools (``get_weather``
is named by any message with the word "weather"); after a ``tool`` message it answers in text.
Arguments are the smallest value the function's JSON schema accepts, with strings taken from the
user's message, so a client can parse and dispatch them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from tunekit_emulators.openai.errors import APIError, invalid_request

__all__ = ["arguments_for", "check_tools", "tool_to_call"]

_CHOICES = ("none", "auto", "required")
_VERBS = frozenset({"get", "set", "list", "fetch", "find", "run", "call", "do", "make"})


def check_tools(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The request's function tools, checked as OpenAI checks them; [] when it sends none."""
    tools = body.get("tools")
    choice = body.get("tool_choice")
    if tools is None:
        if choice is not None and choice != "none":
            raise invalid_request(
                "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
                param="tool_choice",
            )
        return []
    if not isinstance(tools, list) or not tools:
        raise invalid_request(
            "Invalid 'tools': empty array. Expected an array with minimum length 1.", param="tools", code="empty_array"
        )
    for index, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(function, dict):
            raise invalid_request(
                f"Invalid 'tools[{index}]': expected an object with type 'function' and a 'function'.",
                param=f"tools[{index}]",
            )
        name = function.get("name")
        if not isinstance(name, str) or not name or len(name) > 64:
            raise invalid_request(
                f"Invalid 'tools[{index}].function.name': expected a string of 1 to 64 characters.",
                param=f"tools[{index}].function.name",
            )
    names = [tool["function"]["name"] for tool in tools]
    if isinstance(choice, dict):
        wanted = (choice.get("function") or {}).get("name") if choice.get("type") == "function" else None
        if wanted not in names:
            raise invalid_request(
                f"Invalid value for 'tool_choice': no function named '{wanted}' was specified in the 'tools' "
                "parameter.",
                param="tool_choice",
            )
    elif choice is not None and choice not in _CHOICES:
        raise invalid_request(
            f"Invalid value: '{choice}'. Supported values are: 'none', 'auto', and 'required'.",
            param="tool_choice",
            code="invalid_value",
        )
    return tools


def tool_to_call(
    tools: Sequence[Mapping[str, Any]], choice: Any, messages: Sequence[Mapping[str, Any]], last_user: str
) -> Mapping[str, Any] | None:
    """The function the model calls now, or None to answer in text."""
    if not tools or choice == "none":
        return None
    functions: list[Mapping[str, Any]] = [tool["function"] for tool in tools]
    if isinstance(choice, dict):
        wanted = choice["function"]["name"]
        return next(function for function in functions if function["name"] == wanted)
    if choice == "required":
        named = _named_in(tools, last_user)
        return named if named is not None else functions[0]
    if messages and messages[-1].get("role") == "tool":
        return None  # the tool answered: the model now replies in text
    return _named_in(tools, last_user)


def _named_in(tools: Sequence[Mapping[str, Any]], text: str) -> Mapping[str, Any] | None:
    said = set(re.findall(r"[a-z0-9]+", text.lower()))
    for tool in tools:
        function: Mapping[str, Any] = tool["function"]
        words = [w for w in re.split(r"[^a-z0-9]+", str(function["name"]).lower()) if w and w not in _VERBS]
        if words and all(word in said for word in words):
            return function
    return None


def arguments_for(function: Mapping[str, Any], text: str) -> str:
    """JSON arguments that ``function``'s parameter schema accepts."""
    schema = function.get("parameters") or {"type": "object", "properties": {}}
    try:
        return json.dumps(_instance(schema, text, depth=0), ensure_ascii=False)
    except RecursionError:  # a self-referencing schema
        raise APIError(400, "Invalid schema for function: too deeply nested.", param="tools") from None


def _number(schema: Mapping[str, Any], *, integer: bool) -> float | int:
    """0, or the nearest value the bounds allow (``exclusiveMinimum`` as a number, JSON Schema's form)."""
    value = 0.0
    if isinstance(schema.get("minimum"), int | float):
        value = max(value, float(schema["minimum"]))
    if isinstance(schema.get("exclusiveMinimum"), int | float) and value <= schema["exclusiveMinimum"]:
        value = float(schema["exclusiveMinimum"]) + 1
    if isinstance(schema.get("maximum"), int | float):
        value = min(value, float(schema["maximum"]))
    return int(value) if integer else value


def _instance(schema: Any, text: str, depth: int) -> Any:
    if not isinstance(schema, dict) or depth > 8:
        return None
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for combinator in ("anyOf", "oneOf", "allOf"):
        if schema.get(combinator):
            return _instance(schema[combinator][0], text, depth + 1)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        properties = schema.get("properties") or {}
        required = schema.get("required") or list(properties)
        return {name: _instance(properties.get(name, {}), text, depth + 1) for name in required}
    if kind == "array":
        count = int(schema.get("minItems", 0))
        return [_instance(schema.get("items", {}), text, depth + 1) for _ in range(count)]
    if kind in ("integer", "number"):
        return _number(schema, integer=kind == "integer")
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    words = (text.splitlines() or [""])[0].strip() or "value"
    return words[: int(schema["maxLength"])] if "maxLength" in schema else words
