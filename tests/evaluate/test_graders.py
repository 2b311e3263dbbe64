"""OpenAI grader definitions run here as metrics; every expected number is worked out by hand."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tunekit import Ledger
from tunekit.cli.output import EXIT_USAGE
from tunekit.errors import ConfigError
from tunekit.evaluate import Candidate, evaluate
from tunekit.evaluate.graders import load_grader
from tunekit.evaluate.metrics import resolve_metrics
from tunekit.inference import OpenAIChatClient
from tunekit_emulators import OpenAIEmulator
from tunekit_emulators.conformance.data import write_jsonl

BASE = "gpt-4o-mini-2024-07-18"


def grader(tmp_path: Path, name: str, spec: dict[str, Any]) -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    return f"grader:{path}"


def similarity(tmp_path: Path, metric: str) -> Any:
    spec = {
        "type": "text_similarity",
        "name": metric,
        "input": "{{sample.output_text}}",
        "reference": "{{item.label}}",
        "evaluation_metric": metric,
    }
    return load_grader(grader(tmp_path, metric, spec))[1]


def test_string_check_operations(tmp_path: Path) -> None:
    def check(operation: str) -> Any:
        spec = {"type": "string_check", "name": "c", "input": "{{sample.output_text}}", "reference": "{{item.label}}"}
        return load_grader(grader(tmp_path, operation, {**spec, "operation": operation}))[1]

    assert check("eq")("Paris", "Paris") == 1.0 and check("eq")("Paris.", "Paris") == 0.0
    assert check("ne")("Paris.", "Paris") == 1.0
    assert check("like")("It is Paris.", "Paris") == 1.0 and check("like")("It is paris.", "Paris") == 0.0
    assert check("ilike")("It is paris.", "Paris") == 1.0


def test_text_similarity_metrics_equal_the_hand_computation(tmp_path: Path) -> None:
    # kitten / sitting: the longest common subsequence "ittn" has 4 characters: 2 × 4 / (6 + 7).
    assert similarity(tmp_path, "fuzzy_match")("kitten", "sitting") == pytest.approx(2 * 4 / 13)
    # "the cat sat" in "the cat sat down": 3 shared words, precision 3/3, recall 3/4, F = 2 × 1 × 0.75 / 1.75.
    assert similarity(tmp_path, "rouge_1")("the cat sat", "The cat sat down.") == pytest.approx(2 * 0.75 / 1.75)
    assert similarity(tmp_path, "rouge_l")("the cat sat", "the cat sat down") == pytest.approx(2 * 0.75 / 1.75)
    # 2 shared bigrams of 2 and 3: F = 2 × 1 × (2/3) / (1 + 2/3).
    assert similarity(tmp_path, "rouge_2")("the cat sat", "the cat sat down") == pytest.approx(0.8)
    # BLEU of "the cat" against "the cat sat": every precision 1 (smoothed (0+1)/(0+1) past the bigram),
    # brevity penalty exp(1 − 3/2).
    assert similarity(tmp_path, "bleu")("the cat", "the cat sat") == pytest.approx(math.exp(-0.5))
    assert similarity(tmp_path, "bleu")("the cat sat", "the cat sat") == 1.0
    # GLEU: 3 matched n-grams (2 unigrams, 1 bigram) of 3 predicted and 6 expected: min(3/3, 3/6).
    assert similarity(tmp_path, "gleu")("the cat", "the cat sat") == 0.5


def test_python_and_multi_graders(tmp_path: Path) -> None:
    source = "def grade(sample, item):\n    return 1.0 if sample['output_text'].strip() == item['label'] else 0.25\n"
    name, score = load_grader(grader(tmp_path, "exact", {"type": "python", "name": "p", "source": source}))
    assert name == "exact" and score(" Paris ", "Paris") == 1.0 and score("Lyon", "Paris") == 0.25
    multi = {
        "type": "multi",
        "name": "m",
        "graders": {
            "fuzzy": {"type": "text_similarity", "name": "f", "input": "{{sample.output_text}}",
                      "reference": "{{item.reference}}", "evaluation_metric": "fuzzy_match"},
            "exact": {"type": "string_check", "name": "s", "input": "{{sample.output_text}}",
                      "reference": "{{item.reference}}", "operation": "eq"},
        },
        "calculate_output": "0.5 * fuzzy + 0.5 * exact",
    }  # fmt: skip
    combined = load_grader(grader(tmp_path, "multi", multi))[1]
    assert combined("kitten", "sitting") == pytest.approx(0.5 * 8 / 13)
    with_threshold = load_grader(grader(tmp_path, "pass", {**multi, "pass_threshold": 0.5}))[1]
    assert with_threshold("kitten", "sitting") == 0.0 and with_threshold("sitting", "sitting") == 1.0


@pytest.mark.parametrize(
    ("spec", "key", "says"),
    [
        ({"type": "label_grader", "name": "x"}, ": type:", "unknown grader type 'label_grader'"),
        ({"type": "string_check", "name": "x", "input": "a", "reference": "b"}, ": operation:", "missing"),
        (
            {"type": "text_similarity", "name": "x", "input": "a", "reference": "b", "evaluation_metric": "meteor"},
            ": evaluation_metric:",
            "WordNet",
        ),
        (
            {"type": "string_check", "name": "x", "input": "{{items.city}}", "reference": "b", "operation": "eq"},
            ": input:",
            "unknown namespace 'items'",
        ),
        (
            {
                "type": "string_check",
                "name": "x",
                "input": "a",
                "reference": "{{sample.output_tools}}",
                "operation": "eq",
            },
            ": reference:",
            "{{sample.output_tools}}: tunekit evaluates text answers",
        ),
        (
            {
                "type": "string_check",
                "name": "x",
                "input": "{{sample.choices[1].message.content}}",
                "reference": "b",
                "operation": "eq",
            },
            ": input:",
            "one choice",
        ),
        (
            {
                "type": "multi",
                "name": "x",
                "calculate_output": "a",
                "graders": {
                    "a": {
                        "type": "text_similarity",
                        "name": "a",
                        "input": "{{ sample }}",
                        "reference": "b",
                        "evaluation_metric": "bleu",
                    }
                },
            },
            ": graders.a.input:",
            "{{sample}}: name a variable of sample",
        ),
        ({"type": "python", "name": "x", "source": "def grade(:"}, ": source:", "SyntaxError"),
        ({"type": "multi", "name": "x", "graders": {}, "calculate_output": "a"}, ": graders:", "by name"),
    ],
)
def test_a_bad_grader_file_is_refused_naming_the_file_and_the_key(
    tmp_path: Path, spec: dict[str, Any], key: str, says: str
) -> None:
    spec_name = grader(tmp_path, "bad", spec)
    with pytest.raises(ConfigError) as caught:
        resolve_metrics([spec_name])
    message = str(caught.value)
    assert str(tmp_path / "bad.json") + key in message and says in message


def test_model_graders_ask_their_model_and_leave_unreadable_replies_unscored(
    tmp_path: Path, openai_emulator: OpenAIEmulator
) -> None:
    # The emulator's base model echoes the first line of the last user message: the grader's prompt decides.
    def message(text: str) -> list[dict[str, Any]]:
        return [{"role": "user", "content": [{"type": "input_text", "text": text}]}]

    score = {"type": "score_model", "name": "s", "model": BASE, "range": [0, 10],
             "input": message("7 out of 10 for: {{sample.output_text}}")}  # fmt: skip
    label = {"type": "label_model", "name": "l", "model": BASE, "labels": ["good", "bad"],
             "passing_labels": ["good"], "input": message("good, given {{item.reference}}")}  # fmt: skip
    silent = {"type": "score_model", "name": "u", "model": BASE, "input": message("{{sample.output_text}}")}

    def models(model: str) -> OpenAIChatClient:
        return OpenAIChatClient(model, base_url=openai_emulator.base_url, api_key=openai_emulator.api_key)

    candidate = Candidate("base", models(BASE), "zero-shot")
    examples = [
        {"messages": [{"role": "user", "content": f"Name city {c}."}, {"role": "assistant", "content": f"City {c}"}]}
        for c in "ABC"
    ]
    metrics = [grader(tmp_path, "score", score), grader(tmp_path, "label", label), grader(tmp_path, "silent", silent)]
    report = evaluate([candidate], examples, metrics, models=models)
    base = report.candidates[0]
    assert report.metrics == ["score", "label", "silent"]
    assert base.score("score") == pytest.approx(70.0) and base.score("label") == 100.0
    # The answer echoed back ("Name city A.") holds no number: no score at all, not a 0.
    assert base.scored("silent") == [] and all("silent" not in r.scores for r in base.items)


def test_templates_read_any_field_of_the_example_and_the_answer_as_json(tmp_path: Path) -> None:
    def check(source: str, target: str) -> Any:
        spec = {"type": "string_check", "name": "c", "input": source, "reference": target, "operation": "eq"}
        return load_grader(grader(tmp_path, "c", spec))[1]

    city = check("{{sample.output_json.address.city}}", "{{item.expected_address.city}}")
    assert city('{"address": {"city": "Paris"}}', "ref", expected_address={"city": "Paris"}) == 1.0
    assert city('{"address": {"city": "Lyon"}}', "ref", expected_address={"city": "Paris"}) == 0.0
    # An answer that is not JSON, or lacks the path, scores 0 (OpenAI's sample parse error), never an exception.
    assert city("Paris", "ref", expected_address={"city": "Paris"}) == 0.0
    assert city('{"city": "Paris"}', "ref", expected_address={"city": "Paris"}) == 0.0

    second = check("{{sample.output_json[1]}}", "{{item.steps[1]}}")
    assert second('["boil", "salt"]', "ref", steps=["boil", "salt", "serve"]) == 1.0
    # A value that is not a string is placed as JSON: the whole answer against a list field.
    whole = check("{{sample.output_json}}", "{{item.tags}}")
    assert whole('["a", "b"]', "ref", tags=["a", "b"]) == 1.0 and whole('["a","b"]', "ref", tags=["a", "b"]) == 1.0
    choice = check("{{sample.choices[0].message.content}}", "{{ item.reference }}")
    assert choice("Paris", "Paris") == 1.0 and choice("Paris", "Lyon") == 0.0
    # item.label is the reference, unless the example has a field of that name.
    label = check("{{sample.output_text}}", "{{item.label}}")
    assert label("Paris", "Paris") == 1.0 and label("Paris", "Paris", label="Lyon") == 0.0


def test_python_graders_receive_the_whole_item_and_the_json_answer(tmp_path: Path) -> None:
    source = (
        "def grade(sample, item):\n"
        "    if sample['output_json'] is None:\n"
        "        return 0.0\n"
        "    return 1.0 if sample['output_json']['n'] == item['meta']['n'] and item['reference'] == 'r' else 0.5\n"
    )
    score = load_grader(grader(tmp_path, "py", {"type": "python", "name": "p", "source": source}))[1]
    assert score('{"n": 3}', "r", meta={"n": 3}) == 1.0
    assert score('{"n": 4}', "r", meta={"n": 3}) == 0.5
    assert score("three", "r", meta={"n": 3}) == 0.0


def test_an_item_field_the_data_lacks_is_refused_before_any_request(
    tmp_path: Path, openai_emulator: OpenAIEmulator
) -> None:
    spec = {"type": "string_check", "name": "c", "input": "{{sample.output_text}}",
            "reference": "{{item.answer_key.city}}", "operation": "eq"}  # fmt: skip
    path = grader(tmp_path, "city", spec)
    client = OpenAIChatClient(BASE, base_url=openai_emulator.base_url, api_key=openai_emulator.api_key)
    examples = [
        {"messages": [{"role": "user", "content": "Capital?"}, {"role": "assistant", "content": "Paris"}],
         "answer_key": {"city": "Paris"}},
        {"messages": [{"role": "user", "content": "Capital?"}, {"role": "assistant", "content": "Rome"}],
         "answer_key": {"country": "Italy"}},
    ]  # fmt: skip
    with pytest.raises(ConfigError) as caught:
        evaluate([Candidate("base", client, "zero-shot")], examples, [path])
    message = str(caught.value)
    assert f"{tmp_path / 'city.json'}: reference: {{{{item.answer_key.city}}}} finds nothing in example" in message
    assert "its fields: answer_key" in message
    assert [r for r in openai_emulator.requests if r.path == "/v1/chat/completions"] == []

    # As a reward, the fields its templates read are the columns every training row must carry.
    from tunekit.evaluate.rewards import check_reward_columns, resolve_rewards, reward_items

    rewards = resolve_rewards([path])
    assert rewards[0].columns == ("answer_key",)
    with pytest.raises(ConfigError) as missing:
        check_reward_columns(rewards, reward_items([{"messages": examples[0]["messages"]}]))
    assert "needs the column 'answer_key'" in str(missing.value.problems)


def test_run_refuses_a_grader_field_a_held_out_example_lacks_before_any_upload(
    tmp_path: Path, openai_emulator: OpenAIEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`tunekit run` checks the grader's {{item.<field>}} against every held-out example before training is paid
    for: otherwise the refusal would come only after the tuned model exists."""
    monkeypatch.setenv("OPENAI_API_KEY", openai_emulator.api_key)
    spec = {"type": "string_check", "name": "city", "input": "{{sample.output_text}}",
            "reference": "{{item.answer_key.city}}", "operation": "eq"}  # fmt: skip
    metric = grader(tmp_path, "city", spec)

    def row(i: int, key: dict[str, str]) -> dict[str, Any]:
        messages = [{"role": "user", "content": f"Capital of country {i}?"},
                    {"role": "assistant", "content": f"City{i}"}]  # fmt: skip
        return {"messages": messages, "answer_key": key}

    train = [row(i, {"city": f"City{i}"}) for i in range(12)]
    held_out = [row(1, {"city": "City1"}), row(2, {"city": "City2"}), row(3, {"country": "Country3"})]
    config = {
        "provider": "openai",
        "model": BASE,
        "data": {"train": str(write_jsonl(tmp_path / "train.jsonl", train))},
        "eval": {
            "data": str(write_jsonl(tmp_path / "eval.jsonl", held_out)),
            "baselines": ["zero-shot"],
            "metrics": ["exact_match", metric],
        },
        "provider_options": {"base_url": openai_emulator.base_url, "poll_interval": 0.02, "file_poll_interval": 0.01},
    }
    path = tmp_path / "tune.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")

    # The installed command, as a user runs it: its error handler turns the refusal into a message and exit code.
    env = {**os.environ, "COLUMNS": "400"}
    tunekit = str(Path(sys.executable).with_name("tunekit"))
    result = subprocess.run(
        [tunekit, "run", str(path), "--yes", "--poll-interval", "0"],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, env=env, timeout=300,
    )  # fmt: skip
    assert result.returncode == EXIT_USAGE, result.stdout + result.stderr
    out = " ".join(result.stderr.split())
    # The grader file, its key and variable, and the example by file and line (the third row lacks the city).
    assert str(tmp_path / "city.json") in out and "{{item.answer_key.city}}" in out, out
    assert f"{tmp_path / 'eval.jsonl'}:3" in out, out
    assert openai_emulator.files() == [] and openai_emulator.jobs() == []
    assert [r for r in openai_emulator.requests if r.path.startswith("/v1/files")] == []
    assert Ledger().runs() == []
