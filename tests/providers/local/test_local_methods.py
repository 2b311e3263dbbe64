"""DPO, distributed data parallel on the CPU, and the checks that refuse to train on the wrong tokens."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tunekit.errors import DataError
from tunekit.jobs import JobStatus
from tunekit.provider import JobRef
from tunekit_emulators.conformance.data import write_jsonl
from tunekit_local import LocalOptions, LocalProvider
from tunekit_local.preflight import check_supervision, inspect_sft_row
from tunekit_local.runfolder import RunFolder
from tunekit_local.spec import JobSpec
from tunekit_local.testing import (
    build_tiny_chat_model,
    build_tiny_tokenizer,
    sample_conversations,
    sample_preferences,
    wait_for_job,
)

LORA = {"r": 8, "alpha": 16, "dropout": 0.0, "target_modules": "all-linear"}


def run_job(model: Path, rows: list[dict[str, Any]], folder: RunFolder, method: str = "sft", **options: Any) -> Any:
    train = write_jsonl(folder.data / "train.jsonl", rows)
    opts = LocalOptions(device="cpu", **options)
    provider = LocalProvider(opts)
    spec = JobSpec(
        run_id=folder.root.name,
        method=method,  # type: ignore[arg-type]
        model=str(model),
        train_file=str(train),
        hyperparameters={"learning_rate": 5e-3, "batch_size": 4},
        lora=LORA,
        options=opts.model_dump(mode="json"),
    )
    ref: JobRef = provider.start(spec, folder)
    return provider, ref, wait_for_job(provider, ref, timeout=600)


@pytest.mark.slow
def test_dpo_run(tiny_model: Path, tmp_path: Path) -> None:
    folder = RunFolder(tmp_path / "dpo")
    provider, ref, state = run_job(tiny_model, sample_preferences(16), folder, method="dpo", max_steps=4)
    assert state.status == JobStatus.SUCCEEDED, (state.message, folder.log.read_text()[-3000:])
    metrics = [e.metrics for e in provider.events(ref) if "train_loss" in e.metrics]
    assert len(metrics) == 4
    assert any(key.startswith("rewards/") for key in metrics[-1])
    assert (folder.adapter / "adapter_model.safetensors").is_file()
    assert json.loads(folder.plan.read_text())["plan"]["beta"] == 0.1


@pytest.mark.slow
def test_two_process_ddp_on_the_cpu_with_torchrun(tiny_model: Path, tmp_path: Path) -> None:
    folder = RunFolder(tmp_path / "ddp")
    rows = [{"messages": c} for c in sample_conversations(32)]
    _, _, state = run_job(tiny_model, rows, folder, launcher="torchrun", num_processes=2, max_steps=3)
    log = folder.log.read_text()
    assert state.status == JobStatus.SUCCEEDED, (state.message, log[-3000:])
    assert "torch.distributed.run" in log and "--nproc_per_node=2" in log
    recorded = json.loads(folder.plan.read_text())
    assert recorded["world_size"] == 2 and recorded["trainer_args"]["ddp_backend"] == "gloo"
    assert state.step == 3
    assert (folder.adapter / "adapter_model.safetensors").is_file()


@pytest.mark.slow
def test_a_template_that_never_supervises_end_of_turn_is_refused(tmp_path: Path) -> None:
    # The assistant's reply is rendered without any end-of-turn token: the model could never learn to stop.
    template = (
        "{% for message in messages %}{{ message['role'] + ': ' + message['content'] + '\n' }}{% endfor %}"
        "{% if add_generation_prompt %}{{ 'assistant: ' }}{% endif %}"
    )
    model = build_tiny_chat_model(tmp_path / "broken", chat_template=template)
    folder = RunFolder(tmp_path / "run")
    rows = [{"messages": c} for c in sample_conversations(8)]
    provider, ref, state = run_job(model, rows, folder, max_steps=2)
    assert state.status == JobStatus.FAILED
    assert "end-of-turn / EOS token" in (state.message or "") and "[[" in (state.message or "")
    assert not any(e.type == "metrics" for e in provider.events(ref))  # refused before the first step


def test_supervision_report_marks_the_trained_span() -> None:
    tokenizer = build_tiny_tokenizer()
    chat = sample_conversations(1)[0]
    prompt = tokenizer.apply_chat_template(chat[:1], tokenize=True, add_generation_prompt=True, return_dict=False)
    full = tokenizer.apply_chat_template(chat, tokenize=True, return_dict=False)
    labels = [-100] * len(prompt) + full[len(prompt) :]
    stops = {tokenizer.eos_token_id}
    report = inspect_sft_row({"input_ids": full, "labels": labels}, tokenizer, stops)
    assert report.stop_supervised and report.supervised_count == len(full) - len(prompt)
    assert report.render().endswith("[[The apple is red.<|im_end|>\n]]")
    check_supervision(report, tokenizer)

    nothing = inspect_sft_row({"input_ids": full, "labels": [-100] * len(full)}, tokenizer, stops)
    with pytest.raises(DataError, match="no token"):
        check_supervision(nothing, tokenizer, file="train.jsonl")
    no_stop = inspect_sft_row({"input_ids": full, "labels": [*labels[:-2], -100, -100]}, tokenizer, stops)
    with pytest.raises(DataError, match=r"never\s+learn to stop"):
        check_supervision(no_stop, tokenizer)


def test_pad_equal_to_eos_is_warned_about() -> None:
    tokenizer = build_tiny_tokenizer()
    tokenizer.pad_token = tokenizer.eos_token
    report = inspect_sft_row({"input_ids": [1, 2], "labels": [1, 2]}, tokenizer, {2})
    assert any("pad token equals EOS" in w for w in report.warnings)


@pytest.mark.slow
def test_push_to_hub_uploads_adapter_and_tokenizer(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hub_emulator: Any
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", hub_emulator.endpoint)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")  # pushing is the one step that talks to the (emulated) Hub
    repo = f"{hub_emulator.namespace}/tiny-adapter"
    folder = RunFolder(tmp_path / "push")
    rows = [{"messages": c} for c in sample_conversations(8)]
    _, _, state = run_job(tiny_model, rows, folder, max_steps=1, push_to_hub=repo, hub_token=hub_emulator.token)
    assert state.status == JobStatus.SUCCEEDED, (state.message, folder.log.read_text()[-3000:])
    files = hub_emulator.files(repo)
    assert {"adapter_model.safetensors", "adapter_config.json", "tokenizer.json", "chat_template.jinja"} <= set(files)
    assert next(r for r in hub_emulator.repos("model") if r["id"] == repo)["private"] is True
    assert json.loads(folder.result.read_text())["hub_repo"] == repo
    for written in (folder.job, folder.process, folder.events, folder.status, folder.plan, folder.result):
        assert hub_emulator.token not in written.read_text()


@pytest.mark.slow
def test_all_weights_without_an_adapter(tiny_model: Path, tmp_path: Path) -> None:
    folder = RunFolder(tmp_path / "full")
    train = write_jsonl(folder.data / "train.jsonl", [{"messages": c} for c in sample_conversations(8)])
    options = LocalOptions(device="cpu", max_steps=2)
    provider = LocalProvider(options)
    spec = JobSpec(
        run_id="full",
        model=str(tiny_model),
        train_file=str(train),
        hyperparameters={"batch_size": 4},
        lora=None,
        options=options.model_dump(mode="json"),
    )
    ref = provider.start(spec, folder)
    state = wait_for_job(provider, ref, timeout=600)
    assert state.status == JobStatus.SUCCEEDED, (state.message, folder.log.read_text()[-3000:])
    model = provider.result(ref)
    assert (model.kind, model.path) == ("model_dir", str(folder.model))
    assert (folder.model / "model.safetensors").is_file() and not folder.adapter.exists()
    assert json.loads(folder.plan.read_text())["plan"]["learning_rate"] == 2e-5  # all weights: a gentler rate
    assert provider.client(model).chat([{"role": "user", "content": "Hi"}], max_tokens=3).usage.completion_tokens > 0


WEIGHTED = [
    {"role": "user", "content": "Say one word."},
    {"role": "assistant", "content": "Banana banana banana.", "weight": 0},
    {"role": "user", "content": "Shorter, please."},
    {"role": "assistant", "content": "Banana.", "weight": 1},
]


def test_split_turns_trains_weight_one_turns_and_keeps_weight_zero_ones_as_context() -> None:
    from tunekit_local.training import has_weighted_turns, split_turns, without_weights

    rows = [{"messages": WEIGHTED}]
    assert has_weighted_turns(rows) and not has_weighted_turns(without_weights(rows))
    (row,) = split_turns(rows)
    assert row["completion"] == [{"role": "assistant", "content": "Banana."}]
    assert [m["content"] for m in row["prompt"]] == ["Say one word.", "Banana banana banana.", "Shorter, please."]
    assert "weight" not in json.dumps(row)
    silent = [{"messages": [WEIGHTED[0], {**WEIGHTED[1]}]}]
    with pytest.raises(DataError, match="weight 0"):
        split_turns(silent)


@pytest.mark.slow
def test_weight_zero_turns_carry_no_loss(tiny_model_marked: Path, tmp_path: Path) -> None:
    # A template with generation markers would mask every assistant turn alike; weights must still win.
    folder = RunFolder(tmp_path / "weighted")
    rows = [{"messages": WEIGHTED}] * 8
    *_, state = run_job(tiny_model_marked, rows, folder, max_steps=2)
    assert state.status == JobStatus.SUCCEEDED, folder.log.read_text()[-3000:]
    plan = json.loads(folder.plan.read_text())
    assert plan["plan"]["split_turns"] is True and "weight 0" in plan["plan"]["reasons"]["loss_masking"]
    preflight = next(e for e in folder.read_events() if "preflight" in (e.get("data") or {}))
    rendered = preflight["data"]["preflight"]["rendered"]
    context, trained = rendered.split("[[", 1)
    assert "Banana banana" in context and "Banana banana" not in trained  # only the weight-1 reply trains
