"""Checking raw chat messages and tool schemas, and turning them into canonical ones.

These checks are the OpenAI cookbook's (``message_missing_key``,
``message_unrecognized_key``, ``unrecognized_role``, ``missing_content``, ...)
plus what the cookbook misses: tool calls and their arguments, tool schemas,
weights, blank content. Each finding carries the field path of the message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from tunekit.data.examples import ROLES, FunctionCall, Message, Tool, ToolCall, ToolFunction, trusted
from tunekit.data.report import Findings

__all__ = ["CONTROL_TOKEN", "MESSAGE_KEYS", "control_token", "parse_messages", "parse_tools"]

MESSAGE_KEYS = frozenset({"role", "content", "name", "function_call", "tool_calls", "tool_call_id", "weight"})
_ROLES = frozenset(ROLES)
_FUNCTION_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _blank(text: str) -> bool:
    return not text or text.isspace()


def _parts_text(parts: list[Any]) -> str | None:
    """The text of a list of content parts, or None when a part is malformed."""
    texts = []
    for part in parts:
        if not isinstance(part, dict) or not isinstance(part.get("type"), str):
            return None
        if part["type"] == "text":
            if not isinstance(part.get("text"), str):
                return None
            texts.append(part["text"])
        else:
            texts.append("<non-text part>")
    return "".join(texts)


def _function_call(value: Any, path: str, line: int | None, f: Findings, code: str) -> FunctionCall | None:
    if not isinstance(value, dict) or not isinstance(value.get("name"), str) or not value["name"]:
        f.add(code, "must be an object with a non-empty string 'name' and string 'arguments'", line=line, field=path)
        return None
    arguments = value.get("arguments", "")
    if isinstance(arguments, dict):
        # Some exporters store arguments as an object; OpenAI wants the JSON text.
        arguments = json.dumps(arguments, ensure_ascii=False)
    if not isinstance(arguments, str):
        f.add("invalid_tool_arguments", "arguments must be a JSON string", line=line, field=f"{path}.arguments")
        return None
    try:
        parsed = json.loads(arguments) if arguments else {}
    except ValueError:
        f.add("invalid_tool_arguments", "arguments are not valid JSON", line=line, field=f"{path}.arguments")
        return None
    if not isinstance(parsed, dict):
        f.add("invalid_tool_arguments", "arguments must encode a JSON object", line=line, field=f"{path}.arguments")
        return None
    extra = set(value) - {"name", "arguments"}
    if extra:
        f.add(code, f"unknown key(s) {sorted(extra)}", line=line, field=path)
        return None
    return FunctionCall(name=value["name"], arguments=arguments)


def _tool_calls(value: Any, path: str, line: int | None, f: Findings) -> list[ToolCall] | None:
    if not isinstance(value, list) or not value:
        f.add("invalid_tool_call", "tool_calls must be a non-empty list", line=line, field=path)
        return None
    calls = []
    ok = True
    for j, call in enumerate(value):
        where = f"{path}[{j}]"
        if not isinstance(call, dict):
            f.add("invalid_tool_call", "a tool call must be an object", line=line, field=where)
            ok = False
            continue
        if not isinstance(call.get("id"), str) or not call["id"]:
            f.add("invalid_tool_call", "a tool call needs a string 'id'", line=line, field=f"{where}.id")
            ok = False
        if call.get("type", "function") != "function":
            f.add("invalid_tool_call", "type must be 'function'", line=line, field=f"{where}.type")
            ok = False
        extra = set(call) - {"id", "type", "function"}
        if extra:
            f.add("invalid_tool_call", f"unknown key(s) {sorted(extra)}", line=line, field=where)
            ok = False
        function = _function_call(call.get("function"), f"{where}.function", line, f, "invalid_tool_call")
        if function is None:
            ok = False
        elif ok:
            calls.append(ToolCall(id=call["id"], function=function))
    return calls if ok else None


def parse_messages(
    raw: Any, path: str, line: int | None, f: Findings, *, allow_weight: bool = True
) -> list[Message] | None:
    """Check a raw message list; the canonical messages, or None after recording findings."""
    if not isinstance(raw, list):
        f.add("wrong_type", f"must be a list of messages, not {type(raw).__name__}", line=line, field=path)
        return None
    messages: list[Message] = []
    ok = True
    for i, m in enumerate(raw):
        message = _parse_message(m, path, i, line, f, allow_weight)
        if message is None:
            ok = False
        elif ok:
            messages.append(message)
    return messages if ok else None


_PLAIN_FIELDS = frozenset({"role", "content"})
_PLAIN_ROLES = frozenset({"system", "developer", "user", "assistant"})


def _parse_message(m: Any, path: str, i: int, line: int | None, f: Findings, allow_weight: bool) -> Message | None:
    """One message checked in stages (keys and role, content, name and weight, calls); None after a finding."""
    plain = _plain_message(m)
    if plain is not None:
        return plain
    where = f"{path}[{i}]"
    if not _keys_and_role(m, where, line, f):
        return None
    role: str = m["role"]
    content = m.get("content")
    has_call = m.get("tool_calls") is not None or m.get("function_call") is not None
    if not _content_ok(content, role, has_call, where, line, f):
        return None
    name, weight, ok = _name_and_weight(m, role, allow_weight, where, line, f)
    if not ok:
        return None
    calls, fcall, tool_call_id, ok = _calls(m, role, where, line, f)
    if not ok:
        return None
    if calls is None and fcall is None and tool_call_id is None:
        # Checked above field by field: skip pydantic's second pass on the hot path.
        values: dict[str, Any] = {**_NO_CALLS, "role": role, "content": content, "name": name, "weight": weight}
        fields_set = {"role", "content"} | ({"name"} if name is not None else set())
        if weight is not None:
            fields_set.add("weight")
        return trusted(Message, values, fields_set)
    return Message(
        role=role,
        content=content,
        name=name,
        tool_calls=calls,
        tool_call_id=tool_call_id,
        function_call=fcall,
        weight=weight,
    )


_NO_CALLS: dict[str, Any] = {"name": None, "tool_calls": None, "tool_call_id": None, "function_call": None}

CONTROL_TOKEN = re.compile(r"<\|[A-Za-z0-9_]{1,40}\|>")
"""A chat-template control string (``<|im_start|>``, ``<|endoftext|>``, ``<|fim_suffix|>``...)."""


def control_token(text: str) -> str | None:
    """The first chat-template control string in ``text``, or None (a substring test first: most text has none)."""
    if "<|" not in text:
        return None
    match = CONTROL_TOKEN.search(text)
    return match.group(0) if match else None


def _plain_message(m: Any) -> Message | None:
    """The plain ``{"role", "content"}`` message (most of every file), checked in a few operations; else None."""
    if type(m) is not dict or len(m) != 2:
        return None
    role = m.get("role")
    content = m.get("content")
    if (
        type(role) is str
        and role in _PLAIN_ROLES
        and type(content) is str
        and content
        and not content.isspace()
        and "<|" not in content
    ):
        return trusted(Message, {**_NO_CALLS, "role": role, "content": content, "weight": None}, set(_PLAIN_FIELDS))
    return None


def _keys_and_role(m: Any, where: str, line: int | None, f: Findings) -> bool:
    """An object with a known string role, content (or a call), and only message keys."""
    if not isinstance(m, dict):
        f.add("wrong_type", f"a message must be an object, not {type(m).__name__}", line=line, field=where)
        return False
    role = m.get("role")
    ok = True
    if role is None or ("content" not in m and m.get("tool_calls") is None and m.get("function_call") is None):
        missing = "role" if role is None else "content"
        f.add("message_missing_key", f"message has no {missing!r}", line=line, field=where)
        ok = False
    if not MESSAGE_KEYS.issuperset(m):
        extra = sorted(set(m) - MESSAGE_KEYS)
        f.add("message_unrecognized_key", f"unknown key(s) {extra}", line=line, field=where)
        ok = False
    if role is not None and not isinstance(role, str):
        f.add("wrong_type", f"role must be a string, not {type(role).__name__}", line=line, field=f"{where}.role")
        return False
    if role is not None and role not in _ROLES:
        f.add("unrecognized_role", f"unknown role {role!r}", line=line, field=f"{where}.role")
        return False
    return ok


def _content_ok(content: Any, role: str, has_call: bool, where: str, line: int | None, f: Findings) -> bool:
    """Text (or text parts) that is not blank, unless the message makes a call; control strings are flagged."""
    field = f"{where}.content"
    if isinstance(content, str):
        text = content
        if not has_call and _blank(content):
            if not content:
                f.add("missing_content", "content is empty", line=line, field=field)
                return False
            if role == "assistant":
                f.add("blank_content", "content is only whitespace", line=line, field=field)
                return False
            f.add("blank_prompt_content", "content is only whitespace", line=line, field=field)
    elif isinstance(content, list):
        parts = _parts_text(content)
        if parts is None:
            f.add("wrong_type", "content parts must be objects with a 'type'", line=line, field=field)
            return False
        if not has_call and _blank(parts):
            f.add("missing_content", "content has no text", line=line, field=field)
            return False
        text = parts
    elif content is None:
        if not has_call:
            f.add("missing_content", "content is null", line=line, field=field)
            return False
        return True
    else:
        f.add("missing_content", f"content must be a string, not {type(content).__name__}", line=line, field=field)
        return False
    token = control_token(text)
    if token is not None:
        f.add("control_token", f"content holds the control string {token}", line=line, field=field)
    return True


def _name_and_weight(
    m: dict[str, Any], role: str, allow_weight: bool, where: str, line: int | None, f: Findings
) -> tuple[str | None, Any, bool]:
    """(name, weight, ok): a string name; a weight of 0 or 1 on assistant messages where weights are allowed."""
    name = m.get("name")
    if name is not None and not isinstance(name, str):
        f.add("wrong_type", "name must be a string", line=line, field=f"{where}.name")
        return None, None, False
    weight = m.get("weight")
    if weight is not None and (
        not allow_weight or role != "assistant" or isinstance(weight, bool) or weight not in (0, 1)
    ):
        why = "weight is only allowed on assistant messages" if role != "assistant" else "weight must be 0 or 1"
        if not allow_weight:
            why = "weight is not allowed here"
        f.add("invalid_weight", why, line=line, field=f"{where}.weight")
        return name, weight, False
    return name, weight, True


def _calls(
    m: dict[str, Any], role: str, where: str, line: int | None, f: Findings
) -> tuple[list[ToolCall] | None, FunctionCall | None, str | None, bool]:
    """(tool calls, function call, tool_call_id, ok): calls only from the assistant; a tool message answers one."""
    tool_calls, function_call = m.get("tool_calls"), m.get("function_call")
    calls = None
    if tool_calls is not None:
        if role != "assistant":
            f.add("invalid_tool_call", "only assistant messages make tool calls", line=line, field=where)
            return None, None, None, False
        calls = _tool_calls(tool_calls, f"{where}.tool_calls", line, f)
        if calls is None:
            return None, None, None, False
    fcall = None
    if function_call is not None:
        fcall = _function_call(function_call, f"{where}.function_call", line, f, "invalid_tool_call")
        if fcall is None:
            return None, None, None, False
    tool_call_id = m.get("tool_call_id")
    if role == "tool" and not isinstance(tool_call_id, str):
        f.add("missing_key", "a tool message needs a string 'tool_call_id'", line=line, field=where)
        return None, None, None, False
    if tool_call_id is not None and not isinstance(tool_call_id, str):
        f.add("wrong_type", "tool_call_id must be a string", line=line, field=f"{where}.tool_call_id")
        return None, None, None, False
    return calls, fcall, tool_call_id, True


def parse_tools(raw: Any, path: str, line: int | None, f: Findings) -> list[Tool] | None:
    """Check a tools list (OpenAI shape, or legacy ``functions`` entries); None after findings."""
    if not isinstance(raw, list):
        f.add("invalid_tool", "tools must be a list", line=line, field=path)
        return None
    tools: list[Tool] = []
    names: set[str] = set()
    ok = True
    for i, tool in enumerate(raw):
        where = f"{path}[{i}]"
        if isinstance(tool, dict) and "function" not in tool and "name" in tool:
            tool = {"type": "function", "function": tool}  # a legacy `functions` entry
        if not isinstance(tool, dict) or tool.get("type", "function") != "function":
            f.add("invalid_tool", "a tool must be {'type': 'function', 'function': {...}}", line=line, field=where)
            ok = False
            continue
        fn = tool.get("function")
        if not isinstance(fn, dict):
            f.add("invalid_tool", "'function' must be an object", line=line, field=f"{where}.function")
            ok = False
            continue
        name = fn.get("name")
        if not isinstance(name, str) or not _FUNCTION_NAME.match(name):
            f.add(
                "invalid_tool",
                "function name must be 1-64 letters, digits, '_' or '-'",
                line=line,
                field=f"{where}.function.name",
            )
            ok = False
            continue
        params = fn.get("parameters")
        if params is not None and (not isinstance(params, dict) or params.get("type", "object") != "object"):
            f.add(
                "invalid_tool",
                "parameters must be a JSON Schema object with type 'object'",
                line=line,
                field=f"{where}.function.parameters",
            )
            ok = False
            continue
        description = fn.get("description")
        extra = set(fn) - {"name", "description", "parameters", "strict"}
        if (description is not None and not isinstance(description, str)) or extra:
            f.add("invalid_tool", "unknown keys or a non-string description", line=line, field=f"{where}.function")
            ok = False
            continue
        if name in names:
            f.add("duplicate_tool", f"tool {name!r} is defined twice", line=line, field=f"{where}.function.name")
            ok = False
            continue
        names.add(name)
        tools.append(
            Tool(function=ToolFunction(name=name, description=description, parameters=params, strict=fn.get("strict")))
        )
    return tools if ok else None


def check_conversation(
    messages: Sequence[Message],
    tools: Sequence[Tool] | None,
    path: str,
    line: int | None,
    f: Findings,
    *,
    require_assistant: bool = True,
) -> bool:
    """Whole-conversation checks; False when an error was recorded."""
    ok = True
    has_assistant = has_user = has_system = False
    trained = 0
    call_ids: set[str] = set()
    tool_names = {t.function.name for t in tools} if tools else None
    for i, m in enumerate(messages):
        role = m.role
        if role == "assistant":
            has_assistant = True
            if m.weight != 0:
                trained += 1
            if m.tool_calls:
                for j, call in enumerate(m.tool_calls):
                    call_ids.add(call.id)
                    if tool_names is not None and call.function.name not in tool_names:
                        f.add(
                            "unknown_tool",
                            f"calls {call.function.name!r}, which the tools do not define",
                            line=line,
                            field=f"{path}[{i}].tool_calls[{j}].function.name",
                        )
        elif role == "user":
            has_user = True
        elif role == "system" or role == "developer":
            has_system = True
        elif role == "tool" and m.tool_call_id not in call_ids:
            f.add(
                "orphan_tool_message",
                f"tool_call_id {m.tool_call_id!r} answers no earlier tool call",
                line=line,
                field=f"{path}[{i}].tool_call_id",
            )
            ok = False
    if require_assistant:
        if not has_assistant:
            f.add("example_missing_assistant_message", line=line, field=path)
            return False
        if trained == 0:
            f.add("all_weights_zero", line=line, field=path)
            ok = False
        elif messages and messages[-1].role != "assistant":
            f.add("last_message_not_assistant", line=line, field=f"{path}[{len(messages) - 1}]")
    if not has_system:
        f.add("missing_system_message", line=line, field=path)
    if not has_user:
        f.add("missing_user_message", line=line, field=path)
    return ok
