"""Azure credentials: resource keys (``api-key``), Microsoft Entra ID bearer tokens and api-versions."""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass

__all__ = [
    "ARM_API_VERSIONS",
    "DATA_PLANE_API_VERSIONS",
    "TokenCheck",
    "TokenIssuer",
]

DATA_PLANE_API_VERSIONS = frozenset(
    {
        "2024-02-01",
        "2024-06-01",
        "2024-10-21",
        "2024-05-01-preview",
        "2024-07-01-preview",
        "2024-08-01-preview",
        "2024-09-01-preview",
        "2024-10-01-preview",
        "2024-12-01-preview",
        "2025-01-01-preview",
        "2025-02-01-preview",
        "2025-03-01-preview",
        "2025-04-01-preview",
    }
)
"""api-versions the emulated data plane accepts under ``/openai/`` (``/openai/v1/`` needs none)."""

ARM_API_VERSIONS = frozenset(
    {"2023-05-01", "2023-10-01-preview", "2024-04-01-preview", "2024-06-01-preview", "2024-10-01", "2025-04-01-preview"}
)
"""Microsoft.CognitiveServices api-versions the emulated Resource Manager accepts."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class TokenCheck:
    valid: bool
    expired: bool = False
    expires_at: float = 0.0


class TokenIssuer:
    """Hands out JWT-shaped bearer tokens and remembers when each expires (unsigned: nothing verifies them)."""

    def __init__(self, tenant: str = "00000000-0000-0000-0000-000000000000") -> None:
        self.tenant = tenant
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue(self, expires_in: float = 3600.0, audience: str = "https://cognitiveservices.azure.com") -> str:
        now = time.time()
        header = {"typ": "JWT", "alg": "none"}
        claims = {"aud": audience, "iat": int(now), "exp": int(now + expires_in), "tid": self.tenant}
        token = ".".join(
            (_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode()), _b64(secrets.token_bytes(16)))
        )
        with self._lock:
            self._tokens[token] = now + expires_in
        return token

    def check(self, token: str) -> TokenCheck:
        with self._lock:
            expires_at = self._tokens.get(token)
        if expires_at is None:
            return TokenCheck(valid=False)
        if time.time() >= expires_at:
            return TokenCheck(valid=False, expired=True, expires_at=expires_at)
        return TokenCheck(valid=True, expires_at=expires_at)

    def expire_all(self) -> None:
        """Make every token issued so far expired (to test refresh)."""
        with self._lock:
            for token in self._tokens:
                self._tokens[token] = 0.0

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()
