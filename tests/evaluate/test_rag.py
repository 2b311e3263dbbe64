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


def o200k() -> Any:
    from tunekit.data.tokens import TiktokenCounter

    return TiktokenCounter("o200k_base")


def test_passages_sized_in_tokens_start_and_end_between_tokens() -> None:
    from tunekit.data.token_cuts import token_cuts
    from tunekit.evaluate.rag import chunk_by_tokens

    counter = o200k()
    text = (
        "Travel expenses are reimbursed within 14 days.\n\nEconomy class is the rule for flights shorter than "
        "six hours. Café ✓ 😀 done."
    )
    cuts = token_cuts(counter, text)
    # o200k_base: Travel| expenses| are| reimb|ursed| within| |14| days|.\n\n|Econom|y| class| is| the| rule| for|
    # flights| shorter| than| six| hours|.| Café| ✓| 😀| done|.  (28 tokens)
    assert (cuts.offsets[-1], cuts.tokens[-1]) == (len(text), 28)
    chunks = chunk_by_tokens(text, cuts, 8, 2, counter.count_text)
    assert chunks == [
        "Travel expenses are reimbursed within 14",  # 8 tokens; "reimb|ursed" stays whole
        "14 days.\n\nEconomy class is the",  # repeats "14" (1 token: " within" would make 3)
        " is the rule for flights shorter than six",  # repeats " is the" (2 tokens)
        " than six hours. Café ✓ 😀",  # 7 tokens: " done." would make 9
        " ✓ 😀 done.",
    ]
    from tunekit.data.tiktoken_cache import get_encoding

    tokens = get_encoding("o200k_base").encode_ordinary(text)
    assert all(get_encoding("o200k_base").decode(tokens[:n]) == text[:offset] for offset, n in zip(*cuts, strict=True))
    starts = set(cuts.offsets)
    at = 0
    for chunk in chunks:
        at = text.index(chunk, at)
        assert at in starts and at + len(chunk) in starts  # never inside a token
        assert counter.count_text(chunk) <= 8
    assert chunk_by_tokens(text, cuts, 8, 0, counter.count_text)[1] == " days.\n\nEconomy class is the rule"
    # A word longer than a passage is cut between its tokens, each piece within the budget.
    long_word = "Pneumonoultramicroscopicsilicovolcanoconiosis"
    pieces = chunk_by_tokens(long_word, token_cuts(counter, long_word), 3, 0, counter.count_text)
    assert "".join(pieces) == long_word and len(pieces) > 1
    assert all(counter.count_text(piece) <= 3 for piece in pieces)


def test_token_cuts_follow_a_hugging_face_tokenizer_and_never_split_a_character() -> None:
    tokenizers = pytest.importorskip("tokenizers")
    transformers = pytest.importorskip("transformers")
    from tunekit.data.token_cuts import token_cuts
    from tunekit.data.tokens import HFTokenCounter
    from tunekit.evaluate.rag import chunk_by_tokens

    text = "Laptops lock after five minutes. Café ✓ 😀 done."
    bpe = tokenizers.Tokenizer(tokenizers.models.BPE())
    bpe.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = tokenizers.decoders.ByteLevel()
    alphabet = tokenizers.pre_tokenizers.ByteLevel.alphabet()
    trainer = tokenizers.trainers.BpeTrainer(vocab_size=290, initial_alphabet=alphabet, show_progress=False)
    bpe.train_from_iterator([text.encode("ascii", "ignore").decode()], trainer=trainer)  # é, ✓, 😀 stay bytes
    counter = HFTokenCounter(transformers.PreTrainedTokenizerFast(tokenizer_object=bpe))

    cuts = token_cuts(counter, text)
    offsets = cuts.offsets
    assert offsets == sorted(set(offsets)) and offsets[-1] == len(text)
    # Each cut lies between two tokens: the tokens before it are exactly the text before it. é, ✓ and 😀 are
    # several byte-level tokens each, so a cut between those would decode to a broken character.
    ids = counter.tokenizer(text, add_special_tokens=False)["input_ids"]
    for offset, before in zip(*cuts, strict=True):
        assert counter.tokenizer.decode(ids[:before]) == text[:offset]
    assert len(offsets) < len(ids) + 1  # some token boundaries fall inside a character, and are no cuts
    chunks = chunk_by_tokens(text, cuts, 4, 1, counter.count_text)
    assert all(counter.count_text(chunk) <= 4 for chunk in chunks)
    assert all(text.index(chunk) in offsets for chunk in chunks)
    assert {w for chunk in chunks for w in chunk.split()} == set(text.split())  # nothing lost


def test_rag_by_tokens_fits_the_context_budget_and_refuses_one_it_cannot(
    config_path: Path, openai_emulator: OpenAIEmulator
) -> None:
    tuner = Tuner.from_config(config_path)
    assert tuner.config.eval is not None and tuner.config.eval.rag is not None
    rag = {"docs": tuner.config.eval.rag.docs, "k": 2}
    tuner.config.eval.rag = EvalConfig.model_validate(
        {"rag": {**rag, "chunk_tokens": 12, "overlap_tokens": 3, "context_tokens": 48}}
    ).rag
    report = evaluate_config(tuner.config, tuner.provider)
    summary = report.candidate("rag")
    assert summary is not None and summary.errors == 0
    counter = o200k()  # gpt-4o-mini's tokenizer, as the OpenAI provider counts
    sent = [last_user(r) for r in chat_requests(openai_emulator) if "Passages:" in last_user(r)]
    assert len(sent) == len(QUESTIONS)
    for content in sent:
        context = content.split("Passages:\n", 1)[1].rsplit("\n\nQuestion: ", 1)[0]
        assert context.count("\n[2] ") == 1 and counter.count_text(context) <= 48
        for block in context.split("\n\n[2] "):
            assert counter.count_text(block.split("\n", 1)[1]) <= 12  # each passage within chunk_tokens
    assert summary.notes["passages"] > len(DOCS)  # the documents were cut into 12-token passages

    before = len(openai_emulator.requests)
    # 2 passages of 12 tokens fit 24, but not with their "[n] file" headers: said before any request.
    tuner.config.eval.rag = EvalConfig.model_validate({"rag": {**rag, "chunk_tokens": 12, "context_tokens": 24}}).rag
    with pytest.raises(ConfigError, match=r"eval\.rag\.context_tokens: the 2 longest passages take \d+ tokens"):
        evaluate_config(tuner.config, tuner.provider)
    assert len(openai_emulator.requests) == before


def test_token_sizes_are_checked_when_the_config_is_read() -> None:
    def refused(rag: dict[str, Any], says: str) -> None:
        with pytest.raises(ValueError, match=says):
            EvalConfig.model_validate({"rag": {"docs": "d", **rag}})

    refused({"chunk_tokens": 0}, r"rag\.chunk_tokens")
    refused({"chunk_tokens": 100, "overlap_tokens": 100}, r"overlap_tokens \(100\) must be smaller than chunk_tokens")
    refused({"overlap_tokens": 10}, "overlap_tokens needs chunk_tokens")
    refused({"chunk_tokens": 100, "chunk_chars": 500}, "chunk_tokens sizes passages in tokens; chunk_chars")
    refused({"chunk_tokens": 100, "context_tokens": 250}, r"context_tokens \(250\) cannot hold k=3 passages")
    settings = EvalConfig.model_validate({"rag": {"docs": "d", "chunk_tokens": 200}}).rag
    assert settings is not None and settings.overlap_tokens == 30  # 15%, as overlap is of chunk_chars
