"""LoRA SFT on a tiny random Llama, end to end through the training process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tunekit.jobs import JobStatus
from tunekit.provider import FineTunedModel, JobRef
from tunekit_emulators.conformance.data import write_jsonl
from tunekit_local import LocalOptions, LocalProvider
from tunekit_local.defaults import cpu_bf16
from tunekit_local.runfolder import RunFolder
from tunekit_local.spec import JobSpec
from tunekit_local.testing import sample_conversations, wait_for_job

pytestmark = pytest.mark.slow

STEPS = 10


@pytest.fixture(scope="module")
def trained(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[LocalProvider, JobRef, RunFolder]:
    folder = RunFolder(tmp_path_factory.mktemp("run"))
    train = write_jsonl(folder.data / "train.jsonl", [{"messages": c} for c in sample_conversations(32)])
    options = LocalOptions(max_steps=STEPS, checkpoint_every=5, merge=True, device="cpu")
    provider = LocalProvider(options)
    spec = JobSpec(
        run_id="tiny-sft",
        model=str(tiny_model),
        train_file=str(train),
        hyperparameters={"learning_rate": 1e-2, "batch_size": 8},
        lora={"r": 8, "alpha": 16, "dropout": 0.0, "target_modules": "all-linear"},
        options=options.model_dump(mode="json"),
    )
    ref = provider.start(spec, folder)
    state = wait_for_job(provider, ref, timeout=600)
    assert state.status == JobStatus.SUCCEEDED, (state.message, folder.log.read_text()[-3000:])
    return provider, ref, folder


def test_loss_decreases(trained: tuple[LocalProvider, JobRef, RunFolder]) -> None:
    provider, ref, _ = trained
    losses = [(e.step, e.metrics["train_loss"]) for e in provider.events(ref) if "train_loss" in e.metrics]
    assert [step for step, _ in losses] == list(range(1, STEPS + 1))
    first, last = losses[0][1], losses[-1][1]
    assert last < first - 0.3, losses


def test_lora_weights_change_and_base_weights_do_not(
    trained: tuple[LocalProvider, JobRef, RunFolder], tiny_model: Path
) -> None:
    import torch
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    _, _, folder = trained
    saved = load_file(str(folder.adapter / "adapter_model.safetensors"))
    assert saved and all("lora_" in name for name in saved)  # only the adapter is saved
    lora_b = [t for name, t in saved.items() if "lora_B" in name]
    assert lora_b and all(t.abs().max() > 0 for t in lora_b)  # B starts at zero: training moved it

    original = AutoModelForCausalLM.from_pretrained(tiny_model).state_dict()
    base = AutoModelForCausalLM.from_pretrained(tiny_model)
    wrapped = PeftModel.from_pretrained(base, str(folder.adapter))
    for name, tensor in wrapped.get_base_model().state_dict().items():
        if "lora_" in name:
            continue
        key = name.replace(".base_layer", "")
        assert torch.equal(tensor, original[key]), name


def test_adapter_folder_carries_tokenizer_and_chat_template(trained: tuple[LocalProvider, JobRef, RunFolder]) -> None:
    from transformers import AutoTokenizer

    _, _, folder = trained
    tokenizer = AutoTokenizer.from_pretrained(folder.adapter)
    assert "<|im_start|>" in tokenizer.chat_template
    assert json.loads((folder.adapter / "tunekit_model.json").read_text())["base_model"].endswith("tiny-llama0")


def test_save_reload_merge_round_trip(trained: tuple[LocalProvider, JobRef, RunFolder], tiny_model: Path) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    provider, ref, folder = trained
    model = provider.result(ref)
    assert isinstance(model, FineTunedModel)
    assert (model.kind, model.path, model.base_model) == ("adapter", str(folder.adapter), str(tiny_model))
    report = model.metadata["merge"]
    assert report["same_greedy_tokens"] and report["max_logit_difference"] <= report["tolerance"]

    tokenizer = AutoTokenizer.from_pretrained(folder.merged)
    chat = sample_conversations(3)[2]
    ids = tokenizer.apply_chat_template(chat, tokenize=True, return_dict=True, return_tensors="pt")
    merged = AutoModelForCausalLM.from_pretrained(folder.merged)
    unmerged = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model), str(folder.adapter))
    with torch.no_grad():
        a = merged(**ids).logits
        b = unmerged(**ids).logits
    assert torch.allclose(a, b, atol=1e-4)

    question = sample_conversations(1)[0][:1]
    via_adapter = provider.client(model).chat(question, max_tokens=8)
    via_merged = provider.client(
        FineTunedModel(provider="local", model_id=str(folder.merged), base_model=str(tiny_model), kind="model_dir")
    ).chat(question, max_tokens=8)
    assert via_adapter.text == via_merged.text
    assert via_adapter.usage.prompt_tokens == via_merged.usage.prompt_tokens > 0


def test_plan_versions_and_checkpoints_are_recorded(trained: tuple[LocalProvider, JobRef, RunFolder]) -> None:
    provider, ref, folder = trained
    recorded: dict[str, Any] = json.loads(folder.plan.read_text())
    args = recorded["trainer_args"]
    assert (args["bf16"], args["gradient_checkpointing"], args["loss_type"]) == (cpu_bf16(), False, "nll")
    assert args["max_length"] == recorded["plan"]["max_length"] <= 64
    assert {"torch", "transformers", "peft", "trl", "accelerate"} <= set(recorded["versions"])
    assert recorded["plan"]["split_turns"] is True  # the ChatML template has no generation markers
    checkpoints = provider.checkpoints(ref)
    assert [c.step for c in checkpoints] == [5, 10]
    assert all(c.metrics["train_loss"] > 0 for c in checkpoints)
    preflight = next(e for e in provider.events(ref) if "preflight" in e.data)
    rendered = preflight.data["preflight"]["rendered"]
    assert "[[The apple is red.<|im_end|>" in rendered and "[[<|im_start|>user" not in rendered
