"""Requests-per-minute and tokens-per-minute limits with OpenAI's ``x-ratelimit-*`` headers."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RateDecision", "RateLimiter", "format_reset"]

# Limits reported in headers when none is configured: the service still says what its limits are.
_NOMINAL_RPM = 10_000
_NOMINAL_TPM = 30_000_000


def format_reset(seconds: float) -> str:
    """Render a duration like OpenAI's reset headers: ``120ms``, ``1s``, ``6m0s``."""
    if seconds < 1:
        return f"{max(0, round(seconds * 1000))}ms"
    whole = int(seconds)
    minutes, secs = divmod(whole, 60)
    frac = seconds - whole
    sec_text = f"{secs + frac:.3g}s" if frac >= 0.001 else f"{secs}s"
    return f"{minutes}m{sec_text}" if minutes else sec_text


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limited_by: str | None
    retry_after: float
    headers: dict[str, str]


class RateLimiter:
    """A sliding 60-second window over requests and tokens. ``None`` limits are reported, never enforced."""

    def __init__(
        self,
        rpm: int | None = None,
        tpm: int | None = None,
        *,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rpm is not None and rpm <= 0:
            raise ValueError(f"rpm must be > 0, got {rpm}")
        if tpm is not None and tpm <= 0:
            raise ValueError(f"tpm must be > 0, got {tpm}")
        self.rpm, self.tpm, self.window, self._clock = rpm, tpm, window, clock
        self._events: deque[tuple[float, int]] = deque()
        self._tokens_in_window = 0
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._events.clear()
            self._tokens_in_window = 0

    def _expire(self, now: float) -> None:
        while self._events and self._events[0][0] <= now - self.window:
            _, tokens = self._events.popleft()
            self._tokens_in_window -= tokens

    def _wait_for_tokens(self, now: float, needed: int, limit: int) -> float:
        """Seconds until enough of the window expires for ``needed`` more tokens."""
        excess = self._tokens_in_window + needed - limit
        for at, tokens in self._events:
            excess -= tokens
            if excess <= 0:
                return max(0.0, at + self.window - now)
        return self.window

    def acquire(self, tokens: int) -> RateDecision:
        """Count one request of ``tokens`` tokens if it fits both limits; report headers either way."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            rpm = self.rpm or _NOMINAL_RPM
            tpm = self.tpm or _NOMINAL_TPM
            limited_by: str | None = None
            retry_after = 0.0
            if self.rpm is not None and len(self._events) + 1 > self.rpm:
                limited_by = "requests"
                retry_after = max(0.0, self._events[0][0] + self.window - now)
            elif self.tpm is not None and self._tokens_in_window + tokens > self.tpm:
                limited_by = "tokens"
                retry_after = self._wait_for_tokens(now, tokens, self.tpm) if tokens <= self.tpm else self.window
            if limited_by is None:
                self._events.append((now, tokens))
                self._tokens_in_window += tokens
            used_requests = len(self._events)
            reset_requests = (self._events[0][0] + self.window - now) if self._events else 0.0
            reset_tokens = reset_requests
            headers = {
                "x-ratelimit-limit-requests": str(rpm),
                "x-ratelimit-limit-tokens": str(tpm),
                "x-ratelimit-remaining-requests": str(max(0, rpm - used_requests)),
                "x-ratelimit-remaining-tokens": str(max(0, tpm - self._tokens_in_window)),
                "x-ratelimit-reset-requests": format_reset(reset_requests),
                "x-ratelimit-reset-tokens": format_reset(reset_tokens),
            }
            return RateDecision(limited_by is None, limited_by, retry_after, headers)
