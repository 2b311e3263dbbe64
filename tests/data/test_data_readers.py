"""Reading every supported source and format into canonical examples."""

from __future__ import annotations

import csv
import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from tunekit.data import (
    ChatExample,
    Message,
    PreferenceExample,
    PromptCompletionExample,
    TextExample,
    detect_format,
    read_examples,
)
from tunekit.errors import DataError
from tunekit_emulators.conformance.data import write_jsonl as _jsonl

CHAT = {"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]}


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (CHAT, "openai"),
        ({"input": {"messages": []}, "preferred_output": [], "non_preferred_output": []}, "openai-preference"),
        ({"prompt": "p", "completion": "c"}, "prompt-completion"),
        ({"instruction": "i", "input": "", "output": "o"}, "alpaca"),
        ({"conversations": [{"from": "human", "value": "hi"}]}, "sharegpt"),
        ({"prompt": "p", "chosen": "a", "rejected": "b"}, "dpo"),
        ({"text": "plain"}, "text"),
        ({"text": [{"role": "user", "content": "hi"}]}, "autotrain"),
    ],
)
def test_detect_format(record: dict[str, Any], expected: str) -> None:
    assert detect_format(record) == expected
    assert detect_format([record]) == expected


def test_detect_format_of_unknown_keys_says_what_to_do(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "x.jsonl", [{"q": 1, "a": 2}])
    with pytest.raises(DataError, match=r"columns"):
        detect_format(path)
    assert detect_format(path, columns={"prompt": "q", "completion": "a"}) == "prompt-completion"


def test_alpaca_becomes_a_conversation() -> None:
    rows = [
        {"instruction": "Translate", "input": "chat", "output": "cat", "system": "Be exact."},
        {"instruction": "Say hi", "input": "", "output": "hi", "history": [["q0", "a0"]]},
    ]
    first, second = read_examples(rows)
    assert isinstance(first, ChatExample)
    assert [(m.role, m.content) for m in first.messages] == [
        ("system", "Be exact."),
        ("user", "Translate\n\nchat"),
        ("assistant", "cat"),
    ]
    assert isinstance(second, ChatExample)
    assert [m.content for m in second.messages] == ["q0", "a0", "Say hi", "hi"]


def test_sharegpt_maps_speakers_system_and_function_calls() -> None:
    row = {
        "system": "sys",
        "conversations": [
            {"from": "human", "value": "weather in Paris?"},
            {"from": "function_call", "value": json.dumps({"name": "weather", "arguments": {"city": "Paris"}})},
            {"from": "observation", "value": "sunny"},
            {"from": "gpt", "value": "Sunny."},
        ],
        "tools": json.dumps([{"name": "weather", "parameters": {"type": "object"}}]),
    }
    (example,) = read_examples([row], format="sharegpt")
    assert isinstance(example, ChatExample)
    roles = [m.role for m in example.messages]
    assert roles == ["system", "user", "assistant", "tool", "assistant"]
    call = example.messages[2].tool_calls
    assert call is not None and call[0].function.name == "weather"
    assert json.loads(call[0].function.arguments) == {"city": "Paris"}
    assert example.messages[3].tool_call_id == call[0].id
    assert example.tools is not None and example.tools[0].function.name == "weather"


def test_sharegpt_unknown_speaker_names_the_field() -> None:
    with pytest.raises(DataError) as info:
        list(read_examples([{"conversations": [{"from": "robot", "value": "x"}]}]))
    assert info.value.field == "conversations[0].from" and info.value.line == 1


def test_dpo_text_and_implicit_prompt() -> None:
    explicit, implicit = read_examples(
        [
            {"prompt": "Capital of France?", "chosen": "Paris", "rejected": "Lyon"},
            {
                "chosen": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
                "rejected": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "go away"}],
            },
        ],
        format="dpo",
    )
    assert isinstance(explicit, PreferenceExample) and isinstance(implicit, PreferenceExample)
    assert explicit.prompt == [Message(role="user", content="Capital of France?")]
    assert explicit.chosen == [Message(role="assistant", content="Paris")]
    assert implicit.prompt == [Message(role="user", content="hi")]
    assert implicit.rejected == [Message(role="assistant", content="go away")]


