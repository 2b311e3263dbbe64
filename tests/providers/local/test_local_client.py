"""The shared local chat client on a tiny model: chat template, batching, usage, streaming."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from tunekit.inference.base import ChatClient
from tunekit.inference.local import LocalChatClient

QUESTIONS = [
    [{"role": "user", "content": "The cup is red. What colour is the cup?"}],
    [{"role": "user", "content": "Hi"}],
    [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "The book is blue. And the car?"}],
]


@pytest.fixture(scope="module")
def client(tiny_model: Path) -> LocalChatClient:
    return LocalChatClient(str(tiny_model), max_new_tokens=12, device="cpu").load()


def test_importing_the_client_does_not_import_torch() -> None:
    code = "import sys, tunekit.inference.local, tunekit.inference.loading; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_is_a_chat_client(client: LocalChatClient) -> None:
    assert isinstance(client, ChatClient)


def test_usage_counts_the_real_tokens(client: LocalChatClient) -> None:
    result = client.chat(QUESTIONS[0], max_tokens=5)
    tokenizer = client._tokenizer
    prompt = tokenizer.apply_chat_template(QUESTIONS[0], add_generation_prompt=True, tokenize=True, return_dict=False)
    assert result.usage.prompt_tokens == len(prompt)
    assert 1 <= result.usage.completion_tokens <= 5
    assert result.finish_reason in ("stop", "length")
    if result.finish_reason == "length":
        assert result.usage.completion_tokens == 5
    assert result.latency_s > 0 and result.model == client.model


def test_batch_with_left_padding_matches_one_by_one(client: LocalChatClient) -> None:
    alone = [client.chat(q) for q in QUESTIONS]
    together = client.batch(QUESTIONS, concurrency=8)
    assert [r.text for r in together] == [r.text for r in alone]
    assert [r.usage for r in together] == [r.usage for r in alone]


def test_stream_yields_the_same_text(client: LocalChatClient) -> None:
    assert "".join(client.stream(QUESTIONS[1])) == client.chat(QUESTIONS[1]).text


def test_stop_strings_cut_the_reply(client: LocalChatClient) -> None:
    full = client.chat(QUESTIONS[0], max_tokens=12)
    if len(full.text) < 3:
        pytest.skip("the random model stopped too early to cut its reply")
    stop = full.text[2:4]
    cut = client.chat(QUESTIONS[0], max_tokens=12, stop=[stop])
    assert cut.text == full.text[: full.text.index(stop)] and cut.finish_reason == "stop"


def test_async_chat(client: LocalChatClient) -> None:
    result = asyncio.run(client.achat(QUESTIONS[1]))
    assert result.text == client.chat(QUESTIONS[1]).text
