"""An Ollama Modelfile whose TEMPLATE is derived from the tokenizer's own chat template.

Chat templates are Jinja; Ollama's are Go templates. Rather than translating
Jinja, tunekit renders the tokenizer's template on conversations whose
contents are unique markers, reads off the text each role wraps around its
content (and what the template writes first, and the generation prompt), and
writes the equivalent Go template. The result is then rendered on sample
conversations and compared with ``apply_chat_template``: a template that
cannot be expressed this way (one that moves the system prompt into the
first user turn, say) is refused with the conversation on which it differs,
rather than shipped broken.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunekit.errors import ServingError
from tunekit.serve.gotemplate import render

__all__ = ["ChatFormat", "derive_format", "modelfile", "sample_chats"]

_MARK = "\u2063{}\u2063"  # invisible separator: survives templates, never in real text


@dataclass(frozen=True)
class ChatFormat:
    """The text a chat template writes around each message, read off the template by rendering it."""

    head: str
    """Written first when the first message is not a system message (BOS, a default system prompt)."""
    system_head: str
    """Written first, before the system message's content, when the conversation starts with one."""
    system_end: str
    user_start: str
    user_end: str
    assistant_start: str
    assistant_end: str
    generation: str
    """The generation prompt: what opens the assistant's reply."""

    def go_template(self) -> str:
        """The Ollama (Go ``text/template``) TEMPLATE for this format, without trim markers."""
        t = _literal
        return (
            '{{ if and $.Messages (eq (index $.Messages 0).Role "system") }}'
            f"{t(self.system_head)}{{{{ else }}}}{t(self.head)}{{{{ end }}}}"
            "{{ range .Messages }}"
            f'{{{{ if eq .Role "system" }}}}{{{{ .Content }}}}{t(self.system_end)}'
            f'{{{{ else if eq .Role "user" }}}}{t(self.user_start)}{{{{ .Content }}}}{t(self.user_end)}'
            f'{{{{ else if eq .Role "assistant" }}}}{t(self.assistant_start)}{{{{ .Content }}}}{t(self.assistant_end)}'
            "{{ end }}{{ end }}"
            f"{t(self.generation)}"
        )


def _literal(text: str) -> str:
    # Braces, or a triple quote that would end the Modelfile string, go in a Go string literal instead.
    if "{{" in text or "}}" in text or '"""' in text:
        return "{{ " + json.dumps(text) + " }}"
    return text


def _render(tokenizer: Any, messages: list[dict[str, str]], *, generation: bool) -> str:
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation)
    return str(text)


def _split(text: str, marks: Sequence[str]) -> list[str]:
    pieces = []
    for mark in marks:
        before, found, text = text.partition(mark)
        if not found:
            raise ValueError(f"the chat template dropped the content {mark!r}")
        pieces.append(before)
    pieces.append(text)
    return pieces


def _strip_prefix(text: str, prefix: str, what: str) -> str:
    if not text.startswith(prefix):
        raise ValueError(f"{what}: {text!r} does not start with {prefix!r}")
    return text[len(prefix) :]


def _strip_suffix(text: str, suffix: str, what: str) -> str:
    if suffix and not text.endswith(suffix):
        raise ValueError(f"{what}: {text!r} does not end with {suffix!r}")
    return text[: len(text) - len(suffix)] if suffix else text


