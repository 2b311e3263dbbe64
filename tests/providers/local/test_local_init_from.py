"""init_from on the local provider: the child trains a copy of the parent's adapter, from the parent's weights."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from tunekit import ConfigError, JobStatus, Tuner
from tunekit.jobs import Job
from tunekit_emulators.conformance.data import write_jsonl
from tunekit_local.runfolder import RunFolder
from tunekit_local.testing import sample_conversations

pytestmark = pytest.mark.slow

LORA = {"r": 8, "alpha": 16, "dropout": 0.0}


def _tuner(model: Path, data: Path, *, lora: dict[str, Any] | None = None, **fields: Any) -> Tuner:
    steps = fields.pop("max_steps", 2)
    return Tuner(
        provider="local",
        model=str(model),
        data={"train": str(data)},
        hyperparameters={"learning_rate": 1e-2, "batch_size": 4},
        lora=lora or LORA,
        provider_options={"device": "cpu", "max_steps": steps, "checkpoint_every": 1},
        **fields,
    )


def _finish(job: Job) -> Job:
    state = job.wait(poll_interval=0.2, timeout=600)
    assert state.status is JobStatus.SUCCEEDED, (state.message, RunFolder(job.record.run_dir).log.read_text()[-3000:])
    return job


def _digest(adapter_file: Path) -> str:
    """SHA-256 over the saved tensors' fp32 values in name order, computed here from the file itself."""
    tensors = load_file(str(adapter_file))
    digest = hashlib.sha256()
    for name in sorted(tensors):
        digest.update(name.encode())
        digest.update(tensors[name].to(torch.float32).contiguous().numpy().tobytes())
    return digest.hexdigest()


def _initial_digest(job: Job) -> str:
    [event] = [e for e in job.history() if "init_weights_sha256" in e.data]
    return str(event.data["init_weights_sha256"])


def test_a_child_trains_a_copy_of_the_parents_adapter_from_its_weights(tiny_model: Path, tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "train.jsonl", [{"messages": c} for c in sample_conversations(16)])
    more = write_jsonl(tmp_path / "more.jsonl", [{"messages": c} for c in sample_conversations(24)[8:]])
    parent = _finish(_tuner(tiny_model, data).submit())
    parent_adapter = Path(parent.result().model_id) / "adapter_model.safetensors"
    parent_bytes = parent_adapter.read_bytes()

    # Stage two on new data, lora left out: the parent's adapter is continued in its own shape.
    stage_two = Tuner(
        provider="local",
        model=str(tiny_model),
        data={"train": str(more)},
        hyperparameters={"learning_rate": 1e-2, "batch_size": 4, "warmup_ratio": 0},  # step 1 moves the weights
        provider_options={"device": "cpu", "max_steps": 1},
        init_from=parent.run_id,
    )
    child = _finish(stage_two.submit())
    # At step 0 the trainer held exactly the parent's weights ...
    assert _initial_digest(child) == _digest(parent_adapter)
    # ... in a copy inside the child's folder; the child's result moved on, and the parent is untouched.
    copy = RunFolder(child.record.run_dir).root / "init_adapter" / "adapter_model.safetensors"
    assert copy.read_bytes() == parent_bytes and parent_adapter.read_bytes() == parent_bytes
    tuned = load_file(str(Path(child.result().model_id) / "adapter_model.safetensors"))
    assert not all(torch.equal(tuned[k], v) for k, v in load_file(str(parent_adapter)).items())
    assert tuned.keys() == load_file(str(parent_adapter)).keys()  # the same adapter (r=8), trained further
    assert child.record.parent is not None and child.record.parent.run_id == parent.run_id
    assert stage_two.submit().run_id == child.run_id  # the same parent again: no second job

    # @STEP starts from that checkpoint's adapter instead.
    from_step = _finish(
        Tuner(
            provider="local",
            model=str(tiny_model),
            data={"train": str(more)},
            hyperparameters={"learning_rate": 1e-2, "batch_size": 4, "warmup_ratio": 0},
            provider_options={"device": "cpu", "max_steps": 1},
            init_from=f"{parent.run_id}@1",
        ).submit()
    )
    checkpoint = RunFolder(parent.record.run_dir).checkpoints / "checkpoint-1" / "adapter_model.safetensors"
    assert from_step.run_id != child.run_id
    assert _initial_digest(from_step) == _digest(checkpoint) != _digest(parent_adapter)


def test_a_mismatched_adapter_shape_or_base_model_is_refused_before_a_run(
    tiny_model: Path, tiny_model_marked: Path, tmp_path: Path
) -> None:
    data = write_jsonl(tmp_path / "train.jsonl", [{"messages": c} for c in sample_conversations(8)])
    parent = _finish(_tuner(tiny_model, data, max_steps=1).submit())
    runs = len(parent.ledger.runs())
    with pytest.raises(ConfigError, match=r"init_from: the adapter of .* has r=8, alpha=16.*r=4, alpha=8"):
        _tuner(tiny_model, data, lora={"r": 4, "alpha": 8}, init_from=parent.run_id).submit()
    with pytest.raises(ConfigError, match=r"init_from: .* keep a lora section"):
        Tuner(
            provider="local",
            model=str(tiny_model),
            data={"train": str(data)},
            lora=None,
            provider_options={"device": "cpu"},
            init_from=parent.run_id,
        ).submit()
    with pytest.raises(ConfigError, match=f"init_from: run {parent.run_id} was tuned from {tiny_model}"):
        _tuner(tiny_model_marked, data, init_from=parent.run_id).submit()
    assert len(parent.ledger.runs()) == runs


def test_a_parent_that_trained_all_weights_is_the_childs_model(tiny_model: Path, tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "train.jsonl", [{"messages": c} for c in sample_conversations(8)])
    full = Tuner(
        provider="local",
        model=str(tiny_model),
        data={"train": str(data)},
        hyperparameters={"learning_rate": 1e-3, "batch_size": 4},
        lora=None,
        provider_options={"device": "cpu", "max_steps": 1},
    )
    parent = _finish(full.submit()).result()
    assert parent.kind == "model_dir"
    child = _finish(_tuner(tiny_model, data, max_steps=1, init_from=str(parent.run_id)).submit())
    spec = json.loads(RunFolder(child.record.run_dir).job.read_text())
    assert spec["model"] == parent.path and spec["init_adapter"] is None  # a new adapter on the parent's weights
    assert child.result().base_model == parent.path
