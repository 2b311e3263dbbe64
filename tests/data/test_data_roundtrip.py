"""canonical -> each provider format -> canonical is the identity (property tests)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tunekit.data import (
    ChatExample,
    FunctionCall,
    Message,
    PreferenceExample,
    PromptCompletionExample,
    TextExample,
    Tool,
    ToolCall,
    ToolFunction,
    read_examples,
    to_trl_rows,
    write_examples,
)

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# Text a UTF-8 file can hold (no lone surrogates) that is not blank: blank content is a finding, not data.
text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40).filter(lambda s: not s.isspace())
names = st.from_regex(r"[a-zA-Z0-9_-]{1,20}", fullmatch=True)


def content(parts: bool) -> st.SearchStrategy[Any]:
    plain = text
    if not parts:
        return plain
    return st.one_of(plain, st.lists(text.map(lambda t: {"type": "text", "text": t}), min_size=1, max_size=3))


@st.composite
def conversations(draw: st.DrawFn, *, weights: bool, tools: bool, parts: bool, parallel: bool = True) -> ChatExample:
    messages: list[Message] = []
    if draw(st.booleans()):
        messages.append(Message(role="system", content=draw(content(parts))))
    offered: list[Tool] = []
    if tools and draw(st.booleans()):
        tool_names = draw(st.lists(names, min_size=1, max_size=2, unique=True))
        offered = [
            Tool(
                function=ToolFunction(
                    name=n,
                    description=draw(st.none() | text),
                    parameters={"type": "object", "properties": {"x": {"type": "string"}}},
                )
            )
            for n in tool_names
        ]
    turns = draw(st.integers(1, 3))
    for turn in range(turns):
        name = draw(st.none() | names)
        messages.append(Message(role="user", content=draw(content(parts)), name=name))
        if offered and draw(st.booleans()):
            call_id = f"call_{turn}"
            arguments = json.dumps({"x": draw(text)}, ensure_ascii=False)
            function = FunctionCall(name=draw(st.sampled_from(offered)).function.name, arguments=arguments)
            messages.append(Message(role="assistant", tool_calls=[ToolCall(id=call_id, function=function)]))
            messages.append(Message(role="tool", tool_call_id=call_id, content=draw(text)))
        last = turn == turns - 1
        weight = draw(st.sampled_from([None, 1] if last else [None, 0, 1])) if weights else None
        messages.append(Message(role="assistant", content=draw(content(parts)), weight=weight))
    # parallel_tool_calls is OpenAI's alone; TRL rows do not carry it.
    parallel_calls = draw(st.none() | st.booleans()) if offered and parallel else None
    return ChatExample(messages=messages, tools=offered or None, parallel_tool_calls=parallel_calls)


@st.composite
def preferences(draw: st.DrawFn, *, tools: bool, single: bool) -> PreferenceExample:
    prompt = [Message(role="user", content=draw(text))]
    if draw(st.booleans()):
        prompt.insert(0, Message(role="system", content=draw(text)))
    size = 1 if single else draw(st.integers(1, 2))
    chosen = [Message(role="assistant", content=draw(text)) for _ in range(size)]
    rejected = [Message(role="assistant", content=draw(text)) for _ in range(size)]
    offered = None
    if tools and draw(st.booleans()):
        offered = [Tool(function=ToolFunction(name=draw(names), parameters={"type": "object"}))]
    return PreferenceExample(prompt=prompt, chosen=chosen, rejected=rejected, tools=offered)


@st.composite
def prompt_completions(draw: st.DrawFn) -> PromptCompletionExample:
    if draw(st.booleans()):
        return PromptCompletionExample(prompt=draw(text), completion=draw(text))
    prompt = [Message(role="user", content=draw(text))]
    completion = [Message(role="assistant", content=draw(text))]
    return PromptCompletionExample(prompt=prompt, completion=completion)


texts = text.map(lambda t: TextExample(text=t))


def roundtrip(tmp: Path, examples: list[Any], target: str, **kwargs: Any) -> list[Any]:
    path = write_examples(examples, tmp / f"{target}.jsonl", target, **kwargs)
    return list(read_examples(path))


@pytest.fixture
def tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("roundtrip")


@SETTINGS
@given(st.lists(conversations(weights=True, tools=True, parts=True), min_size=1, max_size=4))
def test_openai_chat(tmp: Path, examples: list[ChatExample]) -> None:
    assert roundtrip(tmp, examples, "openai") == examples


@SETTINGS
@given(st.lists(conversations(weights=True, tools=True, parts=False), min_size=1, max_size=4))
def test_azure_chat_with_bom(tmp: Path, examples: list[ChatExample]) -> None:
    back = roundtrip(tmp, examples, "azure")
    assert (tmp / "azure.jsonl").read_bytes().startswith(b"\xef\xbb\xbf")
    assert back == examples


@SETTINGS
@given(st.lists(preferences(tools=True, single=True), min_size=1, max_size=4))
def test_openai_preference(tmp: Path, examples: list[PreferenceExample]) -> None:
    assert roundtrip(tmp, examples, "openai-preference") == examples
    assert roundtrip(tmp, examples, "azure-preference") == examples


@SETTINGS
@given(st.lists(conversations(weights=False, tools=True, parts=False, parallel=False), min_size=1, max_size=4))
def test_trl_conversational(tmp: Path, examples: list[ChatExample]) -> None:
    assert roundtrip(tmp, examples, "trl-conversational") == examples


@SETTINGS
@given(st.lists(prompt_completions(), min_size=1, max_size=4))
def test_trl_prompt_completion(tmp: Path, examples: list[PromptCompletionExample]) -> None:
    # One file holds one shape: text pairs or conversational pairs.
    for conversational in (False, True):
        subset = [e for e in examples if isinstance(e.prompt, list) == conversational]
        if subset:
            assert roundtrip(tmp, subset, "trl-prompt-completion") == subset


@SETTINGS
@given(st.lists(preferences(tools=True, single=False), min_size=1, max_size=4))
def test_trl_preference(tmp: Path, examples: list[PreferenceExample]) -> None:
    assert roundtrip(tmp, examples, "trl-preference") == examples


@SETTINGS
@given(st.lists(texts, min_size=1, max_size=4))
def test_trl_text(tmp: Path, examples: list[TextExample]) -> None:
    assert roundtrip(tmp, examples, "trl-text") == examples


@SETTINGS
@given(
    st.one_of(
        st.lists(conversations(weights=False, tools=False, parts=False), min_size=1, max_size=4),
        st.lists(preferences(tools=False, single=False), min_size=1, max_size=4),
        st.lists(texts, min_size=1, max_size=4),
    )
)
def test_autotrain_columns(tmp: Path, examples: list[Any]) -> None:
    assert roundtrip(tmp, examples, "autotrain", chat_template="tokenizer") == examples


@SETTINGS
@given(st.lists(conversations(weights=False, tools=True, parts=False, parallel=False), min_size=1, max_size=4))
def test_rows_from_iterables_and_datasets(examples: list[ChatExample]) -> None:
    rows = list(to_trl_rows(examples))
    assert list(read_examples(rows)) == examples


def test_datasets_dataset_reads_the_same() -> None:
    datasets = pytest.importorskip("datasets")
    examples = [
        ChatExample(messages=[Message(role="user", content=f"q{i}"), Message(role="assistant", content=f"a{i}")])
        for i in range(5)
    ]
    dataset = datasets.Dataset.from_list(list(to_trl_rows(examples)))
    back = list(read_examples(dataset))
    assert back == examples
    assert back[2].source is not None and back[2].source.file == "<dataset>" and back[2].source.line == 3
