"""In a notebook: reports render as the cell's output, and job.wait() keeps one progress line up to date.

The IPython shell is the real one; its display publisher records what a
notebook front end would receive.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tunekit.notebook import in_notebook
from tunekit.tuner import Tuner
from tunekit_emulators import OpenAIEmulator

IPython = pytest.importorskip("IPython")
RECIPES = Path(__file__).resolve().parents[2] / "examples" / "recipes"


@pytest.fixture
def shell() -> Iterator[Any]:
    from IPython.core.displaypub import CapturingDisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell

    instance = InteractiveShell.instance()
    instance.display_pub = CapturingDisplayPublisher()
    try:
        yield instance
    finally:
        InteractiveShell.clear_instance()


def _config(tmp_path: Path, emulator: OpenAIEmulator) -> Path:
    rows = [
        {"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]}
        for i in range(12)
    ]
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    config = {
        "provider": "openai",
        "model": "gpt-4o-mini-2024-07-18",
        "data": {"train": str(train)},
        "provider_options": {"base_url": emulator.base_url, "poll_interval": 0.02, "file_poll_interval": 0.01},
    }
    path = tmp_path / "tune.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_job_wait_shows_one_progress_line_updated_in_place(
    shell: Any, tmp_path: Path, openai_emulator: OpenAIEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", openai_emulator.api_key)
    job = Tuner.from_config(_config(tmp_path, openai_emulator)).submit()
    state = job.wait(poll_interval=0.02, timeout=60, progress=True)
    assert state.status.value == "succeeded"

    outputs = shell.display_pub.outputs
    assert len(outputs) >= 2
    ids = {o["transient"]["display_id"] for o in outputs}
    assert len(ids) == 1  # one line, replaced in place, not a new output per poll
    assert not outputs[0]["update"] and all(o["update"] for o in outputs[1:])
    last = outputs[-1]["data"]["text/plain"]
    assert f"job {job.job_id}: succeeded" in last
    assert any("train_loss" in o["data"]["text/plain"] for o in outputs)


def test_job_wait_shows_nothing_outside_a_notebook(
    shell: Any, tmp_path: Path, openai_emulator: OpenAIEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", openai_emulator.api_key)
    assert not in_notebook()  # a terminal IPython shell has no kernel
    job = Tuner.from_config(_config(tmp_path, openai_emulator)).submit()
    job.wait(poll_interval=0.02, timeout=60)
    assert shell.display_pub.outputs == []


def test_validation_report_renders_in_a_notebook(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    report = Tuner.from_config(RECIPES / "openai.yaml").validate()
    html = report._repr_html_()
    assert "data OK" in html and "train:" in html and "<pre" in html
    markdown = report._repr_markdown_()
    assert markdown.startswith("```text\n") and report.summary() in markdown
