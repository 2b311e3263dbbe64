"""The OpenAI emulator driven by the real ``openai`` SDK over loopback HTTP."""

from __future__ import annotations

import openai
import pytest
from emulator_data import chat_lines, dpo_lines

from tunekit_emulators import OpenAIEmulator


def _client(emu: OpenAIEmulator, **kwargs: object) -> openai.OpenAI:
    return openai.OpenAI(base_url=emu.base_url, api_key=emu.api_key, max_retries=0, **kwargs)  # type: ignore[arg-type]


def _upload(client: openai.OpenAI, content: bytes = b"", name: str = "train.jsonl", purpose: str = "fine-tune") -> str:
    return client.files.create(file=(name, content or chat_lines()), purpose=purpose).id  # type: ignore[arg-type]


def test_fine_tune_flow_immediate(openai_emulator: OpenAIEmulator) -> None:
    client = _client(openai_emulator)
    file_id = _upload(client)
    job = client.fine_tuning.jobs.create(
        model="gpt-4o-mini-2024-07-18", training_file=file_id, suffix="geo", metadata={"run": "r1"}
    )
    assert job.status == "validating_files"
    assert len(openai_emulator.jobs()) == 1

    done = client.fine_tuning.jobs.retrieve(job.id)
    assert done.status == "succeeded"
    assert done.fine_tuned_model is not None
    assert done.fine_tuned_model.startswith("ft:gpt-4o-mini-2024-07-18:") and ":geo:" in done.fine_tuned_model
    assert done.trained_tokens and done.trained_tokens > 0
    assert done.hyperparameters.n_epochs == 3

    results = client.files.content(done.result_files[0]).text.splitlines()
    assert results[0] == "step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy"
    assert len(results) > 2

    checkpoints = client.fine_tuning.jobs.checkpoints.list(job.id).data
    assert [c.step_number for c in checkpoints] == sorted((c.step_number for c in checkpoints), reverse=True)
    assert checkpoints[0].fine_tuned_model_checkpoint == done.fine_tuned_model


def test_events_paginate_newest_first_with_metrics(openai_emulator: OpenAIEmulator) -> None:
    client = _client(openai_emulator)
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=_upload(client))
    client.fine_tuning.jobs.retrieve(job.id)
    first = client.fine_tuning.jobs.list_events(job.id, limit=5)
    assert len(first.data) == 5 and first.has_more
    assert first.data[0].message == "The job has successfully completed"
    rest = client.fine_tuning.jobs.list_events(job.id, after=first.data[-1].id, limit=1000)
    ids = [e.id for e in first.data] + [e.id for e in rest.data]
    assert len(ids) == len(set(ids)) == len(openai_emulator.events(job.id))
    metrics = [e for e in rest.data if e.type == "metrics"]
    assert metrics and {"step", "train_loss", "train_mean_token_accuracy", "total_steps"} <= set(metrics[0].data or {})
    assert rest.data[-1].message.startswith("Validating training file")


def test_list_filters_by_metadata_and_paginates(openai_emulator: OpenAIEmulator) -> None:
    client = _client(openai_emulator)
    file_id = _upload(client)
    made = [
        client.fine_tuning.jobs.create(
            model="gpt-4o-mini-2024-07-18", training_file=file_id, metadata={"team": "a" if i % 2 else "b"}
        ).id
        for i in range(5)
    ]
    team_a = client.fine_tuning.jobs.list(metadata={"team": "a"}).data
    assert [j.id for j in team_a] == [made[3], made[1]]
    page = client.fine_tuning.jobs.list(limit=2)
    assert [j.id for j in page.data] == [made[4], made[3]] and page.has_more
    after = client.fine_tuning.jobs.list(limit=10, after=made[3])
    assert [j.id for j in after.data] == [made[2], made[1], made[0]]


