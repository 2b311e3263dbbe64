"""Rendering the Go templates tunekit writes into Ollama Modelfiles, to check them before they ship.

Ollama formats chats with Go's ``text/template``. tunekit writes templates
from a small subset of it (no trim markers, so every character outside an
action is literal) and renders them here, against the tokenizer's own chat
template, on sample conversations. The subset:

- literal text, and ``{{ "..." }}`` string literals (for text holding braces),
- ``{{ .Content }}`` inside ``{{ range .Messages }}...{{ end }}``,
- ``{{ if C }}...{{ else if C }}...{{ else }}...{{ end }}`` where ``C`` is
  ``eq .Role "name"`` or ``$.First "name"`` (the first message has that role;
  written as ``and $.Messages (eq (index $.Messages 0).Role "name")``).

Anything else is refused with the action that could not be read, so a
template this renderer does not understand is never taken as checked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["TemplateError", "render"]

_ACTION = re.compile(r"{{(.*?)}}", re.S)
_EQ_ROLE = re.compile(r'^eq \.Role ("(?:[^"\\]|\\.)*")$')
_FIRST_ROLE = re.compile(r'^and \$\.Messages \(eq \(index \$\.Messages 0\)\.Role ("(?:[^"\\]|\\.)*")\)$')
_STRING = re.compile(r'^"(?:[^"\\]|\\.)*"$')


class TemplateError(ValueError):
    """The template uses Go template syntax outside the subset tunekit writes."""


@dataclass
class _Node:
    kind: str  # text, content, range, if
    text: str = ""
    branches: list[tuple[str | None, list[_Node]]] = field(default_factory=list)
    body: list[_Node] = field(default_factory=list)


def _parse(template: str) -> list[_Node]:
    tokens: list[tuple[str, str]] = []
    position = 0
    for match in _ACTION.finditer(template):
        if match.start() > position:
            tokens.append(("text", template[position : match.start()]))
        action = match.group(1)
        if action.startswith("-") or action.endswith("-"):
            raise TemplateError(f"trim markers are outside the checked subset: {{{{{action}}}}}")
        tokens.append(("action", action.strip()))
        position = match.end()
    if position < len(template):
        tokens.append(("text", template[position:]))
    nodes, rest = _block(tokens, 0, top=True)
    if rest != len(tokens):
        raise TemplateError("unbalanced {{ end }}")
    return nodes


def _block(tokens: list[tuple[str, str]], index: int, *, top: bool = False) -> tuple[list[_Node], int]:
    nodes: list[_Node] = []
    while index < len(tokens):
        kind, value = tokens[index]
        if kind == "text":
            nodes.append(_Node("text", value))
            index += 1
            continue
        if value == "end" or value == "else" or value.startswith("else if "):
            if top:
                raise TemplateError(f"unexpected {{{{ {value} }}}}")
            return nodes, index
        if value == ".Content":
            nodes.append(_Node("content"))
            index += 1
        elif value == "range .Messages":
            body, index = _block(tokens, index + 1)
            index = _expect_end(tokens, index)
            nodes.append(_Node("range", body=body))
        elif value.startswith("if "):
            node = _Node("if")
            condition: str | None = value[3:].strip()
            index += 1
            while True:
                body, index = _block(tokens, index)
                node.branches.append((condition, body))
                if index >= len(tokens):
                    raise TemplateError("{{ if }} without {{ end }}")
                closing = tokens[index][1]
                index += 1
                if closing == "end":
                    break
                condition = None if closing == "else" else closing[len("else if ") :].strip()
            nodes.append(node)
        elif _STRING.match(value):
            nodes.append(_Node("text", json.loads(value)))
            index += 1
        else:
            raise TemplateError(f"{{{{ {value} }}}} is outside the checked subset")
    if not top:
        raise TemplateError("a block has no {{ end }}")
    return nodes, index


def _expect_end(tokens: list[tuple[str, str]], index: int) -> int:
    if index >= len(tokens) or tokens[index][1] != "end":
        raise TemplateError("{{ range }} without {{ end }}")
    return index + 1


def _condition(condition: str, messages: Sequence[Mapping[str, Any]], message: Mapping[str, Any] | None) -> bool:
    match = _EQ_ROLE.match(condition)
    if match:
        if message is None:
            raise TemplateError(".Role outside {{ range .Messages }}")
        return bool(message.get("role") == json.loads(match.group(1)))
    match = _FIRST_ROLE.match(condition)
    if match:
        return bool(messages) and messages[0].get("role") == json.loads(match.group(1))
    raise TemplateError(f"condition {condition!r} is outside the checked subset")


def _run(
    nodes: list[_Node], messages: Sequence[Mapping[str, Any]], message: Mapping[str, Any] | None, out: list[str]
) -> None:
    for node in nodes:
        if node.kind == "text":
            out.append(node.text)
        elif node.kind == "content":
            if message is None:
                raise TemplateError(".Content outside {{ range .Messages }}")
            out.append(str(message.get("content") or ""))
        elif node.kind == "range":
            for item in messages:
                _run(node.body, messages, item, out)
        else:
            for condition, body in node.branches:
                if condition is None or _condition(condition, messages, message):
                    _run(body, messages, message, out)
                    break


def render(template: str, messages: Sequence[Mapping[str, Any]]) -> str:
    """What Ollama's template engine writes for ``messages`` (for the subset described above)."""
    out: list[str] = []
    _run(_parse(template), messages, None, out)
    return "".join(out)
