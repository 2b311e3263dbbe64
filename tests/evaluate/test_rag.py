"""The RAG baseline and tuned+rag: passages from a folder of documents, in the prompt the service receives.

Every check reads the requests the OpenAI emulator received (its request log
keeps each body), so what is asserted is what a paying user's model would
have been sent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tunekit.config import EvalConfig, load_config
from tunekit.errors import ConfigError, DataError
from tunekit.evaluate import evaluate_config
from tunekit.evaluate.rag import chunk_text, read_documents
from tunekit.tuner import Tuner
from tunekit_emulators import OpenAIEmulator
from tunekit_emulators.conformance.data import write_jsonl

pytest.importorskip("bm25s")

BASE = "gpt-4o-mini-2024-07-18"
SYSTEM = "You answer questions about the company handbook."
DOCS = {
    "travel.md": "# Travel\n\nTravel expenses are reimbursed within 14 days when the receipt is uploaded to "
    "the expense portal. Economy class is the rule for flights shorter than six hours.",
    "leave/holidays.txt": "Every employee has 27 days of paid holiday a year. Unused holiday carries over until "
    "the end of March of the following year.",
    "security.md": "# Security\n\nLaptops lock after five minutes. Report a lost badge to the security desk "
    "at once; a replacement badge costs nothing the first time.",
}
QUESTIONS = {
    "travel.md": "How soon are travel expenses reimbursed after the receipt is uploaded?",
    "leave/holidays.txt": "How many days of paid holiday does an employee have?",
    "security.md": "What should I do about a lost badge?",
}


def conversation(question: str, answer: str) -> dict[str, Any]:
    return {
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": question},
            {"role": "assistant", "content": answer},
        ]
    }


def write_docs(folder: Path) -> Path:
    for name, text in DOCS.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def config_path(tmp_path: Path, openai_emulator: OpenAIEmulator, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OPENAI_API_KEY", openai_emulator.api_key)
    write_docs(tmp_path / "handbook")
    held_out = [conversation(q, f"answer {i}") for i, q in enumerate(QUESTIONS.values())]
    config = {
        "provider": "openai",
        "model": BASE,
        "data": {"train": str(write_jsonl(tmp_path / "train.jsonl", held_out * 4))},
        "eval": {
            "data": str(write_jsonl(tmp_path / "eval.jsonl", held_out)),
            "baselines": ["zero-shot"],
            "rag": {"docs": "handbook", "k": 1, "chunk_chars": 400, "overlap": 40},
        },
        "provider_options": {"base_url": openai_emulator.base_url, "poll_interval": 0.02, "file_poll_interval": 0.01},
    }
    path = tmp_path / "tune.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def chat_requests(emulator: OpenAIEmulator) -> list[dict[str, Any]]:
    return [r.json() for r in emulator.requests if r.method == "POST" and r.path == "/v1/chat/completions"]


def last_user(request: dict[str, Any]) -> str:
    return str(next(m["content"] for m in reversed(request["messages"]) if m["role"] == "user"))


def test_rag_puts_the_right_passage_of_three_documents_into_the_prompt(
    config_path: Path, openai_emulator: OpenAIEmulator
) -> None:
    tuner = Tuner.from_config(config_path)
    report = evaluate_config(tuner.config, tuner.provider)
    assert [c.name for c in report.candidates] == ["base zero-shot", "base rag (k=1)"]
    rag_summary = report.candidate("rag")
    assert rag_summary is not None and rag_summary.errors == 0
    assert rag_summary.notes == {"k": 1, "passages": 3}  # each short document is one passage

    sent = chat_requests(openai_emulator)
    assert len(sent) == 2 * len(QUESTIONS)
    # Requests go out concurrently: each is recognized by its content, not its place in the log.
    rag = {last_user(r).rsplit("Question: ", 1)[-1]: r for r in sent if "Passages:" in last_user(r)}
    plain = sorted(last_user(r) for r in sent if "Passages:" not in last_user(r))
    assert plain == sorted(QUESTIONS.values())  # zero-shot is sent the question alone
    assert sorted(rag) == sorted(QUESTIONS.values())
    for source, question in QUESTIONS.items():
        request = rag[question]
        assert request["model"] == BASE
        assert request["messages"][0] == {"role": "system", "content": SYSTEM}
        content = last_user(request)
        # The default template: the one passage from the right document, under its name, then the question.
        assert content.startswith("Answer the question using the passages below")
        assert f"[1] {source}\n" in content and DOCS[source].split()[-1] in content
        assert content.endswith(f"Question: {question}")
        for other in DOCS:
            if other != source:
                assert other not in content
    # RAG pays for its passages in every prompt.
    zero, with_passages = report.candidates
    assert with_passages.prompt_tokens is not None and zero.prompt_tokens is not None
    assert with_passages.prompt_tokens > 2 * zero.prompt_tokens


def test_the_tuned_model_is_also_evaluated_with_the_passages(
    config_path: Path, openai_emulator: OpenAIEmulator
) -> None:
    config = load_config(config_path)
    assert config.eval is not None and config.eval.rag is not None
    config.eval.rag.template = "{context}\n---\n{question}"
    config.eval.rag.k = 2
    tuner = Tuner(config)
    job = tuner.submit()
    job.wait(poll_interval=0.02, timeout=60)
    model = job.result()
    before = len(chat_requests(openai_emulator))

    report = evaluate_config(tuner.config, tuner.provider, model=model)

    assert [c.name for c in report.candidates] == ["base zero-shot", "base rag (k=2)", "tuned", "tuned+rag (k=2)"]
    tuned, tuned_rag = report.candidate("tuned"), report.candidate("tuned+rag")
    assert tuned is not None and tuned_rag is not None and tuned_rag.model == model.model_id
    # The tuned model replays its training answers for the bare question; with passages around it, it is asked
    # something else, which is what the comparison must show.
    assert tuned.score("exact_match") == 100.0
    sent = chat_requests(openai_emulator)[before:]
    to_tuned = [r for r in sent if r["model"] == model.model_id]
    assert len(to_tuned) == 2 * len(QUESTIONS)
    with_passages = {last_user(r).rsplit("\n---\n", 1)[-1]: last_user(r) for r in to_tuned if "\n---\n" in last_user(r)}
    assert sorted(with_passages) == sorted(QUESTIONS.values())
    for source, question in QUESTIONS.items():
        content = with_passages[question]
        assert content.startswith(f"[1] {source}\n")
        assert content.count("\n[2] ") == 1  # k=2: the best passage first, then the runner-up


def test_bad_rag_input_is_refused_before_any_model_is_asked(
    config_path: Path, openai_emulator: OpenAIEmulator, tmp_path: Path
) -> None:
    tuner = Tuner.from_config(config_path)
    assert tuner.config.eval is not None and tuner.config.eval.rag is not None
    rag = tuner.config.eval.rag
    docs = Path(rag.docs)

    (docs / "scan.pdf").write_bytes(b"%PDF-1.7\n\x00\x01\x02binary")
    with pytest.raises(DataError, match=r"scan\.pdf is not UTF-8 text") as binary:
        evaluate_config(tuner.config, tuner.provider)
    assert str(docs / "scan.pdf") in str(binary.value)
    (docs / "scan.pdf").unlink()
    (docs / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")  # hidden files are not documents

    rag.k = 50
    with pytest.raises(ConfigError, match=r"eval\.rag\.k: 50 passages asked for, but the 3 documents .* only 3"):
        evaluate_config(tuner.config, tuner.provider)
    rag.k = 1

    empty = tmp_path / "empty"
    empty.mkdir()
    rag.docs = str(empty)
    with pytest.raises(ConfigError, match=r"eval\.rag\.docs: .*empty holds no documents"):
        evaluate_config(tuner.config, tuner.provider)
    rag.docs = str(tmp_path / "missing")
    with pytest.raises(ConfigError, match=r"eval\.rag\.docs: .*missing does not exist"):
        evaluate_config(tuner.config, tuner.provider)

    assert chat_requests(openai_emulator) == []


def test_rag_settings_are_checked_when_the_config_is_read(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"template must contain \{question\}"):
        EvalConfig.model_validate({"rag": {"docs": "d", "template": "Passages: {context}"}})
    with pytest.raises(ValueError, match=r"\{context\} and \{question\}"):
        EvalConfig.model_validate({"rag": {"docs": "d", "template": "Answer."}})
    with pytest.raises(ValueError, match=r"rag baseline needs an eval\.rag section"):
        EvalConfig.model_validate({"baselines": ["zero-shot", "rag"]})
    with pytest.raises(ValueError, match="overlap"):
        EvalConfig.model_validate({"rag": {"docs": "d", "chunk_chars": 100, "overlap": 100}})
    config = tmp_path / "tune.yaml"
    config.write_text(
        yaml.safe_dump(
            {"provider": "openai", "model": BASE, "data": {"train": "t.jsonl"}, "eval": {"rag": {"docs": "handbook"}}}
        ),
        encoding="utf-8",
    )
    loaded = load_config(config)
    assert loaded.eval is not None and loaded.eval.rag is not None
    assert loaded.eval.rag.docs == str((tmp_path / "handbook").resolve())  # relative to the config file


def test_documents_are_cut_into_overlapping_passages_at_word_boundaries(tmp_path: Path) -> None:
    text = " ".join(f"word{i:02d}" for i in range(40))  # 40 words of 6 characters
    chunks = chunk_text(text, chunk_chars=34, overlap=14)
    assert all(len(c) <= 34 for c in chunks)
    assert chunks[0] == "word00 word01 word02 word03 word04"
    assert chunks[1].startswith("word03 word04")  # the last 14 characters come again
    assert chunks[-1].endswith("word39")
    words = {w for c in chunks for w in c.split()}
    assert words == set(text.split())  # nothing is lost
    assert chunk_text(text, chunk_chars=34, overlap=0)[1].startswith("word05")
    assert chunk_text("a" * 50 + " b", chunk_chars=10, overlap=2) == ["a" * 50, "b"]  # a long word stands alone
    assert chunk_text("  \n ", 10, 0) == []
    write_docs(tmp_path)
    assert sorted(read_documents(tmp_path)) == ["leave/holidays.txt", "security.md", "travel.md"]


def test_cli_rag_option_adds_the_rag_baseline(
    config_path: Path, openai_emulator: OpenAIEmulator, tmp_path: Path
) -> None:
    import json

    from typer.testing import CliRunner

    from tunekit.cli.app import app

    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    del config["eval"]["rag"]
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    other = write_docs(tmp_path / "other")
    result = CliRunner().invoke(app, ["eval", str(config_path), "--rag", str(other), "-n", "1", "--json", "--yes"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout[result.stdout.index("{") :])
    assert [c["name"] for c in data["candidates"]] == ["base zero-shot", "base rag (k=3)"]
    assert "[1] travel.md" in last_user(chat_requests(openai_emulator)[-1])