def test_legacy_prompt_completion_and_text() -> None:
    pc, text = [*read_examples([{"prompt": "a", "completion": " b"}]), *read_examples([{"text": "hello"}])]
    assert pc == PromptCompletionExample(prompt="a", completion=" b")
    assert text == TextExample(text="hello")
    assert pc.to_messages() == [Message(role="user", content="a"), Message(role="assistant", content=" b")]


def test_column_mapping() -> None:
    rows = [{"question": "2+2?", "answer": "4", "id": 7}]
    (example,) = read_examples(rows, columns={"prompt": "question", "completion": "answer"})
    assert example == PromptCompletionExample(prompt="2+2?", completion="4")
    with pytest.raises(DataError, match="unknown canonical column"):
        list(read_examples(rows, columns={"question": "prompt"}))


def test_json_array_streams_with_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text(
        '[\n  {"prompt": "a", "completion": "b"},\n\n  {"prompt": "c",\n   "completion": "d"},\n'
        '  {"prompt": "e", "completion": ""}\n]\n',
        encoding="utf-8",
    )
    with pytest.raises(DataError) as info:
        list(read_examples(path))
    assert (info.value.line, info.value.field) == (6, "completion")
    examples: list[Any] = []
    with pytest.raises(DataError):
        for example in read_examples(path):
            examples.append(example)
    assert [e.source.line for e in examples] == [2, 4]


def test_json_array_elements_larger_than_the_read_chunk(tmp_path: Path) -> None:
    big = "x" * (3 << 20)
    path = tmp_path / "big.json"
    path.write_text(json.dumps([{"text": big}, {"text": "small"}]), encoding="utf-8")
    texts = [e.text for e in read_examples(path) if isinstance(e, TextExample)]
    assert texts == [big, "small"]


def test_csv_and_tsv_with_json_cells(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["messages"])
        writer.writerow([json.dumps(CHAT["messages"])])
        multi_line = json.dumps(CHAT["messages"], indent=1)  # a quoted cell spanning several lines
        writer.writerow([multi_line])
        writer.writerow([json.dumps([{"role": "user", "content": "third"}, {"role": "assistant", "content": ""}])])
    with pytest.raises(DataError) as info:
        list(read_examples(path))
    third_row_line = 3 + multi_line.count("\n") + 1
    assert (info.value.line, info.value.field) == (third_row_line, "messages[1].content")
    tsv = tmp_path / "data.tsv"
    tsv.write_text("prompt\tcompletion\nhello\tworld\n", encoding="utf-8")
    assert list(read_examples(tsv)) == [PromptCompletionExample(prompt="hello", completion="world")]


def test_parquet(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    pa = pytest.importorskip("pyarrow")
    rows = [{"prompt": f"p{i}", "completion": f"c{i}"} for i in range(2500)]
    path = tmp_path / "data.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    examples = list(read_examples(path))
    assert len(examples) == 2500
    assert examples[-1] == PromptCompletionExample(prompt="p2499", completion="c2499")
    assert examples[-1].source is not None and examples[-1].source.line == 2500


def test_a_missing_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        list(read_examples(tmp_path / "nope.jsonl"))


def test_reading_streams_in_flat_memory(tmp_path: Path) -> None:
    """Peak Python memory reading 20,000 examples is about that of 2,000: nothing accumulates."""
    row = json.dumps(CHAT) + "\n"

    def peak(n: int) -> int:
        path = tmp_path / f"{n}.jsonl"
        path.write_text(row * n, encoding="utf-8")
        tracemalloc.start()
        count = sum(1 for _ in read_examples(path))
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert count == n
        return top

    small, large = peak(2_000), peak(20_000)
    assert large < small * 1.5 + 64 * 1024
