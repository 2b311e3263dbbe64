from __future__ import annotations

from pathlib import Path

import pytest

from tunekit import entrypoints
from tunekit.registry import register_provider
from tunekit_emulators.conformance.data import write_jsonl

from .memo_provider import MemoProvider


@pytest.fixture(autouse=True)
def memo_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    """The in-process test provider, for these tests only: it must not show among other tests' providers."""
    monkeypatch.setattr(entrypoints, "_registered", entrypoints.registered())
    register_provider(MemoProvider)


@pytest.fixture
def chat_file(tmp_path: Path) -> Path:
    path = tmp_path / "train.jsonl"
    rows = [
        {
            "messages": [
                {"role": "system", "content": "Answer with the capital."},
                {"role": "user", "content": f"Country {i}?"},
                {"role": "assistant", "content": f"Capital {i}"},
            ]
        }
        for i in range(12)
    ]
    write_jsonl(path, rows)
    return path


@pytest.fixture
def memo_config(tmp_path: Path, chat_file: Path) -> Path:
    path = tmp_path / "tune.yaml"
    path.write_text(
        f"""
provider: memo
model: memo-base
data:
  train: {chat_file.name}
provider_options:
  state_dir: {tmp_path / "memo-state"}
  api_key: ${{MEMO_API_KEY:-sk-memo-not-set-000000}}
"""
    )
    return path
