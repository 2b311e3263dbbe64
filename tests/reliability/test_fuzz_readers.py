"""Fuzzing the data readers and the format detector: any file or rows yield examples or a tunekit error.

Hypothesis writes arbitrary bytes under every suffix the readers know, JSONL whose lines are any
JSON value (deep, NaN, lone surrogates, the keys of every supported format with the wrong types),
CSV/TSV with structured cells, and hands rows straight to ``read_examples`` and ``detect_format``.
A result must be a list of canonical examples; anything raised must be a :class:`TunekitError`.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tunekit.config import parse_config
from tunekit.data import (
    ChatExample,
    PreferenceExample,
    PromptCompletionExample,
    TextExample,
    ValidationReport,
    detect_format,
    read_examples,
    validate_data,
)
from tunekit.errors import TunekitError

# Modest by default so CI stays fast; TUNEKIT_FUZZ_EXAMPLES=5000 fuzzes deeper.
FUZZ = settings(
    max_examples=int(os.environ.get("TUNEKIT_FUZZ_EXAMPLES", "100")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

EXAMPLE_TYPES = (ChatExample, PreferenceExample, PromptCompletionExample, TextExample)
SUFFIXES = [".jsonl", ".json", ".csv", ".tsv", ".parquet", ".txt", ""]
FORMATS = [None, "openai", "openai-preference", "prompt-completion", "alpaca", "sharegpt", "dpo", "autotrain", "text"]
KEYS = [
    "messages",
    "role",
    "content",
    "name",
    "weight",
    "tool_calls",
    "tool_call_id",
    "function_call",
    "tools",
    "functions",
    "type",
    "function",
    "arguments",
    "parameters",
    "conversations",
    "from",
    "value",
    "instruction",
    "input",
    "output",
    "prompt",
    "completion",
    "chosen",
    "rejected",
    "preferred_output",
    "non_preferred_output",
    "text",
    "system",
]
ROLES = ["system", "user", "assistant", "tool", "function", "developer", "human", "gpt"]

texts = st.one_of(
    st.text(max_size=20),
    st.text(st.characters(codec=None, categories=["Cs", "Cc", "Zs", "Lo"]), max_size=8),  # lone surrogates too
    st.sampled_from(ROLES),
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), texts)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), inner, max_size=5),
    ),
    max_leaves=25,
)


@st.composite
def message(draw: st.DrawFn) -> dict[str, Any]:
    msg: dict[str, Any] = {"role": draw(st.sampled_from(ROLES)), "content": draw(st.one_of(texts, json_values))}
    msg.update(draw(st.dictionaries(st.sampled_from(KEYS), json_values, max_size=2)))
    return msg


@st.composite
def records(draw: st.DrawFn) -> Any:
    """Mostly records of a real format with some values wrong; sometimes any JSON value."""
    kind = draw(st.sampled_from(["chat", "sharegpt", "alpaca", "pair", "preference", "prompt", "text", "any"]))
    messages = st.lists(message(), max_size=4)
    if kind == "chat":
        record: Any = {"messages": draw(messages)}
    elif kind == "sharegpt":
        turns = st.lists(st.fixed_dictionaries({"from": st.sampled_from(ROLES), "value": texts}), max_size=4)
        record = {"conversations": draw(turns)}
    elif kind == "alpaca":
        record = {k: draw(texts) for k in ("instruction", "input", "output")}
    elif kind == "pair":
        record = {"prompt": draw(st.one_of(texts, messages)), "chosen": draw(messages), "rejected": draw(messages)}
    elif kind == "preference":
        record = {
            "input": {"messages": draw(messages)},
            "preferred_output": draw(messages),
            "non_preferred_output": draw(messages),
        }
    elif kind == "prompt":
        record = {"prompt": draw(st.one_of(texts, messages)), "completion": draw(st.one_of(texts, messages))}
    elif kind == "text":
        record = {"text": draw(st.one_of(texts, json_values))}
    else:
        return draw(json_values)
    if draw(st.booleans()):
        record.update(draw(st.dictionaries(st.sampled_from(KEYS), json_values, max_size=2)))
    return record


def _jsonl(rows: list[Any], garbage: list[str], crlf: bool, bom: bool) -> bytes:
    lines = [json.dumps(r, ensure_ascii=True) for r in rows] + garbage
    text = ("\r\n" if crlf else "\n").join(lines)
    data = text.encode("utf-8", "surrogatepass")
    return (b"\xef\xbb\xbf" if bom else b"") + data


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="tunekit-fuzz-data-") as name:
        yield Path(name)


def _read(source: Any, fmt: str | None = None) -> None:
    try:
        examples = list(read_examples(source, format=fmt))
    except TunekitError:
        return
    assert all(isinstance(e, EXAMPLE_TYPES) for e in examples)


def _validate(path: Path, method: str) -> None:
    """The full validation (findings, tokens, cost) that runs before anything is uploaded."""
    config = parse_config(
        {"provider": "openai", "model": "gpt-4o-mini-2024-07-18", "method": method, "data": {"train": str(path)}}
    )
    with contextlib.suppress(TunekitError):
        assert isinstance(validate_data(config), ValidationReport)


def _detect(source: Any) -> None:
    with contextlib.suppress(TunekitError):
        assert isinstance(detect_format(source), str)


@FUZZ
@given(raw=st.binary(max_size=800), suffix=st.sampled_from(SUFFIXES), head=st.sampled_from([b"", b"PAR1", b"[", b"{"]))
def test_any_bytes_under_any_suffix(folder: Path, raw: bytes, suffix: str, head: bytes) -> None:
    path = folder / f"data{suffix}"
    path.write_bytes(head + raw)
    _read(path)
    _detect(path)


@FUZZ
@given(
    rows=st.lists(records(), max_size=6),
    garbage=st.lists(st.sampled_from(["", "{", "[1,", "null", "\x00", '{"messages": [}', "  "]), max_size=2),
    crlf=st.booleans(),
    bom=st.booleans(),
    fmt=st.sampled_from(FORMATS),
)
def test_jsonl_of_any_records(
    folder: Path, rows: list[Any], garbage: list[str], crlf: bool, bom: bool, fmt: str | None
) -> None:
    path = folder / "data.jsonl"
    path.write_bytes(_jsonl(rows, garbage, crlf, bom))
    _read(path, fmt)
    _detect(path)
    _validate(path, "dpo" if fmt in ("dpo", "openai-preference") else "sft")


@FUZZ
@given(rows=st.lists(records(), max_size=5), truncate=st.integers(0, 40))
def test_json_arrays_whole_and_truncated(folder: Path, rows: list[Any], truncate: int) -> None:
    data = json.dumps(rows, ensure_ascii=True).encode()
    path = folder / "data.json"
    path.write_bytes(data[: len(data) - truncate] if truncate else data)
    _read(path)
    _detect(path)


@FUZZ
@given(
    header=st.lists(st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), min_size=1, max_size=4),
    cells=st.lists(st.lists(st.one_of(texts, json_values.map(json.dumps)), max_size=5), max_size=5),
    delimiter=st.sampled_from([",", "\t"]),
)
def test_csv_and_tsv_with_structured_cells(
    folder: Path, header: list[str], cells: list[list[str]], delimiter: str
) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(cells)
    path = folder / ("data.tsv" if delimiter == "\t" else "data.csv")
    path.write_bytes(buffer.getvalue().encode("utf-8", "surrogatepass"))
    _read(path)
    _detect(path)


@FUZZ
@given(rows=st.lists(records(), max_size=6), fmt=st.sampled_from(FORMATS))
def test_rows_in_memory(rows: list[Any], fmt: str | None) -> None:
    _read(rows, fmt)
    _detect(rows)
    if rows:
        _detect(rows[0])


@FUZZ
@given(source=st.one_of(json_values, st.binary(max_size=20), st.integers()))
def test_sources_that_are_not_data(source: Any) -> None:
    _read(source)
    _detect(source)
