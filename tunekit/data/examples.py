"""The canonical examples every reader produces and every writer consumes.

Four kinds cover what fine-tuning services and TRL train on: a chat
conversation, a preference pair, a prompt with its completion, and plain
text. Each example remembers where it came from (``source``: file and line)
so that a finding can name it; ``source`` takes no part in equality or in
what writers emit.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, ClassVar, Literal, TypeVar, Union

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ROLES",
    "ChatExample",
    "Example",
    "FunctionCall",
    "Message",
    "PreferenceExample",
    "PromptCompletionExample",
    "Source",
    "TextExample",
    "Tool",
    "ToolCall",
    "ToolFunction",
    "example_digest",
    "trusted",
]

ROLES = ("system", "developer", "user", "assistant", "tool", "function")
_M = TypeVar("_M", bound=BaseModel)

Role = Literal["system", "developer", "user", "assistant", "tool", "function"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Source(_Model):
    """Where an example was read: a file (or ``<iterable>``, ``<dataset>``) and its 1-based line or row."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line is not None else self.file


class FunctionCall(_Model):
    """A function the assistant calls: its name and its arguments as a JSON string."""

    name: str
    arguments: str


class ToolCall(_Model):
    """One tool call in an assistant message."""

    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class ToolFunction(_Model):
    """A function the model may call, described by a JSON Schema."""

    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(_Model):
    """A tool offered to the model (OpenAI's ``tools`` entries)."""

    type: Literal["function"] = "function"
    function: ToolFunction


class Message(_Model):
    """One chat message.

    ``weight`` (assistant messages only) is 0 to leave the message out of the
    loss, 1 to train on it; ``None`` means the provider's default (train).
    """

    role: Role
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    function_call: FunctionCall | None = None
    weight: Literal[0, 1] | None = None

    def text(self) -> str:
        """The message's text (text parts joined when the content is a list of parts)."""
        if isinstance(self.content, str):
            return self.content
        if not self.content:
            return ""
        return "".join(str(part.get("text", "")) for part in self.content if isinstance(part, dict))

    def to_dict(self, *, weights: bool = True) -> dict[str, Any]:
        """The message as an OpenAI-style dict, without unset fields."""
        data = self.model_dump(exclude_none=True)
        if not weights:
            data.pop("weight", None)
        return data


class _Example(_Model):
    kind: ClassVar[str]
    source: Source | None = Field(None, exclude=True, repr=False)

    def __eq__(self, other: object) -> bool:
        if type(self) is not type(other):
            return NotImplemented
        assert isinstance(other, _Example)
        mine = {k: v for k, v in self.__dict__.items() if k != "source"}
        theirs = {k: v for k, v in other.__dict__.items() if k != "source"}
        return mine == theirs

    __hash__ = None  # type: ignore[assignment]

    def where(self) -> str:
        """``file:line`` of the example, or ``?`` when it was built in code."""
        return str(self.source) if self.source is not None else "?"


class ChatExample(_Example):
    """A conversation; the assistant messages are what the model learns."""

    kind: ClassVar[str] = "chat"
    messages: list[Message]
    tools: list[Tool] | None = None
    parallel_tool_calls: bool | None = None
    fields: dict[str, Any] | None = Field(None, exclude=True, repr=False)
    """The record's other keys (not trained on): what reward functions and metrics receive by name."""

    def to_messages(self) -> list[Message]:
        return list(self.messages)


class PreferenceExample(_Example):
    """A prompt and two answers, the ``chosen`` one preferred over the ``rejected`` one."""

    kind: ClassVar[str] = "preference"
    prompt: list[Message]
    chosen: list[Message]
    rejected: list[Message]
    tools: list[Tool] | None = None


class PromptCompletionExample(_Example):
    """A prompt and the completion to learn; either side is text or a list of messages."""

    kind: ClassVar[str] = "prompt_completion"
    prompt: str | list[Message]
    completion: str | list[Message]
    fields: dict[str, Any] | None = Field(None, exclude=True, repr=False)
    """The record's other keys (not trained on): what reward functions and metrics receive by name."""

    def to_messages(self) -> list[Message]:
        """The same example as a conversation (a user turn, then the assistant's)."""
        prompt = [Message(role="user", content=self.prompt)] if isinstance(self.prompt, str) else list(self.prompt)
        completion = (
            [Message(role="assistant", content=self.completion)]
            if isinstance(self.completion, str)
            else list(self.completion)
        )
        return prompt + completion


class TextExample(_Example):
    """Plain text for language modelling (continued pre-training)."""

    kind: ClassVar[str] = "text"
    text: str


Example = Annotated[
    Union[ChatExample, PreferenceExample, PromptCompletionExample, TextExample],
    Field(union_mode="left_to_right"),
]
"""Any canonical example."""

ExampleTypes = (ChatExample, PreferenceExample, PromptCompletionExample, TextExample)


_object_setattr = object.__setattr__


def trusted(cls: type[_M], values: dict[str, Any], fields_set: set[str] | None = None) -> _M:
    """An instance from values already checked field by field (what ``model_construct`` does, minus its overhead).

    ``values`` must hold every field of ``cls``; by default the non-None ones count as set.
    """
    model = cls.__new__(cls)
    _object_setattr(model, "__dict__", values)
    if fields_set is None:
        fields_set = {k for k, v in values.items() if v is not None}
    _object_setattr(model, "__pydantic_fields_set__", fields_set)
    _object_setattr(model, "__pydantic_extra__", None)
    _object_setattr(model, "__pydantic_private__", None)
    return model


def example_digest(example: ChatExample | PreferenceExample | PromptCompletionExample | TextExample) -> int:
    """A 64-bit digest of an example's content (not its source), for exact-duplicate and overlap checks."""
    if isinstance(example, ChatExample) and example.tools is None and example.parallel_tool_calls is None:
        parts = []
        for m in example.messages:
            if type(m.content) is not str or m.tool_calls or m.function_call or m.tool_call_id is not None:
                break
            parts.append(f"{m.role}\x1f{m.content}\x1f{m.name}\x1f{m.weight}")
        else:
            # Plain conversations (the common case) skip JSON serialization.
            payload = "\x1e".join(parts).encode("utf-8", "surrogatepass")
            return int.from_bytes(hashlib.blake2b(payload, digest_size=8, person=b"chat").digest(), "big", signed=True)
    payload = example.kind.encode() + b"\0" + example.__pydantic_serializer__.to_json(example)
    return int.from_bytes(hashlib.blake2b(payload, digest_size=8).digest(), "big", signed=True)
