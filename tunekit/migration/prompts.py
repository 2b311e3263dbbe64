"""The prompts a source model is asked: chat JSONL, with or without the answers (production log exports)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tunekit.errors import DataError

__all__ = ["read_prompts"]


def read_prompts(path: Path) -> list[tuple[list[dict[str, Any]], str]]:
    """``(prompt messages, file:line)`` per line of a chat JSONL file.

    A line is ``{"messages": [...]}`` (OpenAI chat format, as stored-completions
    exports write it); a trailing assistant answer is dropped, since the source
    model answers afresh. Bad lines raise :class:`DataError` naming file, line and field.
    """
    prompts: list[tuple[list[dict[str, Any]], str]] = []
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read the prompts: {exc}", file=str(path)) from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise DataError(f"not a JSON object: {exc}", file=str(path), line=number) from None
        messages = row.get("messages") if isinstance(row, dict) else None
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            raise DataError("needs a list of messages", file=str(path), line=number, field="messages")
        while messages and messages[-1].get("role") == "assistant":
            messages = messages[:-1]
        if not any(m.get("role") == "user" for m in messages):
            raise DataError("the prompt has no user message", file=str(path), line=number, field="messages")
        bad = next((i for i, m in enumerate(messages) if not isinstance(m.get("content"), (str, list))), None)
        if bad is not None:
            raise DataError("content must be text", file=str(path), line=number, field=f"messages[{bad}].content")
        prompts.append(([{k: v for k, v in m.items() if k != "weight"} for m in messages], f"{path}:{number}"))
    if not prompts:
        raise DataError("no prompts in the file", file=str(path))
    return prompts
