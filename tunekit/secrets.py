"""Keeping secrets out of logs, errors, the ledger and saved files.

Config fields that hold credentials are pydantic ``SecretStr``, which already
hides them in reprs and JSON dumps. As a second line of defence, every secret
value tunekit sees is registered here, and :func:`redact` masks registered
values (and well-known key shapes) in any text before it is logged or stored.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pydantic stays out of `tunekit --help`'s start-up path
    from pydantic import BaseModel, SecretStr

__all__ = [
    "MASK",
    "RedactingFilter",
    "get_logger",
    "redact",
    "redact_data",
    "register_model_secrets",
    "register_secret",
]

MASK = "**********"

_lock = threading.Lock()
_values: set[str] = set()

# Shapes of well-known credentials, masked even when never registered.
_PATTERNS = re.compile(
    r"(sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{16,})"  # OpenAI
    r"|(hf_[A-Za-z0-9]{20,})"  # Hugging Face
    r"|(eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,})"  # JWT bearer tokens
    r"|((?:sig|SharedAccessSignature)=[A-Za-z0-9%/+=]{16,})"  # Azure SAS signatures
)


def register_secret(value: str | SecretStr | None) -> None:
    """Remember a secret value so that :func:`redact` masks it everywhere."""
    if value is not None and not isinstance(value, str):
        value = value.get_secret_value()
    if value and len(value) >= 6:
        with _lock:
            _values.add(value)


def register_model_secrets(model: BaseModel) -> None:
    """Register every ``SecretStr`` field value found in a pydantic model tree."""
    from pydantic import BaseModel, SecretStr

    for name in type(model).model_fields:
        value = getattr(model, name, None)
        if isinstance(value, SecretStr):
            register_secret(value)
        elif isinstance(value, BaseModel):
            register_model_secrets(value)


def redact(text: str) -> str:
    """Mask registered secrets and known credential shapes in ``text``."""
    if not text:
        return text
    with _lock:
        values = sorted(_values, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, MASK)
    return _PATTERNS.sub(MASK, text)


def redact_data(value: Any) -> Any:
    """Apply :func:`redact` to every string in a JSON-like structure."""
    if isinstance(value, str):
        return redact(value)
    if hasattr(value, "get_secret_value"):  # SecretStr / SecretBytes
        return MASK
    if isinstance(value, dict):
        return {k: redact_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_data(v) for v in value]
    return value


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in the rendered message."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the logging module's to report
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True


def get_logger(name: str) -> logging.Logger:
    """Return a tunekit logger whose records have secrets masked.

    Logger-level filters only see records logged on that very logger, so each
    tunekit logger gets its own filter; every module gets its logger here.
    """
    logger = logging.getLogger(name)
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
    return logger
