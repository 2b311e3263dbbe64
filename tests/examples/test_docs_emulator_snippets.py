"""The code shown in docs/emulators.md works as written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openai
import pytest

from tunekit_emulators import Fault

RECIPES = Path(__file__).resolve().parents[2] / "examples" / "recipes"


def test_my_pipeline_tunes_and_answers(openai_emulator: Any) -> None:
    client = openai.OpenAI(base_url=openai_emulator.base_url, api_key=openai_emulator.api_key)
    with (RECIPES / "data" / "train.jsonl").open("rb") as handle:
        training = client.files.create(file=handle, purpose="fine-tune")
    job = client.fine_tuning.jobs.create(model="gpt-4.1-mini-2025-04-14", training_file=training.id)
    job = client.fine_tuning.jobs.retrieve(job.id)
    assert job.status == "succeeded"
    reply = client.chat.completions.create(
        model=job.fine_tuned_model or "",
        messages=[
            {"role": "system", "content": "List the generic ingredients as a JSON array of lowercase singular names."},
            {"role": "user", "content": "- 1 bunch Rosemary\n- 1 cup toasted organic roasted sunflower seeds"},
        ],
    )
    assert reply.choices[0].message.content is not None


@pytest.mark.openai_emulator(lifecycle="manual")
def test_manual_lifecycle_moves_only_when_told(openai_emulator: Any) -> None:
    client = openai.OpenAI(base_url=openai_emulator.base_url, api_key=openai_emulator.api_key)
    with (RECIPES / "data" / "valid.jsonl").open("rb") as handle:
        training = client.files.create(file=handle, purpose="fine-tune")
    job = client.fine_tuning.jobs.create(model="gpt-4.1-mini-2025-04-14", training_file=training.id)
    assert client.fine_tuning.jobs.retrieve(job.id).status in ("validating_files", "queued")
    openai_emulator.advance(job.id, to="running")
    assert client.fine_tuning.jobs.retrieve(job.id).status == "running"
    openai_emulator.fail_job(job.id, "The job failed.")
    assert client.fine_tuning.jobs.retrieve(job.id).status == "failed"


def test_injected_429s_are_retried_and_counted(openai_emulator: Any) -> None:
    openai_emulator.inject("POST /v1/fine_tuning/jobs", Fault.status(429, retry_after=0.01), first_n=2)
    client = openai.OpenAI(base_url=openai_emulator.base_url, api_key=openai_emulator.api_key, max_retries=3)
    with (RECIPES / "data" / "valid.jsonl").open("rb") as handle:
        training = client.files.create(file=handle, purpose="fine-tune")
    client.fine_tuning.jobs.create(model="gpt-4.1-mini-2025-04-14", training_file=training.id)
    assert openai_emulator.request_count("POST", "/v1/fine_tuning/jobs") == 3
    assert len(openai_emulator.jobs()) == 1


def test_denied_fine_tuning_raises_the_tunekit_error(openai_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from tunekit.errors import FineTuningUnavailableError
    from tunekit.tuner import Tuner

    monkeypatch.setenv("OPENAI_API_KEY", openai_emulator.api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", openai_emulator.base_url)
    openai_emulator.deny_fine_tuning()
    tuner = Tuner.from_config(RECIPES / "openai.yaml")
    with pytest.raises(FineTuningUnavailableError, match="2027-01-06"):
        tuner.submit()
    assert openai_emulator.jobs() == []