@pytest.mark.openai_emulator(lifecycle="manual")
def test_manual_lifecycle_cancel_pause_resume(openai_emulator: OpenAIEmulator) -> None:
    client = _client(openai_emulator)
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=_upload(client))
    assert client.fine_tuning.jobs.retrieve(job.id).status == "validating_files"
    assert openai_emulator.advance(job.id)["status"] == "queued"
    openai_emulator.advance(job.id, to="running")
    assert client.fine_tuning.jobs.pause(job.id).status == "paused"
    assert client.fine_tuning.jobs.resume(job.id).status == "queued"
    assert openai_emulator.advance(job.id)["status"] == "running"
    assert client.fine_tuning.jobs.cancel(job.id).status == "cancelled"
    with pytest.raises(openai.BadRequestError):
        client.fine_tuning.jobs.cancel(job.id)


@pytest.mark.openai_emulator(lifecycle="manual")
def test_fail_job_and_seed_metrics(openai_emulator: OpenAIEmulator) -> None:
    client = _client(openai_emulator)
    file_id = _upload(client)
    failing = client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=file_id)
    openai_emulator.fail_job(failing.id, message="bad data on line 3", code="invalid_training_file")
    failed = client.fine_tuning.jobs.retrieve(failing.id)
    assert failed.status == "failed" and failed.error is not None
    assert (failed.error.code, failed.error.message) == ("invalid_training_file", "bad data on line 3")

    job = client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=file_id)
    openai_emulator.seed_metrics(
        job.id, [{"step": s, "train_loss": 1.0 / s, "valid_loss": 1.5 / s} for s in range(1, 4)]
    )
    openai_emulator.advance(job.id, to="succeeded")
    events = client.fine_tuning.jobs.list_events(job.id, limit=100).data
    losses = [e.data["train_loss"] for e in reversed(events) if e.type == "metrics" and e.data]
    assert losses == [1.0, 0.5, 1.0 / 3]


def test_invalid_training_file_fails_the_job(openai_emulator: OpenAIEmulator) -> None:
    client = _client(openai_emulator)
    few = _upload(client, chat_lines(3))
    job = client.fine_tuning.jobs.retrieve(
        client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=few).id
    )
    assert job.status == "failed" and job.error is not None and job.error.code == "invalid_training_file"
    assert "at least 10 examples" in job.error.message
    broken = _upload(client, chat_lines(12) + b"{not json\n")
    job = client.fine_tuning.jobs.retrieve(
        client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=broken).id
    )
    assert job.status == "failed" and job.error is not None and "line 13" in job.error.message


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"suffix": "x" * 65}, "suffix"),
        ({"model": "gpt-4o-mini"}, "model"),
        ({"method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 0}}}}, None),
        ({"method": {"type": "supervised", "supervised": {"hyperparameters": {"beta": 0.1}}}}, None),
        ({"method": {"type": "reinforcement", "reinforcement": {}}}, "method.reinforcement.grader"),
        ({"method": {"type": "reinforcement", "reinforcement": {"grader": {"type": "string_check"}}}}, "method.type"),
        ({"hyperparameters": {"n_epochs": 2}, "method": {"type": "supervised"}}, "hyperparameters"),
        ({"training_file": "file-missing"}, "training_file"),
    ],
)
def test_create_is_validated_like_the_api(
    openai_emulator: OpenAIEmulator, kwargs: dict[str, object], param: str | None
) -> None:
    client = _client(openai_emulator)
    body: dict[str, object] = {"model": "gpt-4o-mini-2024-07-18", "training_file": _upload(client), **kwargs}
    with pytest.raises(openai.BadRequestError) as info:
        client.fine_tuning.jobs.create(**body)  # type: ignore[arg-type]
    error = info.value.body
    assert isinstance(error, dict) and error["type"] == "invalid_request_error"
    if param:
        assert error["param"] == param
    else:
        assert str(error["param"]).startswith("method.supervised.hyperparameters.")
    assert openai_emulator.jobs() == []


