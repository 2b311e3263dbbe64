"""The remote toolkit: a create is never sent twice for one intent; identical content is never uploaded twice."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tunekit.remote import RemoteOptions, content_hash, content_name, create_with_find, upload_once
from tunekit.retry import RetryPolicy

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
