"""Record shapes: detecting a file's format and turning its records into canonical examples.

Each format is one function ``(record, line, findings) -> example | None``;
``None`` means the record was invalid and the findings say why and where.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from tunekit.data.examples import (
    ChatExample,
    Message,
    PreferenceExample,
    PromptCompletionExample,
    TextExample,
    Tool,
    trusted,
)
from tunekit.data.messages import check_conversation, parse_messages, parse_tools
from tunekit.data.report import Findings
from tunekit.errors import DataError

__all__ = ["FORMATS", "apply_columns", "canonical_format", "detect_record_format", "parse_record"]

AnyExample = ChatExample | PreferenceExample | PromptCompletionExample | TextExample
Parser = Callable[[Any, "int | None", Findings], "AnyExample | None"]

_CHAT_KEYS = frozenset({"messages", "tools", "parallel_tool_calls", "functions"})


def _unknown_keys(record: Mapping[str, Any], known: frozenset[str], line: int | None, f: Findings) -> None:
    if not known.issuperset(record):
        extra = sorted(str(k) for k in set(record) - known)
        f.add("unrecognized_key", f"ignoring unknown key(s) {extra}", line=line)


def _other_fields(record: Mapping[str, Any], known: frozenset[str]) -> dict[str, Any] | None:
    """The keys a format does not train on, kept for reward functions and metrics that ask for them by name."""
    if known.issuperset(record):
        return None
    return {str(k): v for k, v in record.items() if k not in known}


def _tools(record: Mapping[str, Any], line: int | None, f: Findings, base: str = "") -> tuple[bool, list[Tool] | None]:
    raw = record.get("tools")
    key = "tools"
    if raw is None and record.get("functions") is not None:
        raw, key = record["functions"], "functions"
    if raw is None:
        return True, None
    if isinstance(raw, str):  # ShareGPT and CSV cells keep tools as JSON text
        try:
            raw = json.loads(raw)
        except ValueError:
            f.add("invalid_tool", "tools is not valid JSON", line=line, field=base + key)
            return False, None
    tools = parse_tools(raw, base + key, line, f)
    return tools is not None, tools


def _dict_record(record: Any, line: int | None, f: Findings) -> bool:
    if not isinstance(record, Mapping):
        f.add("data_type", f"an example must be an object, not {type(record).__name__}", line=line)
        return False
    return True


def parse_chat(record: Any, line: int | None, f: Findings) -> ChatExample | None:
    """OpenAI chat / TRL conversational: ``{"messages": [...], "tools": [...]}``."""
    if not _dict_record(record, line, f):
        return None
    raw = record.get("messages")
    if not raw:
        f.add("missing_messages_list", line=line, field="messages")
        return None
    _unknown_keys(record, _CHAT_KEYS, line, f)
    messages = parse_messages(raw, "messages", line, f)
    tools_ok, tools = _tools(record, line, f)
    if messages is None or not tools_ok:
        return None
    if not check_conversation(messages, tools, "messages", line, f):
        return None
    parallel = record.get("parallel_tool_calls")
    if parallel is not None and not isinstance(parallel, bool):
        f.add("wrong_type", "parallel_tool_calls must be true or false", line=line, field="parallel_tool_calls")
        return None
    fields = _other_fields(record, _CHAT_KEYS)
    if tools is None and parallel is None:
        values = {"source": None, "messages": messages, "tools": None, "parallel_tool_calls": None, "fields": fields}
        return trusted(ChatExample, values, {"messages", "fields"} if fields else {"messages"})
    return ChatExample(messages=messages, tools=tools, parallel_tool_calls=parallel, fields=fields)


def _side(value: Any, field: str, line: int | None, f: Findings, role: str) -> list[Message] | None:
    """A preference or prompt side: text becomes one message of ``role``."""
    if isinstance(value, str):
        if not value.strip():
            f.add("empty_preference_side", f"{field} is empty", line=line, field=field)
            return None
        return [Message.model_validate({"role": role, "content": value})]
    if value is None or value == []:
        f.add("empty_preference_side", f"{field} is empty", line=line, field=field)
        return None
    messages = parse_messages(value, field, line, f, allow_weight=False)
    return messages


def _preference(
    prompt_raw: Any, chosen_raw: Any, rejected_raw: Any, names: tuple[str, str, str], line: int | None, f: Findings
) -> tuple[list[Message], list[Message], list[Message]] | None:
    prompt_field, chosen_field, rejected_field = names
    prompt: list[Message] | None
    if not prompt_raw or (isinstance(prompt_raw, str) and not prompt_raw.strip()):
        f.add("empty_prompt", line=line, field=prompt_field)
        prompt = []
    elif isinstance(prompt_raw, str):
        prompt = [Message(role="user", content=prompt_raw)]
    else:
        prompt = parse_messages(prompt_raw, prompt_field, line, f)
    chosen = _side(chosen_raw, chosen_field, line, f, "assistant")
    rejected = _side(rejected_raw, rejected_field, line, f, "assistant")
    if prompt is None or chosen is None or rejected is None:
        return None
    ok = True
    for side, field in ((chosen, chosen_field), (rejected, rejected_field)):
        if not any(m.role == "assistant" for m in side):
            f.add("preference_not_assistant", f"{field} has no assistant message", line=line, field=field)
            ok = False
    if ok and chosen == rejected:
        f.add("preference_identical", line=line, field=chosen_field)
    return (prompt, chosen, rejected) if ok else None


def parse_openai_preference(record: Any, line: int | None, f: Findings) -> PreferenceExample | None:
    """OpenAI DPO: ``{"input": {"messages": [...]}, "preferred_output": [...], "non_preferred_output": [...]}``."""
    if not _dict_record(record, line, f):
        return None
    _unknown_keys(record, frozenset({"input", "preferred_output", "non_preferred_output"}), line, f)
    payload = record.get("input")
    if not isinstance(payload, Mapping) or not payload.get("messages"):
        f.add("missing_messages_list", "input.messages is missing", line=line, field="input.messages")
        return None
    for key in ("preferred_output", "non_preferred_output"):
        if key not in record:
            f.add("missing_key", f"{key} is missing", line=line, field=key)
            return None
    tools_ok, tools = _tools(payload, line, f, base="input.")
    pair = _preference(
        payload["messages"],
        record["preferred_output"],
        record["non_preferred_output"],
        ("input.messages", "preferred_output", "non_preferred_output"),
        line,
        f,
    )
    if pair is None or not tools_ok:
        return None
    return PreferenceExample(prompt=pair[0], chosen=pair[1], rejected=pair[2], tools=tools)


def parse_dpo(record: Any, line: int | None, f: Findings) -> PreferenceExample | None:
    """TRL / DPO preference: ``prompt`` (optional when implicit), ``chosen``, ``rejected``; text or messages."""
    if not _dict_record(record, line, f):
        return None
    _unknown_keys(record, frozenset({"prompt", "chosen", "rejected", "tools", "system"}), line, f)
    for key in ("chosen", "rejected"):
        if key not in record:
            f.add("missing_key", f"{key} is missing", line=line, field=key)
            return None
    chosen, rejected = record["chosen"], record["rejected"]
    prompt = record.get("prompt")
    if prompt is None and isinstance(chosen, list) and isinstance(rejected, list):
        # An implicit prompt: both conversations share their opening turns.
        n = 0
        while n < min(len(chosen), len(rejected)) - 1 and chosen[n] == rejected[n]:
            n += 1
        prompt, chosen, rejected = chosen[:n], chosen[n:], rejected[n:]
    if isinstance(prompt, str) and isinstance(record.get("system"), str) and record["system"].strip():
        prompt = [{"role": "system", "content": record["system"]}, {"role": "user", "content": prompt}]
    tools_ok, tools = _tools(record, line, f)
    pair = _preference(prompt, chosen, rejected, ("prompt", "chosen", "rejected"), line, f)
    if pair is None or not tools_ok:
        return None
    return PreferenceExample(prompt=pair[0], chosen=pair[1], rejected=pair[2], tools=tools)


def parse_prompt_completion(record: Any, line: int | None, f: Findings) -> PromptCompletionExample | None:
    """Legacy OpenAI and TRL prompt-completion; either side text or messages."""
    if not _dict_record(record, line, f):
        return None
    _unknown_keys(record, frozenset({"prompt", "completion"}), line, f)
    if "completion" not in record:
        f.add("missing_key", "completion is missing", line=line, field="completion")
        return None
    prompt_raw, completion_raw = record.get("prompt", ""), record["completion"]
    prompt: str | list[Message] | None
    completion: str | list[Message] | None
    if isinstance(prompt_raw, str):
        prompt = prompt_raw
        if not prompt_raw.strip():
            f.add("empty_prompt", line=line, field="prompt")
    else:
        prompt = parse_messages(prompt_raw, "prompt", line, f)
    if isinstance(completion_raw, str):
        completion = completion_raw
        if not completion_raw.strip():
            f.add("empty_completion", line=line, field="completion")
            completion = None
    elif isinstance(completion_raw, list) and not completion_raw:
        f.add("empty_completion", line=line, field="completion")
        completion = None
    else:
        completion = parse_messages(completion_raw, "completion", line, f)
        if completion is not None and not any(m.role == "assistant" for m in completion):
            f.add("example_missing_assistant_message", "the completion has no assistant message", line=line)
            completion = None
    if prompt is None or completion is None:
        return None
    fields = _other_fields(record, frozenset({"prompt", "completion"}))
    return PromptCompletionExample(prompt=prompt, completion=completion, fields=fields)


def _text(value: Any, field: str, line: int | None, f: Findings) -> str | None:
    if value is None:
        return ""
    if not isinstance(value, str):
        f.add("wrong_type", f"{field} must be text, not {type(value).__name__}", line=line, field=field)
        return None
    return value


def parse_alpaca(record: Any, line: int | None, f: Findings) -> ChatExample | None:
    """Alpaca instruction data: ``instruction``, optional ``input``, ``output`` (and ``system``, ``history``)."""
    if not _dict_record(record, line, f):
        return None
    _unknown_keys(record, frozenset({"instruction", "input", "output", "system", "history"}), line, f)
    for key in ("instruction", "output"):
        if key not in record:
            f.add("missing_key", f"{key} is missing", line=line, field=key)
            return None
    instruction = _text(record["instruction"], "instruction", line, f)
    extra_input = _text(record.get("input"), "input", line, f)
    output = _text(record["output"], "output", line, f)
    system = _text(record.get("system"), "system", line, f)
    if instruction is None or extra_input is None or output is None or system is None:
        return None
    if not output.strip():
        f.add("blank_content", "output is empty", line=line, field="output")
        return None
    user = instruction if not extra_input.strip() else f"{instruction}\n\n{extra_input}"
    if not user.strip():
        f.add("missing_content", "instruction and input are empty", line=line, field="instruction")
        return None
    messages = [Message(role="system", content=system)] if system.strip() else []
    history = record.get("history") or []
    if not isinstance(history, list):
        f.add("wrong_type", "history must be a list of [question, answer] pairs", line=line, field="history")
        return None
    for i, turn in enumerate(history):
        if not (isinstance(turn, (list, tuple)) and len(turn) == 2 and all(isinstance(t, str) for t in turn)):
            f.add("wrong_type", "a history turn must be [question, answer]", line=line, field=f"history[{i}]")
            return None
        messages += [Message(role="user", content=turn[0]), Message(role="assistant", content=turn[1])]
    messages += [Message(role="user", content=user), Message(role="assistant", content=output)]
    return ChatExample(messages=messages)


_SHAREGPT_ROLES = {
    "system": "system",
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "chatgpt": "assistant",
    "bard": "assistant",
    "bing": "assistant",
    "model": "assistant",
    "function_call": "assistant",
    "observation": "tool",
    "tool": "tool",
    "function_response": "tool",
}


def parse_sharegpt(record: Any, line: int | None, f: Findings) -> ChatExample | None:
    """ShareGPT: ``{"conversations": [{"from": "human", "value": "..."}, ...], "system": ..., "tools": ...}``."""
    if not _dict_record(record, line, f):
        return None
    _unknown_keys(record, frozenset({"conversations", "system", "tools", "id"}), line, f)
    turns = record.get("conversations")
    if not isinstance(turns, list) or not turns:
        f.add("missing_messages_list", "conversations is missing or empty", line=line, field="conversations")
        return None
    raw: list[dict[str, Any]] = []
    if isinstance(record.get("system"), str) and record["system"].strip():
        raw.append({"role": "system", "content": record["system"]})
    pending: list[str] = []
    call_no = 0
    for i, turn in enumerate(turns):
        where = f"conversations[{i}]"
        if isinstance(turn, Mapping) and "role" in turn and "from" not in turn:
            raw.append(dict(turn))  # already OpenAI-shaped
            continue
        if not isinstance(turn, Mapping) or "from" not in turn or "value" not in turn:
            f.add("message_missing_key", "a turn needs 'from' and 'value'", line=line, field=where)
            return None
        role = _SHAREGPT_ROLES.get(str(turn["from"]).lower())
        if role is None:
            f.add("unrecognized_role", f"unknown speaker {turn['from']!r}", line=line, field=f"{where}.from")
            return None
        value = turn["value"]
        if str(turn["from"]).lower() == "function_call":
            try:
                call = json.loads(value) if isinstance(value, str) else value
                name, arguments = call["name"], call.get("arguments", {})
            except (ValueError, TypeError, KeyError):
                f.add("invalid_tool_call", "a function_call turn must hold {name, arguments}", line=line, field=where)
                return None
            call_no += 1
            call_id = f"call_{call_no}"
            pending.append(call_id)
            args = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
            raw.append(
                {
                    "role": "assistant",
                    "tool_calls": [{"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}],
                }
            )
        elif role == "tool":
            raw.append({"role": "tool", "content": value, "tool_call_id": pending.pop(0) if pending else "call_0"})
        else:
            raw.append({"role": role, "content": value})
    return parse_chat({"messages": raw, "tools": record.get("tools")}, line, f)


def parse_text(record: Any, line: int | None, f: Findings) -> TextExample | ChatExample | None:
    """``{"text": "..."}`` for language modelling; a list of messages in ``text`` is a chat (AutoTrain)."""
    if not _dict_record(record, line, f):
        return None
    if "text" not in record:
        f.add("missing_key", "text is missing", line=line, field="text")
        return None
    value = record["text"]
    if isinstance(value, list):
        return parse_chat({"messages": value}, line, f)
    if not isinstance(value, str):
        f.add("wrong_type", f"text must be a string, not {type(value).__name__}", line=line, field="text")
        return None
    if not value.strip():
        f.add("empty_text", line=line, field="text")
        return None
    return TextExample(text=value)


def parse_autotrain(record: Any, line: int | None, f: Findings) -> AnyExample | None:
    """AutoTrain columns: ``text`` (text or messages) for SFT; ``prompt``/``chosen``/``rejected`` for DPO/ORPO."""
    if isinstance(record, Mapping) and "chosen" in record:
        return parse_dpo(record, line, f)
    return parse_text(record, line, f)


FORMATS: dict[str, Parser] = {
    "openai": parse_chat,
    "openai-preference": parse_openai_preference,
    "prompt-completion": parse_prompt_completion,
    "alpaca": parse_alpaca,
    "sharegpt": parse_sharegpt,
    "dpo": parse_dpo,
    "autotrain": parse_autotrain,
    "text": parse_text,
}
"""Canonical format names and their record parsers."""

_ALIASES = {
    "chat": "openai",
    "openai-chat": "openai",
    "messages": "openai",
    "azure": "openai",
    "trl": "openai",
    "trl-conversational": "openai",
    "conversational": "openai",
    "openai-dpo": "openai-preference",
    "azure-preference": "openai-preference",
    "legacy": "prompt-completion",
    "completion": "prompt-completion",
    "trl-prompt-completion": "prompt-completion",
    "instruction": "alpaca",
    "trl-preference": "dpo",
    "preference": "dpo",
    "language-modeling": "text",
    "trl-text": "text",
}


def canonical_format(name: str) -> str:
    """The canonical name of a format or one of its aliases."""
    key = name.strip().lower().replace("_", "-")
    key = _ALIASES.get(key, key)
    if key not in FORMATS:
        known = ", ".join(sorted(set(FORMATS) | set(_ALIASES)))
        raise DataError(f"unknown data format {name!r}; known formats: {known}", field="format")
    return key


def detect_record_format(record: Any) -> str | None:
    """The format a record's keys suggest, or None."""
    if not isinstance(record, Mapping):
        return None
    keys = record.keys()
    if "messages" in keys:
        return "openai"
    if "preferred_output" in keys or "non_preferred_output" in keys:
        return "openai-preference"
    if "conversations" in keys:
        return "sharegpt"
    if "chosen" in keys and "rejected" in keys:
        return "dpo"
    if "instruction" in keys and "output" in keys:
        return "alpaca"
    if "completion" in keys:
        return "prompt-completion"
    if "text" in keys:
        return "text" if isinstance(record["text"], str) else "autotrain"
    return None


_CANONICAL_COLUMNS = frozenset(
    {
        "messages",
        "tools",
        "prompt",
        "completion",
        "chosen",
        "rejected",
        "text",
        "system",
        "instruction",
        "input",
        "output",
        "history",
        "conversations",
    }
)


def check_columns(columns: Mapping[str, str]) -> None:
    unknown = sorted(set(columns) - _CANONICAL_COLUMNS)
    if unknown:
        raise DataError(
            f"unknown canonical column name(s) {unknown}; use {sorted(_CANONICAL_COLUMNS)} -> your column names",
            field="columns",
        )


def apply_columns(record: Any, columns: Mapping[str, str]) -> Any:
    """Keep and rename the mapped columns: ``columns`` maps canonical name -> the column in the data."""
    if not isinstance(record, Mapping):
        return record
    return {name: record[column] for name, column in columns.items() if column in record}


def parse_record(record: Any, fmt: str, line: int | None, f: Findings) -> AnyExample | None:
    """Parse one record in a known format."""
    return FORMATS[fmt](record, line, f)
