from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from tunekit.config import load_config
from tunekit.ledger import Ledger
from tunekit.secrets import get_logger, redact

SECRET = "sk-tunekit-test-SECRET-0123456789abcdef"


@pytest.fixture
def config(memo_config: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MEMO_API_KEY", SECRET)
    return load_config(memo_config)


def test_secret_not_in_repr_or_dumps(config) -> None:  # type: ignore[no-untyped-def]
    options = config.options()
    assert options.api_key.get_secret_value() == SECRET
    for text in (
        repr(config),
        repr(options),
        str(options),
        config.to_yaml(),
        json.dumps(config.redacted()),
        options.model_dump_json(),
    ):
        assert SECRET not in text


def test_secret_not_in_log_records(config, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    logger = get_logger("tunekit.test")
    with caplog.at_level(logging.INFO, logger="tunekit.test"):
        logger.info("calling with key %s", SECRET)
        logger.warning(f"header Authorization: Bearer {SECRET}")
    assert caplog.records
    assert all(SECRET not in r.getMessage() for r in caplog.records)
    assert SECRET not in caplog.text


def test_secret_not_in_ledger(config, tunekit_home: Path) -> None:  # type: ignore[no-untyped-def]
    ledger = Ledger()
    ledger.create_run("r1", provider="memo", model="m", config_hash="h", config=config.redacted())
    ledger.record("r1", "outcome", message=f"oops {SECRET}", data={"nested": [SECRET]})
    ledger.update("r1", error=f"failed with {SECRET}")
    raw = (tunekit_home / "runs.db").read_bytes()
    wal = tunekit_home / "runs.db-wal"
    if wal.exists():
        raw += wal.read_bytes()
    assert SECRET.encode() not in raw
    assert "**********" in ledger.get("r1").error  # type: ignore[operator]


def test_known_credential_shapes_are_masked_unregistered() -> None:
    assert "hf_" not in redact("token hf_" + "a" * 30)
    assert "sk-proj-" not in redact("key=sk-proj-" + "B" * 40)
