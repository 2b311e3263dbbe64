"""The bad-input corpus: every file gives a finding (and a DataError) naming file:line, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tunekit.cli.app import app
from tunekit.cli.output import EXIT_DATA_INVALID
from tunekit.data import DataCheck, check_sources, read_examples
from tunekit.errors import DataError
from tunekit.registry import get_provider_class

CORPUS = Path(__file__).parent / "corpus"

# file, the finding code, its line, its field path
BAD = [
    ("truncated_line.jsonl", "invalid_json", 2, None),
    ("wrong_types.jsonl", "missing_content", 2, "messages[0].content"),
    ("messages_not_list.jsonl", "wrong_type", 1, "messages"),
    ("not_an_object.jsonl", "data_type", 2, None),
    ("invalid_utf8.jsonl", "invalid_utf8", 2, None),
    ("empty.jsonl", "empty_file", None, None),
    ("blank_lines.jsonl", "empty_file", None, None),
    ("no_assistant.jsonl", "example_missing_assistant_message", 2, "messages"),
    ("unknown_role.jsonl", "unrecognized_role", 3, "messages[1].role"),
    ("missing_content.jsonl", "message_missing_key", 1, "messages[0]"),
    ("unrecognized_key.jsonl", "message_unrecognized_key", 1, "messages[0]"),
    ("blank_assistant.jsonl", "blank_content", 1, "messages[1].content"),
    ("bad_weight.jsonl", "invalid_weight", 1, "messages[1].weight"),
    ("bad_tool_arguments.jsonl", "invalid_tool_arguments", 1, "messages[1].tool_calls[0].function.arguments"),
    ("orphan_tool.jsonl", "orphan_tool_message", 1, "messages[1].tool_call_id"),
    ("bad_tool_schema.jsonl", "invalid_tool", 1, "tools[0].function.name"),
    ("preference_empty_side.jsonl", "empty_preference_side", 1, "non_preferred_output"),
    ("dpo_empty_rejected.jsonl", "empty_preference_side", 1, "rejected"),
    ("utf16.jsonl", "not_utf8", 1, None),
    ("truncated_array.json", "invalid_json", 3, None),
    ("unknown_format.jsonl", "unknown_format", 1, None),
    ("mixed_kinds.jsonl", "missing_messages_list", 2, "messages"),
    ("bad_row.csv", "wrong_type", 3, None),
]

# Files that look odd but hold valid data.
GOOD = [("bom.jsonl", 2), ("crlf.jsonl", 2), ("bom_inside.jsonl", 2)]


def _method(name: str) -> str:
    return "dpo" if "preference" in name or "dpo" in name else "sft"


@pytest.mark.parametrize(("name", "code", "line", "field"), BAD)
def test_report_names_file_line_and_field(name: str, code: str, line: int | None, field: str | None) -> None:
    report, _ = check_sources([("train", CORPUS / name)], DataCheck(model="gpt-4o-mini", method=_method(name)))
    assert not report.ok
    matches = [f for f in report.findings if f.code == code]
    assert matches, report.summary()
    finding = matches[0]
    assert finding.severity == "error"
    assert finding.file == str(CORPUS / name)
    assert finding.line == line
    assert finding.field == field
    assert report.counts[code] >= 1


@pytest.mark.parametrize(("name", "code", "line", "field"), BAD)
def test_reader_raises_data_error_at_the_line(name: str, code: str, line: int | None, field: str | None) -> None:
    with pytest.raises(DataError) as info:
        list(read_examples(CORPUS / name))
    assert info.value.file == str(CORPUS / name)
    assert info.value.line == line
    assert code in str(info.value)


@pytest.mark.parametrize(("name", "count"), GOOD)
def test_bom_and_crlf_files_read(name: str, count: int) -> None:
    examples = list(read_examples(CORPUS / name))
    assert len(examples) == count
    assert examples[0].messages[0].content == "You are terse."
    assert examples[-1].messages[-1].content == "4"  # no \r, no BOM left in the text


def test_bom_in_the_middle_is_a_warning_on_its_line() -> None:
    report, _ = check_sources([("train", CORPUS / "bom_inside.jsonl")], DataCheck(model="gpt-4o-mini"))
    assert report.ok
    assert [(f.line, f.severity) for f in report.findings if f.code == "bom_inside_file"] == [(2, "warning")]


def _ten_mb_line(tmp_path: Path) -> Path:
    big = "word " * (2 * 1024 * 1024)  # 10 MiB of content on one line
    row = {"messages": [{"role": "user", "content": "summarize"}, {"role": "assistant", "content": big}]}
    path = tmp_path / "ten_mb_line.jsonl"
    small = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
    path.write_text(json.dumps(small) + "\n" + json.dumps(row) + "\n", encoding="utf-8")
    return path


def test_a_10_mb_line_is_over_the_token_limit(tmp_path: Path) -> None:
    path = _ten_mb_line(tmp_path)
    report, _ = check_sources(
        [("train", path)], DataCheck(profile=get_provider_class("openai"), model="gpt-4o-mini", min_examples=0)
    )
    over = [f for f in report.findings if f.code == "over_token_limit"]
    assert [(f.file, f.line) for f in over] == [(str(path), 2)]
    assert report.tokens is not None and report.tokens.over_limit == 1 and report.tokens.max > 65536


def test_a_10_mb_line_that_is_truncated(tmp_path: Path) -> None:
    text = _ten_mb_line(tmp_path).read_text(encoding="utf-8")
    path = tmp_path / "cut.jsonl"
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(DataError) as info:
        list(read_examples(path))
    assert info.value.line == 2 and "truncated" in str(info.value)


runner = CliRunner()


@pytest.mark.parametrize(("name", "code", "line", "field"), BAD)
def test_cli_validate_exits_data_invalid(name: str, code: str, line: int | None, field: str | None) -> None:
    result = runner.invoke(app, ["validate", str(CORPUS / name), "--json"])
    assert result.exit_code == EXIT_DATA_INVALID, result.output
    assert "Traceback" not in result.output
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["counts"][code] >= 1


def test_cli_in_a_real_process_prints_no_traceback(tmp_path: Path) -> None:
    for args, expected in (
        (["validate", str(CORPUS / "truncated_line.jsonl")], EXIT_DATA_INVALID),
        (["validate", str(CORPUS / "unknown_format.jsonl")], EXIT_DATA_INVALID),
        (["convert", str(CORPUS / "unknown_role.jsonl"), "--to", "openai", "-o", str(tmp_path / "o.jsonl")], 3),
        (["validate", str(tmp_path / "missing.jsonl")], EXIT_DATA_INVALID),
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "tunekit.cli", *args], capture_output=True, text=True, timeout=120, check=False
        )
        assert proc.returncode == expected, (args, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stdout + proc.stderr
        if args[0] == "convert":
            assert "unknown_role.jsonl:3: messages[1].role: unknown role 'assistent'" in proc.stderr
    assert not (tmp_path / "o.jsonl").exists()  # nothing half-written
