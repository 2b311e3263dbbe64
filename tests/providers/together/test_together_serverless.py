"""A run whose tuned model Together will not serve serverless is not trained when an evaluation must call it.

Together answers a LoRA adapter on its base model serverless; a full fine-tune, or a continuation that does not
train its parent's adapter further in the same rank, alpha and modules (Together merges the parent first), needs
a dedicated endpoint, and its chat answers 400 ``model_not_available``. ``tunekit run`` with an ``eval`` section
would pay for the training and then fail to evaluate, so it refuses before anything is uploaded.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import together
from typer.testing import CliRunner

from tunekit import JobStatus, Ledger, Tuner
from tunekit.cli.app import app
from tunekit_emulators.together import TogetherEmulator

runner = CliRunner()
ConfigFactory = Callable[..., Path]
MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"  # make_config's: Together serves its LoRA adapters
EVAL = {"data": "train.jsonl", "baselines": ["zero-shot"], "max_examples": 2, "max_new_tokens": 8}


def _parent(emu: TogetherEmulator, make_config: ConfigFactory) -> str:
    """A succeeded LoRA run in tunekit's default shape (r 16, alpha 32, all-linear): its run id."""
    job = Tuner.from_config(make_config(emu, name="sft.yaml")).submit()
    assert job.wait(poll_interval=0.02, timeout=30).status == JobStatus.SUCCEEDED
    return job.run_id


def _run(config: Path, *flags: str) -> str:
    result = runner.invoke(app, ["run", str(config), "--yes", "--poll-interval", "0.02", *flags])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return f"{result.exit_code}\n{' '.join(result.output.split())}"  # the exit code, then the output unwrapped


def _chat(emu: TogetherEmulator, model: str) -> str:
    client = together.Together(api_key=emu.api_key, base_url=emu.url, max_retries=0)
    reply = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "the capital"}])
    return str(reply.choices[0].message.content)


def test_a_reshaped_continuation_is_refused_before_upload_when_it_would_be_evaluated(
    together_emulator: TogetherEmulator, make_config: ConfigFactory
) -> None:
    parent = _parent(together_emulator, make_config)
    uploads, runs = together_emulator.request_count("POST", "/v1/files"), len(Ledger().runs())
    child = make_config(together_emulator, name="more.yaml", init_from=parent, lora={"r": 8, "alpha": 16}, eval=EVAL)

    out = _run(child)
    assert out.startswith("1\n"), out
    assert (
        f"init_from: {parent} was trained with lora r=16, alpha=32, target_modules=all-linear, this run with "
        "lora r=8, alpha=16, target_modules=all-linear: Together merges the parent first" in out
    ), out
    assert "match the parent's lora settings, or pass --skip-eval and deploy the model on a dedicated endpoint" in out
    assert "nothing was uploaded or spent" in out
    assert together_emulator.request_count("POST", "/v1/files") == uploads  # nothing uploaded
    assert len(together_emulator.jobs()) == 1 and len(Ledger().runs()) == runs  # no job, no run

    # Without the evaluation the run goes ahead (with the warning), and this is what the evaluation would have met.
    assert _run(child, "--skip-eval").startswith("0\n")
    tuned = together_emulator.jobs()[-1]["model_output_name"]
    with pytest.raises(together.BadRequestError, match=f"Unable to access non-serverless model {tuned}") as caught:
        _chat(together_emulator, tuned)
    assert caught.value.status_code == 400 and "dedicated endpoint" in str(caught.value)


def test_a_continuation_in_the_parents_shape_is_trained_and_evaluated_serverless(
    together_emulator: TogetherEmulator, make_config: ConfigFactory
) -> None:
    parent = _parent(together_emulator, make_config)
    child = make_config(together_emulator, name="more.yaml", init_from=parent, eval=EVAL)
    out = _run(child)
    assert out.startswith("0\n") and "serverless" not in out, out  # the tuned model answered the evaluation
    continued = together_emulator.jobs()[-1]
    assert continued["from_checkpoint"] == together_emulator.jobs()[0]["id"]
    assert _chat(together_emulator, continued["model_output_name"])


def test_a_full_fine_tune_is_refused_before_upload_when_it_would_be_evaluated(
    together_emulator: TogetherEmulator, make_config: ConfigFactory
) -> None:
    config = make_config(together_emulator, lora=None, eval=EVAL)
    out = _run(config)
    assert out.startswith("1\n"), out
    assert (
        f"lora: together serves a fully fine-tuned model of '{MODEL}' only on a dedicated deployment (limits "
        "serves_tuned: lora, as of 2026-12-03; without one LoRA adapters only)" in out
    ), out
    assert "train LoRA (a lora: section), or pass --skip-eval and deploy the model yourself" in out
    assert together_emulator.request_count("POST", "/v1/files") == 0 and together_emulator.jobs() == []

    assert _run(config, "--skip-eval").startswith("0\n")
    with pytest.raises(together.BadRequestError, match="Unable to access non-serverless model"):
        _chat(together_emulator, together_emulator.jobs()[-1]["model_output_name"])


def test_a_base_model_together_serves_no_tune_of_is_refused_before_upload_when_it_would_be_evaluated(
    together_emulator: TogetherEmulator, make_config: ConfigFactory
) -> None:
    """Together tunes Qwen3-8B, but serves none of its adapters serverless: the evaluation would pay and fail."""
    config = make_config(together_emulator, model="Qwen/Qwen3-8B", eval=EVAL)
    out = _run(config)
    assert out.startswith("1\n"), out
    assert (
        "model: together serves a model tuned from 'Qwen/Qwen3-8B' only on a dedicated deployment (limits "
        f"serves_tuned: none, as of 2026-12-03; without one it serves those of {MODEL}, "
        "meta-llama/Meta-Llama-3.1-70B-Instruct-Reference)" in out
    ), out
    assert "choose one of those base models, or pass --skip-eval and deploy the model yourself" in out
    assert "nothing was uploaded or spent" in out
    assert together_emulator.request_count("POST", "/v1/files") == 0  # no file
    assert together_emulator.jobs() == [] and Ledger().runs() == []  # no job, no run

    # Trained anyway, the tuned model is what the evaluation would have met: Together's 400.
    assert _run(config, "--skip-eval").startswith("0\n")
    tuned = together_emulator.jobs()[-1]["model_output_name"]
    with pytest.raises(together.BadRequestError, match=f"Unable to access non-serverless model {tuned}") as caught:
        _chat(together_emulator, tuned)
    assert caught.value.status_code == 400 and "model_not_available" in str(caught.value.body)

    # The same config on a base model whose adapters Together serves trains and is evaluated.
    listed = make_config(together_emulator, name="listed.yaml", eval=EVAL)
    out = _run(listed)
    assert out.startswith("0\n") and "dedicated" not in out, out
    assert together_emulator.jobs()[-1]["model"] == MODEL
    assert _chat(together_emulator, together_emulator.jobs()[-1]["model_output_name"])
