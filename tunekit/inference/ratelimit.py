"""Token buckets that keep a client under a service's requests- and tokens-per-minute limits.

A :class:`RateLimiter` holds one bucket for requests (RPM) and one for tokens
(TPM). Callers *reserve* capacity: the reservation is taken at once (the
bucket may go into debt) and the caller is told how long to wait before
sending. Reserving under a lock and sleeping outside it makes one limiter
safe to share between threads, event loops and clients, and keeps callers
in first-come order without a queue.

Token costs are not known before a reply, so a request reserves an estimate
(prompt plus the completion budget) and :meth:`RateLimiter.settle` corrects
the bucket when the usage comes back.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["RateLimiter", "Reservation", "TokenBucket", "estimate_prompt_tokens"]


class TokenBucket:
    """``rate`` units per second, holding at most ``capacity`` units.

    Not locked on its own: :class:`RateLimiter` serialises access.
    """

    def __init__(self, rate: float, capacity: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self._level = capacity
        self._updated = clock()

    def _refill(self, now: float) -> None:
        if now > self._updated:
            self._level = min(self.capacity, self._level + (now - self._updated) * self.rate)
            self._updated = now

    @property
    def level(self) -> float:
        """Units available now; negative while reservations are outstanding."""
        self._refill(self._clock())
        return self._level

    def take(self, amount: float, now: float) -> float:
        """Reserve ``amount`` units; return the seconds until they are covered."""
        self._refill(now)
        self._level -= amount
        return 0.0 if self._level >= 0 else -self._level / self.rate

    def give_back(self, amount: float, now: float) -> None:
        self._refill(now)
        self._level = min(self.capacity, self._level + amount)


@dataclass(frozen=True)
class Reservation:
    """What one request reserved: settle it with the real usage."""

    tokens: int
    delay: float


class RateLimiter:
    """Requests- and tokens-per-minute limits for one deployment or API key.

    ``burst`` is how many seconds' worth of capacity may be spent at once
    after an idle period (one second by default, so a batch starts promptly
    but never front-loads a whole minute of requests into a server's
    per-second enforcement). Share one limiter between clients that draw on
    the same quota.
    """

    def __init__(
        self,
        rpm: float | None = None,
        tpm: float | None = None,
        *,
        burst: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rpm is not None and rpm <= 0:
            raise ValueError("rpm must be positive")
        if tpm is not None and tpm <= 0:
            raise ValueError("tpm must be positive")
        if burst <= 0:
            raise ValueError("burst must be positive")
        self.rpm = rpm
        self.tpm = tpm
        self._clock = clock
        self._lock = threading.Lock()
        self._requests = TokenBucket(rpm / 60, max(1.0, rpm / 60 * burst), clock=clock) if rpm else None
        self._tokens = TokenBucket(tpm / 60, max(1.0, tpm / 60 * burst), clock=clock) if tpm else None
        self._paused_until = 0.0

    def __repr__(self) -> str:
        return f"RateLimiter(rpm={self.rpm}, tpm={self.tpm})"

    @property
    def unlimited(self) -> bool:
        return self._requests is None and self._tokens is None

    @property
    def requests_available(self) -> float | None:
        """Request slots free now (negative while reservations wait); ``None`` without an RPM limit."""
        with self._lock:
            return self._requests.level if self._requests is not None else None

    @property
    def tokens_available(self) -> float | None:
        """Tokens free now (negative while reservations wait); ``None`` without a TPM limit."""
        with self._lock:
            return self._tokens.level if self._tokens is not None else None

    def reserve(self, tokens: int = 0) -> Reservation:
        """Take one request and ``tokens`` tokens; say how long to wait before sending."""
        with self._lock:
            now = self._clock()
            delay = max(0.0, self._paused_until - now)
            if self._requests is not None:
                delay = max(delay, self._requests.take(1, now))
            if self._tokens is not None and tokens:
                delay = max(delay, self._tokens.take(tokens, now))
        return Reservation(tokens=tokens, delay=delay)

    def settle(self, reservation: Reservation, used_tokens: int | None) -> None:
        """Correct the token bucket once a request's real usage is known."""
        if self._tokens is None or used_tokens is None:
            return
        with self._lock:
            now = self._clock()
            difference = reservation.tokens - used_tokens
            if difference > 0:
                self._tokens.give_back(difference, now)
            elif difference < 0:
                self._tokens.take(-difference, now)

    def refund_request(self) -> None:
        """Give back one request slot (the server rejected the attempt without serving it)."""
        if self._requests is None:
            return
        with self._lock:
            self._requests.give_back(1, self._clock())

    def pause(self, seconds: float) -> None:
        """Let no request start for ``seconds`` (a server said the whole quota is spent)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    def acquire(self, tokens: int = 0) -> Reservation:
        """Reserve and sleep until the request may be sent."""
        reservation = self.reserve(tokens)
        if reservation.delay > 0:
            time.sleep(reservation.delay)
        return reservation

    async def aacquire(self, tokens: int = 0) -> Reservation:
        """Reserve and await until the request may be sent."""
        reservation = self.reserve(tokens)
        if reservation.delay > 0:
            await asyncio.sleep(reservation.delay)
        return reservation


def estimate_prompt_tokens(messages: Iterable[Mapping[str, Any]]) -> int:
    """A cheap upper-leaning estimate of a chat prompt's tokens, for reserving TPM.

    About four characters a token plus the per-message framing OpenAI's
    cookbook counts; exact counts come back with the reply and settle the
    bucket, so this only needs to be close and fast.
    """
    total = 3
    for message in messages:
        total += 4
        content = message.get("content")
        if isinstance(content, str):
            total += (len(content) + 3) // 4
        elif isinstance(content, list):
            for part in content:
                text = part.get("text") if isinstance(part, Mapping) else None
                if isinstance(text, str):
                    total += (len(text) + 3) // 4
        name = message.get("name")
        if isinstance(name, str):
            total += 1
    return total
