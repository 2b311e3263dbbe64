"""Tiny models built offline, shared by the local provider's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunekit_emulators.conformance.data import write_jsonl
from tunekit_local.testing import build_tiny_chat_model, sample_conversations


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Llama whose ChatML template has no generation markers (like SmolLM2's)."""
    return build_tiny_chat_model(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def tiny_model_marked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same tiny Llama with {% generation %} markers around the assistant's reply."""
    return build_tiny_chat_model(tmp_path_factory.mktemp("tiny-llama-marked"), generation_markers=True)


@pytest.fixture
def chat_rows_file(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "train.jsonl", [{"messages": chat} for chat in sample_conversations(32)])
