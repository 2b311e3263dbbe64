"""Hardware-aware defaults: every auto becomes a concrete, explained value."""

from __future__ import annotations

from typing import Any

import pytest

from tunekit.errors import ConfigError
from tunekit_local.defaults import DataStats, Hardware, openmp_settings, resolve_plan
from tunekit_local.options import LocalOptions

CPU = Hardware(device="cpu", name="CPU (2 cores)", cpu_count=2)
CPU_BF16 = Hardware(device="cpu", name="CPU (2 cores)", cpu_count=2, bf16=True)
H100 = Hardware(
    device="cuda", name="NVIDIA H100", gpu_count=1, bf16=True, capability=(9, 0), flash_attn=True, liger=True
)
T4 = Hardware(device="cuda", name="Tesla T4", gpu_count=1, bf16=False, capability=(7, 5))
CHATS = DataStats(format="conversational", train_examples=100, max_tokens=117, p95_tokens=90)
LORA = {"r": 16, "alpha": 32, "dropout": 0.05, "target_modules": "all-linear"}


def plan(hardware: Hardware = CPU, stats: DataStats = CHATS, method: str = "sft", **options: Any) -> Any:
    return resolve_plan(
        method=method,  # type: ignore[arg-type]
        hyperparameters={},
        lora=LORA,
        seed=7,
        options=LocalOptions(**options),
        hardware=hardware,
        stats=stats,
    )


def test_cpu_trains_in_fp32_without_checkpointing_with_plain_nll() -> None:
    p = plan()
    args = p.trainer_kwargs("out")
    assert (p.precision, p.gradient_checkpointing, p.attn_implementation) == ("fp32", False, "sdpa")
    assert args["bf16"] is False and args["fp16"] is False and args["gradient_checkpointing"] is False
    assert args["loss_type"] == "nll" and args["use_cpu"] is True
    assert "precision" in p.reasons and "gradient_checkpointing" in p.reasons


def test_cpu_with_native_bf16_trains_in_bf16_autocast_still_without_checkpointing() -> None:
    p = plan(CPU_BF16)
    args = p.trainer_kwargs("out")
    assert (p.precision, p.gradient_checkpointing) == ("bf16", False)
    assert args["bf16"] is True and args["fp16"] is False and args["use_cpu"] is True and args["loss_type"] == "nll"
    assert "natively" in p.reasons["precision"]
    assert plan(CPU_BF16, precision="fp32").precision == "fp32"  # an explicit choice wins


def test_detected_cpu_bf16_matches_torch() -> None:
    import torch

    from tunekit_local.defaults import cpu_bf16, detect_hardware

    native = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    assert cpu_bf16() is native
    assert detect_hardware("cpu").bf16 is native


def test_capable_gpu_gets_bf16_checkpointing_flash_attention_and_liger() -> None:
    p = plan(H100)
    args = p.trainer_kwargs("out")
    assert (p.precision, p.gradient_checkpointing, p.attn_implementation) == ("bf16", True, "flash_attention_2")
    assert args["bf16"] is True and args["use_liger_kernel"] is True and args["use_cpu"] is False


def test_older_gpu_falls_back_to_fp16_and_sdpa() -> None:
    p = plan(T4)
    assert (p.precision, p.attn_implementation, p.liger_kernel) == ("fp16", "sdpa", False)


def test_sequence_limit_comes_from_the_longest_example() -> None:
    assert plan().max_length == 120  # 117 rounded up to a multiple of 8
    capped = plan(stats=DataStats(format="conversational", train_examples=10, max_tokens=5000, model_max_length=512))
    assert capped.max_length == 512


def test_explicit_values_win_over_auto() -> None:
    p = resolve_plan(
        method="sft",
        hyperparameters={"batch_size": 2, "learning_rate": 1e-3, "epochs": 1, "max_seq_length": 64},
        lora=None,
        seed=1,
        options=LocalOptions(gradient_checkpointing=True, max_steps=5, checkpoint_every=2),
        hardware=CPU,
        stats=CHATS,
    )
    assert (p.batch_size, p.learning_rate, p.epochs, p.max_length) == (2, 1e-3, 1, 64)
    assert (p.gradient_checkpointing, p.total_steps, p.checkpoint_every) == (True, 5, 2)


def test_steps_and_checkpoints_follow_the_data() -> None:
    p = plan()  # 100 examples, batch 8 -> 13 steps an epoch, 3 epochs
    assert (p.batch_size, p.epochs, p.total_steps, p.checkpoint_every) == (8, 3, 39, 3)
    small = plan(stats=DataStats(format="conversational", train_examples=3, max_tokens=20))
    assert small.batch_size == 3


@pytest.mark.parametrize("option", ["packing", "padding_free"])
def test_packing_and_padding_free_need_flash_attention(option: str) -> None:
    with pytest.raises(ConfigError, match="FlashAttention"):
        plan(**{option: True})
    assert getattr(plan(H100, **{option: True}), option) is True


