"""openai SDK exceptions mapped into the tunekit tree, with the service's own words kept."""

from __future__ import annotations

import socket

import httpx2
import openai
import pytest

from tunekit.errors import (
    AuthenticationError,
    ConflictError,
    FineTuningUnavailableError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    ProviderError,
    QuotaExceededError,
    RateLimitedError,
    ServiceUnavailableError,
)
from tunekit.inference.openai_errors import map_openai_error
from tunekit_emulators import OpenAIEmulator


def sdk(emu: OpenAIEmulator, key: str | None = None) -> openai.OpenAI:
    return openai.OpenAI(base_url=emu.base_url, api_key=key or emu.api_key, max_retries=0)


def upload(client: openai.OpenAI) -> str:
    line = '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}\n'
    return client.files.create(file=("train.jsonl", (line * 10).encode()), purpose="fine-tune").id


def create_job(client: openai.OpenAI, file_id: str) -> BaseException:
    try:
        client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=file_id)
    except openai.OpenAIError as exc:
        return exc
    raise AssertionError("the job was created")


def test_an_organization_denied_fine_tuning_is_told_to_use_another_provider(openai_emulator: OpenAIEmulator) -> None:
    client = sdk(openai_emulator)
    file_id = upload(client)
    openai_emulator.deny_fine_tuning()
    error = map_openai_error(create_job(client, file_id), provider="openai")
    assert isinstance(error, FineTuningUnavailableError)
    assert isinstance(error, PermissionDeniedError)
    assert error.status_code == 403
    assert "does not have access to fine-tuning" in (error.provider_message or "")
    text = str(error)
    assert "provider:" in text and "azure" in text and "local" in text and "openai," not in text


def test_the_2027_stop_of_self_serve_fine_tuning_reads_the_same(openai_emulator: OpenAIEmulator) -> None:
    client = sdk(openai_emulator)
    file_id = upload(client)
    openai_emulator.deny_fine_tuning(
        "New fine-tuning jobs can no longer be created by this organization (self-serve fine-tuning ended "
        "on 2027-01-06).",
        code="fine_tuning_unavailable",
    )
    error = map_openai_error(create_job(client, file_id), provider="azure")
    assert isinstance(error, FineTuningUnavailableError)
    assert error.code == "fine_tuning_unavailable"
    assert "2027-01-06" in str(error)
    assert "openai" in str(error).split("Run the same config", 1)[1]


def test_rejected_key_and_missing_model(openai_emulator: OpenAIEmulator) -> None:
    openai_emulator.reject_keys("sk-revoked-0123456789abcdef")
    try:
        sdk(openai_emulator, "sk-revoked-0123456789abcdef").models.list()
    except openai.OpenAIError as exc:
        auth = map_openai_error(exc)
    assert isinstance(auth, AuthenticationError)
    assert "sk-revoked" not in str(auth)
    try:
        sdk(openai_emulator).chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": "x"}])
    except openai.OpenAIError as exc:
        missing = map_openai_error(exc)
    assert isinstance(missing, NotFoundError)
    assert missing.code == "model_not_found"
    assert "gpt-9" in str(missing)


def test_invalid_parameter_keeps_the_param(openai_emulator: OpenAIEmulator) -> None:
    try:
        sdk(openai_emulator).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}], temperature=3
        )
    except openai.OpenAIError as exc:
        error = map_openai_error(exc)
    assert isinstance(error, InvalidRequestError)
    assert isinstance(error, ValueError)
    assert error.param == "temperature"


def test_no_server_is_a_service_error_naming_the_endpoint() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="sk-x", max_retries=0)
    try:
        client.models.list()
    except openai.OpenAIError as exc:
        error = map_openai_error(exc, attempts=3)
    assert isinstance(error, ServiceUnavailableError)
    assert f"127.0.0.1:{port}" in str(error)
    assert "after 3 attempts" in str(error)


def _status(status: int, body: dict[str, object], headers: dict[str, str] | None = None) -> openai.APIStatusError:
    request = httpx2.Request("POST", "https://api.openai.com/v1/chat/completions")
    response = httpx2.Response(status, headers={"x-request-id": "req_123", **(headers or {})}, request=request)
    return openai.APIStatusError(str(body.get("message")), response=response, body=body)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (429, {"message": "You exceeded your current quota", "code": "insufficient_quota"}, QuotaExceededError),
        (429, {"message": "Rate limit reached for requests", "code": "rate_limit_exceeded"}, RateLimitedError),
        (409, {"message": "busy"}, ConflictError),
        (500, {"message": "oops"}, ServiceUnavailableError),
        (418, {"message": "teapot"}, ProviderError),
        (403, {"message": "Missing scopes: api.model.request"}, PermissionDeniedError),
    ],
)
def test_status_table(status: int, body: dict[str, object], expected: type[ProviderError]) -> None:
    error = map_openai_error(_status(status, body, {"retry-after": "2"}))
    assert type(error) is expected
    assert error.request_id == "req_123"
    assert error.provider_message == body["message"]
    if isinstance(error, RateLimitedError):
        assert error.retry_after == 2.0
