"""load_splits (validate, dedupe, seeded split and shuffle) and the writers providers reuse."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tunekit.config import TuneConfig
from tunekit.data import (
    ChatExample,
    Message,
    PreferenceExample,
    PromptCompletionExample,
    TextExample,
    autotrain_params,
    load_splits,
    read_examples,
    render_chat,
    to_autotrain_rows,
    to_openai_rows,
    to_trl_rows,
    write_examples,
)
from tunekit.errors import DataError
from tunekit_emulators.conformance.data import write_jsonl as write


def chat(i: int) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]}


def config(train: Path, seed: int = 42, **data: Any) -> TuneConfig:
    return TuneConfig.model_validate(
        {"provider": "openai", "model": "gpt-4o-mini", "seed": seed, "data": {"train": str(train), **data}}
    )


def contents(examples: list[Any]) -> list[str]:
    return [e.messages[0].content for e in examples]


def test_seeded_split_and_shuffle(tmp_path: Path) -> None:
    path = write(tmp_path / "t.jsonl", [chat(i) for i in range(50)])
    first = load_splits(config(path, validation_split=0.2))
    again = load_splits(config(path, validation_split=0.2))
    other = load_splits(config(path, seed=7, validation_split=0.2))
    assert first.validation is not None and len(first.train) == 40 and len(first.validation) == 10
    assert contents(first.train) == contents(again.train) and contents(first.validation) == contents(again.validation)  # type: ignore[arg-type]
    assert contents(first.train) != contents(other.train)
    assert set(contents(first.train)).isdisjoint(contents(first.validation))
    assert first.report is not None and first.report.ok
    assert first.train[0].source.file == str(path)


def test_no_shuffle_keeps_file_order(tmp_path: Path) -> None:
    path = write(tmp_path / "t.jsonl", [chat(i) for i in range(12)])
    splits = load_splits(config(path, shuffle=False))
    assert contents(splits.train) == [f"q{i}" for i in range(12)] and splits.validation is None


def test_dedupe_drops_exact_duplicates(tmp_path: Path) -> None:
    path = write(tmp_path / "t.jsonl", [chat(i % 10) for i in range(25)])
    assert len(load_splits(config(path, dedupe=True, shuffle=False)).train) == 10
    assert len(load_splits(config(path, shuffle=False)).train) == 25


def test_invalid_data_raises_before_anything_else(tmp_path: Path) -> None:
    rows = [chat(i) for i in range(12)]
    rows[4] = {"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y", "weight": 3}]}
    path = write(tmp_path / "t.jsonl", rows)
    with pytest.raises(DataError) as info:
        load_splits(config(path))
    assert (info.value.file, info.value.line, info.value.field) == (str(path), 5, "messages[1].weight")


def test_validation_file(tmp_path: Path) -> None:
    train = write(tmp_path / "t.jsonl", [chat(i) for i in range(12)])
    validation = write(tmp_path / "v.jsonl", [chat(100), chat(101)])
    splits = load_splits(config(train, validation=str(validation)))
    assert splits.validation is not None and contents(splits.validation) == ["q100", "q101"]


CHAT = ChatExample(
    messages=[
        Message(role="system", content="Be brief."),
        Message(role="user", content="hi"),
        Message(role="assistant", content="hello", weight=1),
    ]
)
PAIR = PreferenceExample(
    prompt=[Message(role="user", content="2+2?")],
    chosen=[Message(role="assistant", content="4")],
    rejected=[Message(role="assistant", content="5")],
)


def test_openai_rows_convert_prompt_completion_and_refuse_text() -> None:
    (row,) = to_openai_rows([PromptCompletionExample(prompt="p", completion="c")])
    assert row == {"messages": [{"role": "user", "content": "p"}, {"role": "assistant", "content": "c"}]}
    with pytest.raises(DataError, match="plain text"):
        list(to_openai_rows([TextExample(text="x")]))


def test_trl_rows_drop_weights_and_split_prompt_completion() -> None:
    (conversational,) = to_trl_rows([CHAT])
    assert "weight" not in json.dumps(conversational)
    (pc,) = to_trl_rows([CHAT], format="prompt-completion")
    assert pc == {
        "prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
        "completion": [{"role": "assistant", "content": "hello"}],
    }
    (pref,) = to_trl_rows([PAIR])
    assert set(pref) == {"prompt", "chosen", "rejected"}


def test_autotrain_rows_drop_weights_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    (row,) = to_autotrain_rows([CHAT])
    assert "weight" not in json.dumps(row)
    assert "AutoTrain has no per-message weight" in caplog.text


def test_trl_rows_keep_weights_for_a_trainer_that_honours_them() -> None:
    (row,) = to_trl_rows([CHAT], weights=True)
    assert [m.get("weight") for m in row["messages"]] == [None, None, 1]


def test_autotrain_rows_and_params() -> None:
    (as_messages,) = to_autotrain_rows([CHAT], chat_template="chatml")
    assert as_messages["text"][0] == {"role": "system", "content": "Be brief."}
    (as_text,) = to_autotrain_rows([CHAT], chat_template="none")
    assert as_text["text"] == render_chat(CHAT.messages, "chatml")
    assert as_text["text"].startswith("<|im_start|>system\nBe brief.<|im_end|>\n")
    assert autotrain_params("chat", "none") == {"text_column": "text", "chat_template": None}
    assert autotrain_params("preference", "zephyr")["rejected_text_column"] == "rejected"
    (dpo_text,) = to_autotrain_rows([PAIR], chat_template="none")
    assert (dpo_text["chosen"], dpo_text["rejected"]) == ("4", "5")


def test_azure_file_has_a_bom_and_reads_back(tmp_path: Path) -> None:
    path = write_examples([CHAT], tmp_path / "azure.jsonl", "azure")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b"\xef\xbb\xbf") == 1 and raw.endswith(b"\n")
    assert list(read_examples(path)) == [CHAT]


def test_a_failed_write_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    with pytest.raises(DataError):
        write_examples([CHAT, TextExample(text="x")], target, "openai")
    assert not target.exists() and list(tmp_path.iterdir()) == []
    with pytest.raises(DataError, match="unknown target"):
        write_examples([CHAT], target, "bedrock")