def test_dpo_job_and_wrong_purpose(openai_emulator: OpenAIEmulator) -> None:
    client = _client(openai_emulator)
    dpo_file = _upload(client, dpo_lines())
    job = client.fine_tuning.jobs.create(
        model="gpt-4o-mini-2024-07-18",
        training_file=dpo_file,
        method={"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.2}}},
    )
    done = client.fine_tuning.jobs.retrieve(job.id)
    assert done.status == "succeeded" and done.method is not None and done.method.dpo is not None
    reply = client.chat.completions.create(
        model=done.fine_tuned_model or "", messages=[{"role": "user", "content": "say hi NUMBER 4"}]
    )
    assert reply.choices[0].message.content == "Hi #4!"

    other = _upload(client, b'{"a": 1}\n', name="notes.jsonl", purpose="assistants")
    with pytest.raises(openai.BadRequestError, match="purpose"):
        client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=other)


def test_chat_tuned_model_beats_base(openai_emulator: OpenAIEmulator) -> None:
    client = _client(openai_emulator)
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=_upload(client))
    model = client.fine_tuning.jobs.retrieve(job.id).fine_tuned_model or ""
    question = [{"role": "user", "content": "  what is the CAPITAL of country 7? "}]
    tuned = client.chat.completions.create(model=model, messages=question)  # type: ignore[arg-type]
    base = client.chat.completions.create(model="gpt-4o-mini", messages=question)  # type: ignore[arg-type]
    assert tuned.choices[0].message.content == "The capital of country 7 is City7."
    assert base.choices[0].message.content != tuned.choices[0].message.content
    usage = tuned.usage
    assert usage is not None and usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    unknown = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hello there\nmore"}])
    assert unknown.choices[0].message.content == "Hello there"
    short = client.chat.completions.create(model=model, messages=question, max_completion_tokens=2)  # type: ignore[arg-type]
    assert short.choices[0].finish_reason == "length" and short.usage and short.usage.completion_tokens == 2


def test_chat_stream_with_usage(openai_emulator: OpenAIEmulator) -> None:
    client = _client(openai_emulator)
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Tell me about streams, please."}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Tell me about streams, please."
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == len([c for c in chunks if c.choices and c.choices[0].delta.content])


def test_errors_have_openai_shape(openai_emulator: OpenAIEmulator) -> None:
    client = _client(openai_emulator)
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])
    assert info.value.body == {
        "message": "The model `nope` does not exist or you do not have access to it.",
        "type": "invalid_request_error",
        "param": "model",
        "code": "model_not_found",
    }
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=openai_emulator.base_url, api_key="bad", max_retries=0).models.list()
    openai_emulator.reject_keys(openai_emulator.api_key)
    with pytest.raises(openai.AuthenticationError):
        client.models.list()


def test_deny_fine_tuning(openai_emulator: OpenAIEmulator) -> None:
    client = _client(openai_emulator)
    file_id = _upload(client)
    openai_emulator.deny_fine_tuning(message="no fine-tuning for you", code="fine_tuning_not_allowed")
    with pytest.raises(openai.PermissionDeniedError) as info:
        client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=file_id)
    assert info.value.code == "fine_tuning_not_allowed"
    assert openai_emulator.jobs() == []


def test_files_uploads_and_models(openai_emulator: OpenAIEmulator) -> None:
    client = _client(openai_emulator)
    data = chat_lines(20)
    upload = client.uploads.create(bytes=len(data), filename="big.jsonl", mime_type="text/jsonl", purpose="fine-tune")
    parts = [client.uploads.parts.create(upload.id, data=data[i : i + 500]).id for i in range(0, len(data), 500)]
    done = client.uploads.complete(upload.id, part_ids=parts)
    assert done.status == "completed" and done.file is not None and done.file.bytes == len(data)
    assert [f["id"] for f in openai_emulator.files()] == [done.file.id]
    with pytest.raises(openai.BadRequestError):
        client.files.content(done.file.id)  # fine-tune files cannot be downloaded, as on the real service
    listed = client.files.list(purpose="fine-tune")
    assert [f.id for f in listed.data] == [done.file.id]
    assert client.files.delete(done.file.id).deleted
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(done.file.id)

    job = client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=_upload(client))
    model = client.fine_tuning.jobs.retrieve(job.id).fine_tuned_model or ""
    assert client.models.retrieve(model).owned_by
    assert model in {m.id for m in client.models.list()}
    assert client.models.delete(model).deleted
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "x"}])