def test_qlora_is_refused_without_cuda_and_bitsandbytes() -> None:
    with pytest.raises(ConfigError, match="CUDA"):
        plan(quantization="4bit")
    with pytest.raises(ConfigError, match="bitsandbytes"):
        plan(H100, quantization="4bit")


def test_gpu_precision_is_refused_on_the_cpu() -> None:
    with pytest.raises(ConfigError, match="needs a GPU"):
        plan(precision="fp16")
    assert plan(precision="bf16").precision == "bf16"  # slow without native bf16, but it runs


def test_loss_masking_uses_template_markers_or_splits_turns() -> None:
    marked = plan(stats=DataStats(format="conversational", train_examples=8, template_masks_assistant=True))
    assert (marked.loss, marked.split_turns) == ("assistant_only", False)
    assert marked.trainer_kwargs("o")["assistant_only_loss"] is True
    unmarked = plan()
    assert (unmarked.loss, unmarked.split_turns) == ("assistant_only", True)
    args = unmarked.trainer_kwargs("o")
    assert args["assistant_only_loss"] is False and args["completion_only_loss"] is True
    everything = plan(loss="all")
    assert (everything.loss, everything.split_turns) == ("all", False)


def test_weight_zero_turns_split_turns_even_when_the_template_marks_them() -> None:
    stats = DataStats(format="conversational", train_examples=8, template_masks_assistant=True, weighted_turns=True)
    weighted = plan(stats=stats)
    assert (weighted.loss, weighted.split_turns) == ("assistant_only", True)
    assert "weight 0" in weighted.reasons["loss_masking"]
    assert "ignored" in plan(stats=stats, loss="all").reasons["weights"]


def test_prompt_completion_and_text_defaults() -> None:
    pc = plan(stats=DataStats(format="prompt-completion", train_examples=8))
    assert pc.loss == "completion_only" and pc.trainer_kwargs("o")["completion_only_loss"] is True
    text = plan(stats=DataStats(format="text", train_examples=8))
    assert text.loss == "all"
    with pytest.raises(ConfigError, match="plain text"):
        plan(stats=DataStats(format="text", train_examples=8), loss="assistant_only")


def test_dpo_needs_preference_data_and_gets_its_own_defaults() -> None:
    prefs = DataStats(format="preference", train_examples=40, max_tokens=50)
    p = plan(stats=prefs, method="dpo")
    args = p.trainer_kwargs("o")
    assert p.beta == 0.1 and args["beta"] == 0.1 and "loss_type" not in args
    assert p.learning_rate == 5e-5
    with pytest.raises(ConfigError, match="preference"):
        plan(method="dpo")
    with pytest.raises(ConfigError, match="dpo"):
        plan(stats=prefs)


PROMPTS = DataStats(format="prompt-only", train_examples=40, max_tokens=60, max_reference_tokens=21)


def test_rft_samples_whole_groups_with_hardware_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    p = plan(stats=PROMPTS, method="rft")
    args = p.trainer_kwargs("o")
    # CPU: 4 completions per prompt of at most twice the longest reference; a batch of whole groups; no KL term
    assert (p.num_generations, p.max_completion_length, p.beta, p.use_vllm) == (4, 48, 0.0, False)
    assert p.batch_size % 4 == 0 and args["num_generations"] == 4 and args["max_completion_length"] == 48
    assert "max_length" not in args and p.eval_every is None and p.learning_rate == 1e-5
    assert p.total_steps == 3 * 40 // (p.batch_size // 4)  # steps count prompts, not completions

    monkeypatch.setattr("tunekit_local.defaults._installed", lambda module: module == "vllm")
    gpu = plan(H100, stats=PROMPTS, method="rft")
    assert (gpu.num_generations, gpu.use_vllm) == (8, True)
    assert gpu.trainer_kwargs("o")["vllm_mode"] == "colocate"
    assert not plan(H100, stats=PROMPTS, method="rft", generation_engine="transformers").use_vllm

    with pytest.raises(ConfigError, match="must be a multiple of generations"):
        resolve_plan(
            method="rft",
            hyperparameters={"batch_size": 6, "generations": 4},
            lora=LORA,
            seed=7,
            options=LocalOptions(),
            hardware=CPU,
            stats=PROMPTS,
        )
    with pytest.raises(ConfigError, match="rft samples completions for prompts"):
        plan(method="rft")


def test_distributed_cpu_uses_gloo() -> None:
    p = plan(launcher="torchrun", num_processes=2)
    assert p.world_size == 2 and p.trainer_kwargs("o")["ddp_backend"] == "gloo"


def test_training_args_are_applied_last() -> None:
    args = plan(training_args={"lr_scheduler_type": "cosine", "logging_steps": 5}).trainer_kwargs("o")
    assert args["lr_scheduler_type"] == "cosine" and args["logging_steps"] == 5


def test_openmp_threads_wait_passively_unless_configured() -> None:
    env, reason = openmp_settings({})
    assert env == {"OMP_WAIT_POLICY": "PASSIVE"} and reason
    assert openmp_settings({"OMP_WAIT_POLICY": "ACTIVE"}) == ({}, None)  # the user's choice stands
