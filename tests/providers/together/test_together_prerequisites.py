"""Bad input is refused before anything is uploaded; the service's refusals and faults are explained or retried."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import openai
import pytest

from tunekit import Tuner
from tunekit.errors import AuthenticationError, ConfigError, DataError, InvalidRequestError, TunekitError
from tunekit_emulators import Fault
from tunekit_emulators.together import TogetherEmulator

ConfigFactory = Callable[..., Path]


def _nothing_sent(emu: TogetherEmulator) -> bool:
    return emu.request_count("POST", "/v1/files") == 0 and emu.jobs() == []


def test_a_model_together_does_not_tune_is_refused_before_upload(
    together_emulator: TogetherEmulator, make_config: ConfigFactory
) -> None:
    config = make_config(together_emulator, model="gpt-4o-mini-2024-07-18")
    with pytest.raises((ConfigError, DataError), match=r"together cannot fine-tune 'gpt-4o-mini-2024-07-18'"):
        Tuner.from_config(config).submit()
    assert together_emulator.requests == []


def test_a_file_over_the_size_limit_is_refused_before_upload(
    together_emulator: TogetherEmulator, make_config: ConfigFactory, tunekit_home: Path
) -> None:
    # The shipped limit is Together's 50.1 GiB; a user's override shows the same check at a testable size.
    (tunekit_home / "limits.yaml").write_text("providers:\n  together:\n    max_file_bytes: 1000\n", encoding="utf-8")
    with pytest.raises((ConfigError, DataError), match=r"the limit is 1,000"):
        Tuner.from_config(make_config(together_emulator)).submit()
    assert _nothing_sent(together_emulator)


@pytest.mark.parametrize(("key", "kind"), [("sk-proj-abc123", "an OpenAI key"), ("fw_abc123", "a Fireworks key")])
def test_a_key_of_another_service_is_refused_before_any_request(
    together_emulator: TogetherEmulator,
    make_config: ConfigFactory,
    monkeypatch: pytest.MonkeyPatch,
    key: str,
    kind: str,
) -> None:
    config = make_config(together_emulator)
    monkeypatch.setenv("TOGETHER_API_KEY", key)
    with pytest.raises(ConfigError, match=f"looks like {kind}") as caught:
        Tuner.from_config(config).submit()
    assert key not in str(caught.value)
    assert together_emulator.requests == []


def test_a_rejected_key_is_explained_and_nothing_is_uploaded(
    together_emulator: TogetherEmulator, make_config: ConfigFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_config(together_emulator)
    monkeypatch.setenv("TOGETHER_API_KEY", "tgp_v1_revoked0123456789")
    with pytest.raises(AuthenticationError) as caught:
        Tuner.from_config(config).submit()
    assert "Invalid API key" in str(caught.value) and "tgp_v1_revoked" not in str(caught.value)
    assert _nothing_sent(together_emulator)


def test_the_sdks_and_the_services_refusals_are_explained_not_dumped(
    together_emulator: TogetherEmulator, make_config: ConfigFactory
) -> None:
    # The SDK checks the job against GET /v1/fine-tunes/models/limits before sending it...
    short = make_config(together_emulator, name="short.yaml", hyperparameters={"max_seq_length": 100})
    with pytest.raises(InvalidRequestError, match=r"Together refused the job: Maximum sequence length must be"):
        Tuner.from_config(short).submit()
    # ...and the service refuses what the SDK does not check, naming the field.
    wide = make_config(together_emulator, name="wide.yaml", lora={"r": 128, "alpha": 256})
    with pytest.raises(InvalidRequestError, match=r"lora_r must be at most 64") as caught:
        Tuner.from_config(wide).submit()
    assert caught.value.param == "lora_r" and caught.value.status_code == 400
    assert together_emulator.jobs() == []


def test_a_model_the_service_no_longer_tunes_is_explained(
    together_emulator: TogetherEmulator, make_config: ConfigFactory
) -> None:
    # In the shipped table, gone from the service: its limits answer 404 and no job is created.
    config = make_config(together_emulator, model="Qwen/Qwen3-32B")
    with pytest.raises(InvalidRequestError, match="Together does not fine-tune this model") as caught:
        Tuner.from_config(config).submit()
    assert "fine-tuning-models" in (caught.value.hint or "")
    assert together_emulator.jobs() == []


def test_full_training_of_a_lora_only_model_is_refused_before_upload(
    together_emulator: TogetherEmulator, make_config: ConfigFactory
) -> None:
    config = make_config(together_emulator, model="meta-llama/Llama-3.3-70B-Instruct-Reference", lora=None)
    with pytest.raises(TunekitError, match="LoRA only"):
        Tuner.from_config(config).submit()
    assert _nothing_sent(together_emulator)


def test_throttled_and_failing_requests_are_retried_into_one_job(
    together_emulator: TogetherEmulator, make_config: ConfigFactory
) -> None:
    together_emulator.inject("POST /v1/fine-tunes", Fault.status(429, retry_after=0.01), first_n=2)
    together_emulator.inject("GET /v1/fine-tunes", Fault.status(503), first_n=1)
    job = Tuner.from_config(make_config(together_emulator)).submit()
    assert [j["id"] for j in together_emulator.jobs()] == [job.job_id]
    assert together_emulator.request_count("POST", "/v1/fine-tunes") == 3


def test_a_throttled_chat_waits_and_retries(together_emulator: TogetherEmulator, make_config: ConfigFactory) -> None:
    job = Tuner.from_config(make_config(together_emulator)).submit()
    job.wait(poll_interval=0.02, timeout=30)
    together_emulator.inject("POST /v1/chat/completions", Fault.status(429, retry_after=0.01), first_n=1)
    assert job.result().client().chat([{"role": "user", "content": "the capital"}]).text.endswith("capital")
    assert together_emulator.request_count("POST", "/v1/chat/completions") == 2


def test_the_emulator_limits_chat_requests_per_minute(make_config: ConfigFactory) -> None:
    with TogetherEmulator(rpm=1) as emu:
        job = Tuner.from_config(make_config(emu)).submit()
        job.wait(poll_interval=0.02, timeout=30)
        base = job.provider.base_client("meta-llama/Meta-Llama-3.1-8B-Instruct-Reference")
        base.chat([{"role": "user", "content": "first"}])
        raw = openai.OpenAI(base_url=f"{emu.url}/v1", api_key=emu.api_key, max_retries=0)
        with pytest.raises(openai.RateLimitError) as caught:
            raw.chat.completions.create(
                model="meta-llama/Meta-Llama-3.1-8B-Instruct-Reference",
                messages=[{"role": "user", "content": "second"}],
            )
    assert float(caught.value.response.headers["retry-after"]) > 0


def test_a_deploy_section_is_refused_before_training_is_paid_for(
    together_emulator: TogetherEmulator, make_config: ConfigFactory
) -> None:
    config = make_config(together_emulator, deploy={"instance_type": "1x_nvidia_h100_80gb_sxm"})
    with pytest.raises(TunekitError, match="tunekit creates no Together endpoint"):
        Tuner.from_config(config).submit()
    assert _nothing_sent(together_emulator)
