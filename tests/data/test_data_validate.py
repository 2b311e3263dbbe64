"""validate_data: findings with locations, provider rules, strict mode, tokens, and the parallel scan."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import tunekit.data.scan as scan_module
from tunekit.config import TuneConfig
from tunekit.data import DataCheck, ValidationReport, check_sources, validate_data
from tunekit.errors import DataError
from tunekit.registry import get_provider_class
from tunekit_emulators.conformance.data import write_jsonl as write

OPENAI = get_provider_class("openai")


def validate_for(cfg: TuneConfig, **options: Any) -> ValidationReport:
    """Validate as Tuner.validate does: with the config's provider's limits, counter and prices."""
    return validate_data(cfg, profile=get_provider_class(cfg.provider), **options)


def chat(i: int, *, system: bool = True) -> dict[str, Any]:
    messages = [{"role": "user", "content": f"question {i}"}, {"role": "assistant", "content": f"answer {i}"}]
    if system:
        messages.insert(0, {"role": "system", "content": "You are terse."})
    return {"messages": messages}


def config(train: Path, **data: Any) -> TuneConfig:
    fields: dict[str, Any] = {"provider": "openai", "model": "gpt-4o-mini", "data": {"train": str(train), **data}}
    return TuneConfig.model_validate(fields)


def test_a_clean_file_is_ok_with_tokens_and_cost(tmp_path: Path) -> None:
    report = validate_for(config(write(tmp_path / "t.jsonl", [chat(i) for i in range(12)])))
    assert report.ok and report.error_count == 0 and report.warning_count == 0
    tokens = report.tokens
    assert tokens is not None and tokens.examples == 12 and tokens.counter == "tiktoken:o200k_base"
    assert tokens.min <= tokens.p50 <= tokens.p95 <= tokens.max
    assert report.cost is not None and report.cost.epochs == 8  # 100 // 12: the cookbook's clamp
    assert report.cost.billed_tokens == tokens.total * 8
    assert report.cost.training_cost == pytest.approx(report.cost.billed_tokens / 1e6 * 3.00)
    assert "data OK" in report.summary()


def test_fewer_than_the_openai_minimum(tmp_path: Path) -> None:
    report = validate_for(config(write(tmp_path / "t.jsonl", [chat(i) for i in range(9)])))
    assert not report.ok
    assert report.counts == {"too_few_examples": 1}
    assert "at least 10" in report.errors[0].message


def test_cookbook_warnings_for_missing_system_and_user(tmp_path: Path) -> None:
    rows = [chat(i, system=False) for i in range(10)]
    rows.append({"messages": [{"role": "system", "content": "s"}, {"role": "assistant", "content": "a"}]})
    report = validate_for(config(write(tmp_path / "t.jsonl", rows)))
    assert report.ok
    assert report.counts["missing_system_message"] == 10
    assert report.counts["missing_user_message"] == 1
    assert report.samples("missing_user_message") == [f"{tmp_path / 't.jsonl'}:11: messages"]


def test_duplicates_and_train_validation_overlap(tmp_path: Path) -> None:
    train = write(tmp_path / "train.jsonl", [chat(i) for i in range(10)] + [chat(3)])
    validation = write(tmp_path / "val.jsonl", [chat(100), chat(5)])
    report = validate_for(config(train, validation=str(validation)))
    assert report.ok
    (dup,) = [f for f in report.findings if f.code == "duplicate"]
    assert (dup.line, dup.message) == (11, "the same example as line 4")
    (overlap,) = [f for f in report.findings if f.code == "train_validation_overlap"]
    assert (overlap.file, overlap.line, overlap.split) == (str(validation), 2, "validation")
    assert "line 6" in overlap.message
    assert [s.split for s in report.splits] == ["train", "validation"]


def test_strict_raises_data_error_with_the_report(tmp_path: Path) -> None:
    rows = [chat(i) for i in range(10)]
    rows[6]["messages"][2]["content"] = ""
    path = write(tmp_path / "t.jsonl", rows)
    with pytest.raises(DataError) as info:
        validate_for(config(path), strict=True)
    error = info.value
    assert (error.file, error.line, error.field) == (str(path), 7, "messages[2].content")
    assert isinstance(error.report, ValidationReport) and error.report.error_count == 2  # plus too_few_examples
    assert f"{path}:7: messages[2].content:" in str(error)


def test_dpo_with_chat_data_is_an_unsupported_kind(tmp_path: Path) -> None:
    cfg = config(write(tmp_path / "t.jsonl", [chat(i) for i in range(10)]))
    cfg.method = "dpo"
    report = validate_for(cfg)
    assert report.counts.get("unsupported_kind") == 1


def test_openai_preference_outputs_must_be_single_messages(tmp_path: Path) -> None:
    row = {
        "input": {"messages": [{"role": "user", "content": "hi"}]},
        "preferred_output": [{"role": "assistant", "content": "a"}, {"role": "assistant", "content": "b"}],
        "non_preferred_output": [{"role": "assistant", "content": "c"}],
    }
    cfg = config(write(tmp_path / "p.jsonl", [row] * 10))
    cfg.method = "dpo"
    report = validate_for(cfg)
    assert report.counts["preference_multi_turn_output"] == 10
    local = cfg.model_copy(update={"provider": "local", "model": "gpt2-like-tiny"})
    assert "preference_multi_turn_output" not in validate_for(local, estimate=False).counts


def test_token_limit_per_model(tmp_path: Path) -> None:
    long = {"messages": [{"role": "user", "content": "word " * 5000}, {"role": "assistant", "content": "ok"}]}
    path = write(tmp_path / "t.jsonl", [long] + [chat(i) for i in range(10)])
    old_model = config(path)
    old_model.model = "gpt-3.5-turbo-0613"  # a 4,096-token limit
    report = validate_for(old_model)
    assert report.counts["over_token_limit"] == 1
    assert report.tokens is not None and report.tokens.counter == "tiktoken:cl100k_base"
    assert report.tokens.limit == 4096
    assert report.cost is not None and report.cost.tokens_per_epoch < report.tokens.total  # truncated when billed
    assert validate_for(config(path)).counts.get("over_token_limit") is None


def test_eval_data_is_validated_too(tmp_path: Path) -> None:
    train = write(tmp_path / "t.jsonl", [chat(i) for i in range(10)])
    held_out = write(tmp_path / "eval.jsonl", [{"messages": [{"role": "user", "content": "x"}]}])
    cfg = TuneConfig.model_validate(
        {"provider": "openai", "model": "gpt-4o-mini", "data": {"train": str(train)}, "eval": {"data": str(held_out)}}
    )
    report = validate_for(cfg)
    (finding,) = report.errors
    assert (finding.split, finding.code, finding.line) == ("eval", "example_missing_assistant_message", 1)


def test_findings_are_capped_but_counted(tmp_path: Path) -> None:
    rows = [{"messages": [{"role": "user", "content": "x"}]} for _ in range(300)]
    report = validate_for(config(write(tmp_path / "t.jsonl", rows)), estimate=False)
    assert report.counts["example_missing_assistant_message"] == 300
    assert len([f for f in report.findings if f.code == "example_missing_assistant_message"]) == 50
    data = report.to_dict()
    assert data["ok"] is False and data["error_count"] == 301  # plus too_few_examples
    assert len(data["samples"]["example_missing_assistant_message"]) == 5
    assert "more (see --json)" in report.summary()


def test_tool_calls_weights_and_tools_are_checked(tmp_path: Path) -> None:
    good = {
        "messages": [
            {"role": "user", "content": "weather in Paris?"},
            {
                "role": "assistant",
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": '{"city":"Paris"}'}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
            {"role": "assistant", "content": "Sunny.", "weight": 1},
        ],
        "tools": [{"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}],
    }
    unknown = json.loads(json.dumps(good))
    unknown["messages"][1]["tool_calls"][0]["function"]["name"] = "forecast"
    silent = {"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y", "weight": 0}]}
    report, _ = check_sources(
        [("train", write(tmp_path / "t.jsonl", [good, unknown, silent]))], DataCheck(model="gpt-4o-mini")
    )
    assert report.counts == {
        "missing_system_message": 3,
        "unknown_tool": 1,
        "all_weights_zero": 1,
    }
    (unknown_tool,) = [f for f in report.findings if f.code == "unknown_tool"]
    assert (unknown_tool.line, unknown_tool.field) == (2, "messages[1].tool_calls[0].function.name")


@pytest.fixture
def parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan_module, "PARALLEL_MIN_BYTES", 0)
    # The scan forks only from a single-threaded process (forking threads can deadlock the children): let the
    # threads an earlier test left winding down (servers shutting down, pools) end first, and name any that stay.
    from tqdm._monitor import TMonitor

    for thread in threading.enumerate():
        if isinstance(thread, TMonitor):  # left by any earlier progress bar; it never ends by itself
            thread.exit()
    deadline = time.monotonic() + 15
    while threading.active_count() > 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    others = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    assert not others, f"threads still running, so the scan would not fork: {others}"


def test_parallel_scan_matches_the_sequential_one(
    tmp_path: Path, parallel: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG", logger="tunekit.data.scan")
    rows: list[Any] = [chat(i) for i in range(400)]
    rows[17] = chat(3)  # a duplicate across chunks
    rows[250] = {"messages": [{"role": "user", "content": "hi"}, {"role": "bot", "content": "x"}]}
    lines = [json.dumps(r) for r in rows]
    lines[99] = lines[99][:-5]  # truncated
    lines.insert(300, "")  # a blank line shifts the numbering
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    validation = write(tmp_path / "v.jsonl", [chat(398)])

    def run(workers: int) -> ValidationReport:
        check = DataCheck(profile=OPENAI, model="gpt-4o-mini", workers=workers)
        report, _ = check_sources([("train", path), ("validation", validation)], check)
        return report

    one, three = run(1), run(3)
    assert one.model_dump(exclude={"findings"}) == three.model_dump(exclude={"findings"})
    assert sorted(map(str, one.findings)) == sorted(map(str, three.findings))
    found = {(f.code, f.line) for f in three.findings}
    assert {
        ("duplicate", 18),
        ("invalid_json", 100),
        ("unrecognized_role", 251),
        ("train_validation_overlap", 1),
    } <= found
    assert three.tokens is not None and three.tokens.examples == 398  # 400, less the two invalid
    assert any("with 3 workers" in r.getMessage() for r in caplog.records)


def test_parallel_scan_reports_the_unsupported_kind_once(tmp_path: Path, parallel: None) -> None:
    path = write(tmp_path / "t.jsonl", [{"text": f"line {i}"} for i in range(200)])
    report, _ = check_sources([("train", path)], DataCheck(profile=OPENAI, model="gpt-4o-mini", workers=2))
    assert report.counts["unsupported_kind"] == 1


def test_duplicates_are_found_whatever_the_spelling(tmp_path: Path) -> None:
    """A clean conversation and the same one with explicit nulls are the same example."""
    plain = chat(1)
    spelled = json.loads(json.dumps(plain))
    for message in spelled["messages"]:
        message["name"] = None
    path = write(tmp_path / "t.jsonl", [plain, *[chat(i) for i in range(2, 11)], spelled])
    report = validate_for(config(path))
    (dup,) = [f for f in report.findings if f.code == "duplicate"]
    assert (dup.line, dup.message) == (11, "the same example as line 1")