def derive_format(tokenizer: Any) -> ChatFormat:
    """Read the per-role wrapping off ``tokenizer``'s chat template (raises :class:`ServingError`)."""
    if not getattr(tokenizer, "chat_template", None):
        raise ServingError("the tokenizer has no chat template; an Ollama TEMPLATE cannot be derived")
    s, u1, a1, u2 = (_MARK.format(name) for name in ("S", "U1", "A1", "U2"))
    try:
        # [user] alone: head + user_start | U1 | user_end
        head_user, user_end = _split(_render(tokenizer, [_msg("user", u1)], generation=False), [u1])
        # [user, assistant]: ... | A1 | assistant_end
        _, gap_ua, assistant_end = _split(
            _render(tokenizer, [_msg("user", u1), _msg("assistant", a1)], generation=False), [u1, a1]
        )
        # [user, assistant, user]: the gap after an assistant turn is assistant_end + user_start
        _, _, gap_au, _ = _split(
            _render(tokenizer, [_msg("user", u1), _msg("assistant", a1), _msg("user", u2)], generation=False),
            [u1, a1, u2],
        )
        # [system, user]: system_head | S | system_end + user_start | U1 | user_end
        system_head, gap_su, _ = _split(
            _render(tokenizer, [_msg("system", s), _msg("user", u1)], generation=False), [s, u1]
        )
        with_prompt = _render(tokenizer, [_msg("user", u1)], generation=True)
        user_start = _strip_prefix(gap_au, assistant_end, "the text between an assistant and a user turn")
        head = _strip_suffix(head_user, user_start, "the text before the first user turn")
        assistant_start = _strip_prefix(gap_ua, user_end, "the text between a user and an assistant turn")
        system_end = _strip_suffix(gap_su, user_start, "the text between the system and the first user turn")
        generation = _strip_prefix(_split(with_prompt, [u1])[1], user_end, "the generation prompt")
    except Exception as exc:  # a template that raises on these shapes cannot be expressed either
        raise ServingError(f"the chat template cannot be written as an Ollama TEMPLATE: {exc}") from exc
    return ChatFormat(
        head=head,
        system_head=system_head,
        system_end=system_end,
        user_start=user_start,
        user_end=user_end,
        assistant_start=assistant_start,
        assistant_end=assistant_end,
        generation=generation,
    )


def _msg(role: str, content: str) -> dict[str, str]:
    return {"role": role, "content": content}


def sample_chats() -> list[list[dict[str, str]]]:
    """Conversations on which an exported TEMPLATE must render exactly like the chat template."""
    return [
        [_msg("user", "Hi!")],
        [_msg("system", "You answer in French."), _msg("user", "What colour is the sky?")],
        [_msg("user", "Name a fruit."), _msg("assistant", "An apple."), _msg("user", "Another one?")],
        [
            _msg("system", "Be brief."),
            _msg("user", "2 + 2?"),
            _msg("assistant", "4"),
            _msg("user", 'Line one\nline two {with braces} and "quotes".'),
        ],
    ]


def check_format(fmt: ChatFormat, tokenizer: Any, chats: Sequence[Sequence[Mapping[str, str]]]) -> None:
    """Raise :class:`ServingError` unless the Go template renders each chat exactly like the chat template."""
    template = fmt.go_template()
    for chat in chats:
        messages = [dict(m) for m in chat]
        expected = _render(tokenizer, messages, generation=True)
        got = render(template, messages)
        if got != expected:
            roles = ", ".join(m["role"] for m in messages)
            raise ServingError(
                f"the derived Ollama TEMPLATE renders a ({roles}) conversation differently from the chat template: "
                f"{got!r} instead of {expected!r}"
            )


def stop_sequences(fmt: ChatFormat, tokenizer: Any) -> list[str]:
    """Where a reply ends: the end-of-turn text after an assistant message, and the tokenizer's end token."""
    stops: list[str] = []
    end = fmt.assistant_end.strip()
    if end:
        stops.append(end)
    eos = getattr(tokenizer, "eos_token", None)
    if isinstance(eos, str) and eos and eos not in stops:
        stops.append(eos)
    return stops


def modelfile(
    source: str,
    tokenizer: Any,
    *,
    context_length: int | None = None,
    parameters: Mapping[str, float | int] | None = None,
) -> str:
    """The Modelfile text: FROM ``source``, the checked TEMPLATE, stop sequences and parameters."""
    fmt = derive_format(tokenizer)
    check_format(fmt, tokenizer, sample_chats())
    lines = [f"FROM {source}", "", f'TEMPLATE """{fmt.go_template()}"""', ""]
    for stop in stop_sequences(fmt, tokenizer):
        lines.append(f"PARAMETER stop {json.dumps(stop)}")
    if context_length:
        lines.append(f"PARAMETER num_ctx {int(context_length)}")
    for name, value in (parameters or {}).items():
        lines.append(f"PARAMETER {name} {value}")
    return "\n".join(lines) + "\n"


def read_template(path: str | Path) -> str:
    """The TEMPLATE of a Modelfile written by :func:`modelfile`."""
    text = Path(path).read_text(encoding="utf-8")
    start = text.index('TEMPLATE """') + len('TEMPLATE """')
    return text[start : text.index('"""', start)]
