"""The remote toolkit: a create is never sent twice for one intent; identical content is never uploaded twice."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr

from tunekit.errors import ConfigError, ServiceUnavailableError
from tunekit.remote import (
    RemoteFile,
    RemoteOptions,
    content_hash,
    content_name,
    create_with_find,
    recorded_upload,
    resolve_secret,
    resolve_url,
    upload_once,
)
from tunekit.retry import RetryPolicy, is_connection_error

FAST = RetryPolicy(max_attempts=4, initial_wait=0, max_wait=0, deadline=None)


@dataclass
class Made:
    id: str


class Service:
    """A service whose first response is lost after the object was created (a reset after the write)."""

    def __init__(self, *, lose_first: bool) -> None:
        self.made: list[Made] = []
        self.lose_first = lose_first

    def send(self) -> Made:
        self.made.append(Made(f"obj-{len(self.made)}"))
        if self.lose_first and len(self.made) == 1:
            raise ConnectionResetError("the response was lost")
        return self.made[-1]

    def find(self) -> Made | None:
        return self.made[0] if self.made else None


def test_a_lost_create_response_is_adopted_not_sent_again() -> None:
    service = Service(lose_first=True)
    made = create_with_find("create job", service.send, service.find, policy=FAST)
    assert made.id == "obj-0" and len(service.made) == 1


def test_a_create_that_never_happened_is_sent_again() -> None:
    attempts: list[int] = []

    def send() -> Made:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionRefusedError("nothing reached the service")
        return Made("obj-1")

    assert create_with_find("create job", send, lambda: None, policy=FAST).id == "obj-1"
    assert len(attempts) == 2


def test_an_error_that_is_not_safe_to_retry_is_raised_at_once() -> None:
    service = Service(lose_first=False)

    def refuse() -> Made:
        raise ValueError("bad request")

    with pytest.raises(ValueError):
        create_with_find("create job", refuse, service.find, policy=FAST)


def test_identical_content_is_reused_by_its_name(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_text('{"a": 1}\n')
    remote: dict[str, Made] = {}

    def find(name: str, size: int) -> Made | None:
        return remote.get(name)

    def send(name: str, size: int) -> Made:
        remote[name] = Made(f"file-{len(remote)}")
        return remote[name]

    _, first = upload_once(path, find=find, send=send)
    _, second = upload_once(path, find=find, send=send)
    assert first.name == content_name(content_hash(path)) and not first.reused
    assert second.reused and second.id == first.id and len(remote) == 1


def test_remote_options_build_the_policies() -> None:
    options = RemoteOptions(max_retries=2, create_attempts=3, retry_max_wait=1.5)
    assert options.retry_policy().max_attempts == 3 and options.retry_policy().max_wait == 1.5
    assert options.create_policy().max_attempts == 3 and options.create_policy().deadline is None


class SdkConnectionError(Exception):
    """An SDK's own error type, raised ``from`` the HTTP stack's (as Stainless-built SDKs do)."""


def test_an_sdk_error_raised_from_a_connection_error_is_retried() -> None:
    try:
        try:
            raise ConnectionResetError("reset by peer")
        except ConnectionResetError as err:
            raise SdkConnectionError("Connection error.") from err
    except SdkConnectionError as exc:
        wrapped = exc
    assert is_connection_error(wrapped)
    assert not is_connection_error(SdkConnectionError("bad request"))
    # tunekit's own errors say for themselves whether a response came back
    answered = ServiceUnavailableError("502", provider="x", status_code=502)
    answered.__cause__ = ConnectionResetError()
    assert not is_connection_error(answered)


def test_a_key_comes_from_its_option_else_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SVC_API_KEY", raising=False)
    assert resolve_secret(SecretStr("from-option"), "SVC_API_KEY", service="Svc") == "from-option"
    with pytest.raises(ConfigError, match=r"no Svc API key: set SVC_API_KEY or provider_options.api_key"):
        resolve_secret(None, "SVC_API_KEY", service="Svc")
    monkeypatch.setenv("SVC_API_KEY", "from-env")
    assert resolve_secret(SecretStr(""), "SVC_API_KEY", service="Svc") == "from-env"


def test_a_url_that_would_carry_a_key_in_clear_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SVC_BASE_URL", raising=False)
    assert resolve_url(None, "SVC_BASE_URL") is None
    assert resolve_url("http://127.0.0.1:8000/v1/", "SVC_BASE_URL") == "http://127.0.0.1:8000/v1"
    monkeypatch.setenv("SVC_BASE_URL", "http://proxy.internal/v1")
    with pytest.raises(ConfigError, match=r"SVC_BASE_URL .*plain http"):
        resolve_url(None, "SVC_BASE_URL")


class Ledger:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, dict[str, object]]] = []

    def intent(self, step: str, message: str = "", **data: object) -> None:
        self.rows.append(("intent", step, data))

    def outcome(self, step: str, message: str = "", **data: object) -> None:
        self.rows.append(("outcome", step, data))


def test_an_upload_is_recorded_before_and_after(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_text('{"a": 1}\n')
    ledger, seen = Ledger(), []

    def upload(p: Path, digest: str) -> RemoteFile:
        seen.append(len(ledger.rows))  # the intent is written before the request
        return RemoteFile("file-1", content_name(digest), p.stat().st_size, digest)

    remote = recorded_upload(ledger, "train", path, upload)
    assert seen == [1] and remote.id == "file-1"
    (kind0, step0, intent), (kind1, step1, outcome) = ledger.rows
    assert (kind0, step0, kind1, step1) == ("intent", "upload_train", "outcome", "upload_train")
    assert intent["sha256"] == content_hash(path) and outcome["file_id"] == "file-1" and outcome["reused"] is False
