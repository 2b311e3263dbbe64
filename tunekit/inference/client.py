"""What every remote chat client shares: rate limits, retries, concurrency, batches.

A subclass implements one attempt of each call against its SDK
(``_create``, ``_acreate``, ``_open_stream``, ``_aopen_stream``) and the
mapping of its SDK's errors; :class:`RemoteChatClient` wraps each attempt in
the shared :class:`~tunekit.inference.ratelimit.RateLimiter` and
:class:`~tunekit.retry.RetryPolicy` and provides ``batch`` with bounded
concurrency on top of ``achat``.

Batches keep going past a request that fails on its own (a prompt over the
context window, a request still rate limited after every retry): its result
carries ``error``. Failures that would fail every request (rejected
credentials, a missing model, exhausted quota) stop the batch and raise.
``give_up_after=N`` also stops sending once N requests in a row got no answer
at all (refused connections, timeouts): a service that is not there would
otherwise be retried for every request of the batch. A batch logs one line for
its failures, naming the endpoint, not one per request.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Collection, Coroutine, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from tunekit.errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    TunekitError,
)
from tunekit.inference.base import ChatResult, Message, Usage
from tunekit.inference.ratelimit import RateLimiter, Reservation, estimate_prompt_tokens
from tunekit.retry import DEFAULT_RETRY, RetryPolicy, header_of, retry_after_of, status_code_of
from tunekit.secrets import get_logger

__all__ = ["FATAL_ERRORS", "RemoteChatClient", "run_sync", "sdk_kwargs"]

logger = get_logger("tunekit.inference")

T = TypeVar("T")

FATAL_ERRORS: tuple[type[TunekitError], ...] = (
    AuthenticationError,
    PermissionDeniedError,
    NotFoundError,
    QuotaExceededError,
)
"""Errors that would repeat for every request of a batch, so the batch stops."""

DEFAULT_COMPLETION_BUDGET = 256
"""Completion tokens reserved against TPM when a request sets no ``max_tokens``."""


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from synchronous code.

    Inside a running event loop (a notebook), the coroutine runs on a fresh
    loop in a worker thread instead of failing.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    context = contextvars.copy_context()
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="tunekit-batch") as pool:
        return pool.submit(context.run, asyncio.run, coro).result()


def normalize_messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """Plain OpenAI-style dicts from mappings or message models (``to_dict``/``model_dump``)."""
    out: list[dict[str, Any]] = []
    for message in messages:
        if isinstance(message, Mapping):
            data = dict(message)
        elif hasattr(message, "to_dict"):
            data = dict(message.to_dict(weights=False))
        elif hasattr(message, "model_dump"):
            data = dict(message.model_dump(exclude_none=True))
        else:
            raise TypeError(f"a chat message must be a mapping, got {type(message).__name__}")
        data.pop("weight", None)
        out.append(data)
    return out


class RemoteChatClient(ABC):
    """Base of the clients that call a model over HTTP.

    ``rpm`` / ``tpm`` build a private :class:`RateLimiter`; pass ``limiter``
    instead to share one quota between clients. ``params`` are defaults for
    every request (``temperature``, ``max_tokens``, ...); per-call keyword
    arguments override them. ``max_new_tokens`` is accepted as an alias of
    ``max_tokens``.
    """

    provider: str = "remote"

    def __init__(
        self,
        model: str,
        *,
        rpm: float | None = None,
        tpm: float | None = None,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        concurrency: int = 8,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        if limiter is not None and (rpm is not None or tpm is not None):
            raise ValueError("give either a shared limiter or rpm/tpm, not both")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.model = model
        self.limiter = limiter or RateLimiter(rpm=rpm, tpm=tpm)
        self.retry = retry
        self.concurrency = concurrency
        self.params: dict[str, Any] = _normalize_params(params or {})

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r})"

    @property
    def endpoint(self) -> str:
        """Where requests go, for messages (a URL, or the service's name); never carries a secret."""
        return self.provider

    def __enter__(self: T) -> T:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what a subclass implements ------------------------------------------------

    @abstractmethod
    def _create(self, messages: list[dict[str, Any]], params: dict[str, Any]) -> ChatResult:
        """One attempt; raises the SDK's own error on failure."""

    @abstractmethod
    async def _acreate(self, messages: list[dict[str, Any]], params: dict[str, Any]) -> ChatResult:
        """One async attempt; raises the SDK's own error on failure."""

    @abstractmethod
    def _open_stream(self, messages: list[dict[str, Any]], params: dict[str, Any], usage: list[Usage]) -> Iterator[str]:
        """Send a streamed request; return once the response started (errors raised here are retried).

        The iterator yields text deltas and appends the final usage to ``usage`` when the server sends it.
        """

    @abstractmethod
    async def _aopen_stream(
        self, messages: list[dict[str, Any]], params: dict[str, Any], usage: list[Usage]
    ) -> AsyncIterator[str]:
        """The async counterpart of :meth:`_open_stream`."""

    @abstractmethod
    def _map_error(self, exc: BaseException, attempts: int) -> TunekitError:
        """The tunekit error for one of the SDK's exceptions."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""

    async def aclose(self) -> None:
        """Release connections from async code."""
        self.close()

    # -- shared machinery ------------------------------------------------------------

    def _prepare(
        self, messages: Sequence[Message], params: Mapping[str, Any]
    ) -> tuple[list[dict[str, Any]], dict[str, Any], int]:
        prepared = normalize_messages(messages)
        if not prepared:
            raise ValueError("a chat request needs at least one message")
        merged = {**self.params, **_normalize_params(params)}
        budget = merged.get("max_tokens") or merged.get("max_completion_tokens") or DEFAULT_COMPLETION_BUDGET
        tokens = estimate_prompt_tokens(prepared) + int(budget) if self.limiter.tpm else 0
        return prepared, merged, tokens

    def _on_retry(self, reservation: list[Reservation]) -> Callable[[BaseException, int], None]:
        def hook(exc: BaseException, attempt: int) -> None:
            if status_code_of(exc) != 429 or not reservation:
                return
            # The limiter models the quota the server counts. A 429 whose rate-limit headers show a spent
            # window means we ran ahead of it: the slot stays spent (pacing falls back in step) and the
            # server's Retry-After holds every request sharing this limiter. A 429 without that evidence
            # (a transient refusal, a proxy) cost the server nothing, so the slot is given back.
            requests_spent = header_of(exc, "x-ratelimit-remaining-requests") == "0"
            tokens_spent = header_of(exc, "x-ratelimit-remaining-tokens") == "0"
            if not tokens_spent:
                self.limiter.settle(reservation[-1], 0)
            if not requests_spent:
                self.limiter.refund_request()
            after = retry_after_of(exc)
            if (requests_spent or tokens_spent) and after:
                self.limiter.pause(min(after, self.retry.max_retry_after))

        return hook

    def chat(self, messages: Sequence[Message], **params: Any) -> ChatResult:
        """Send one conversation; return the reply (retried and rate limited)."""
        prepared, merged, tokens = self._prepare(messages, params)
        attempts = 0
        reservations: list[Reservation] = []

        def attempt() -> ChatResult:
            nonlocal attempts
            attempts += 1
            reservations.append(self.limiter.acquire(tokens))
            return self._create(prepared, merged)

        try:
            result = self.retry.call(attempt, before_retry=self._on_retry(reservations))
        except Exception as exc:
            raise self._map_error(exc, attempts) from exc
        self.limiter.settle(reservations[-1], result.usage.total_tokens or None)
        return _with_attempts(result, attempts)

    async def achat(self, messages: Sequence[Message], **params: Any) -> ChatResult:
        """Async :meth:`chat`."""
        prepared, merged, tokens = self._prepare(messages, params)
        attempts = 0
        reservations: list[Reservation] = []

        async def attempt() -> ChatResult:
            nonlocal attempts
            attempts += 1
            reservations.append(await self.limiter.aacquire(tokens))
            return await self._acreate(prepared, merged)

        try:
            result = await self.retry.acall(attempt, before_retry=self._on_retry(reservations))
        except Exception as exc:
            raise self._map_error(exc, attempts) from exc
        self.limiter.settle(reservations[-1], result.usage.total_tokens or None)
        return _with_attempts(result, attempts)

    def stream(self, messages: Sequence[Message], **params: Any) -> Iterator[str]:
        """Yield the reply's text as it arrives.

        Failures before the first chunk are retried like :meth:`chat`; a
        stream cut off midway raises, since the text already yielded cannot
        be taken back.
        """
        prepared, merged, tokens = self._prepare(messages, params)
        usage: list[Usage] = []
        reservations: list[Reservation] = []
        attempts = 0

        def attempt() -> Iterator[str]:
            nonlocal attempts
            attempts += 1
            reservations.append(self.limiter.acquire(tokens))
            return self._open_stream(prepared, merged, usage)

        try:
            chunks = self.retry.call(attempt, before_retry=self._on_retry(reservations))
            yield from chunks
        except Exception as exc:
            raise self._map_error(exc, attempts) from exc
        self.limiter.settle(reservations[-1], usage[-1].total_tokens if usage else None)

    async def astream(self, messages: Sequence[Message], **params: Any) -> AsyncIterator[str]:
        """Async :meth:`stream`."""
        prepared, merged, tokens = self._prepare(messages, params)
        usage: list[Usage] = []
        reservations: list[Reservation] = []
        attempts = 0

        async def attempt() -> AsyncIterator[str]:
            nonlocal attempts
            attempts += 1
            reservations.append(await self.limiter.aacquire(tokens))
            return await self._aopen_stream(prepared, merged, usage)

        try:
            chunks = await self.retry.acall(attempt, before_retry=self._on_retry(reservations))
            async for chunk in chunks:
                yield chunk
        except Exception as exc:
            raise self._map_error(exc, attempts) from exc
        self.limiter.settle(reservations[-1], usage[-1].total_tokens if usage else None)

    async def abatch(
        self,
        requests: Sequence[Sequence[Message]],
        *,
        concurrency: int | None = None,
        on_result: Callable[[int, ChatResult], None] | None = None,
        give_up_after: int | None = None,
        log_failures: bool = True,
        **params: Any,
    ) -> list[ChatResult]:
        """Send many conversations, at most ``concurrency`` at a time; results in request order.

        ``on_result(index, result)`` is called as each one finishes (for progress bars).
        ``give_up_after=N``: once N requests in a row got no answer (no response at all, after
        their retries), the rest are not sent; their results say so in ``error``.
        ``log_failures=False`` leaves the one-line warning about failed requests to the caller.
        """
        limit = asyncio.Semaphore(concurrency or self.concurrency)
        results: list[ChatResult | None] = [None] * len(requests)
        unanswered = 0  # requests in a row that got no response at all
        gave_up: str | None = None

        flying: set[asyncio.Future[ChatResult]] = set()

        async def one(index: int, messages: Sequence[Message]) -> None:
            nonlocal unanswered, gave_up
            async with limit:
                if gave_up is not None:
                    result = ChatResult(text="", model=self.model, error=f"not sent: {gave_up}", attempts=0)
                else:
                    call = asyncio.ensure_future(self.achat(messages, **params))
                    flying.add(call)
                    try:
                        result = await call
                        unanswered = 0
                    except asyncio.CancelledError:
                        if gave_up is None:
                            raise  # cancelled from outside, not by the give-up rule
                        result = ChatResult(text="", model=self.model, error=f"stopped: {gave_up}")
                    except FATAL_ERRORS:
                        raise
                    except TunekitError as exc:
                        result = ChatResult(text="", model=self.model, error=_one_line(str(exc)))
                        unanswered = unanswered + 1 if _no_answer(exc) else 0
                        if give_up_after is not None and unanswered >= give_up_after and gave_up is None:
                            gave_up = f"{unanswered} requests in a row got no answer from {self.endpoint}"
                            for other in flying - {call}:
                                other.cancel()  # the rest would only wait through the same retries
                    finally:
                        flying.discard(call)
            results[index] = result
            if on_result is not None:
                on_result(index, result)

        tasks = [asyncio.ensure_future(one(i, m)) for i, m in enumerate(requests)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
        out = [r if r is not None else ChatResult(text="", model=self.model, error="not sent") for r in results]
        failed = [r for r in out if r.error is not None]
        if failed and log_failures:
            sent = [r for r in failed if r.attempts > 0]
            first = (sent or failed)[0].error
            skipped = f"; {len(failed) - len(sent)} not sent after {give_up_after} failed in a row" if gave_up else ""
            logger.warning(
                "%s at %s: %d of %d requests failed%s; first error: %s",
                self.model,
                self.endpoint,
                len(failed),
                len(out),
                skipped,
                first,
            )
        return out

    def batch(
        self,
        requests: Sequence[Sequence[Message]],
        *,
        concurrency: int | None = None,
        on_result: Callable[[int, ChatResult], None] | None = None,
        give_up_after: int | None = None,
        log_failures: bool = True,
        **params: Any,
    ) -> list[ChatResult]:
        """Synchronous :meth:`abatch` (runs its own event loop)."""

        async def run() -> list[ChatResult]:
            try:
                return await self.abatch(
                    requests,
                    concurrency=concurrency,
                    on_result=on_result,
                    give_up_after=give_up_after,
                    log_failures=log_failures,
                    **params,
                )
            finally:
                await self._release_loop_resources()

        return run_sync(run())

    async def _release_loop_resources(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Close async connections bound to the current event loop (it is about to end)."""


def sdk_kwargs(params: Mapping[str, Any], known: Collection[str], **fixed: Any) -> dict[str, Any]:
    """Keyword arguments for an SDK's chat call: ``fixed``, the parameters it names, and the rest in ``extra_body``.

    A server-specific option the SDK does not know (``top_k``, ``repetition_penalty``)
    still reaches the server, in the request body, instead of failing in the SDK.
    """
    kwargs = dict(fixed)
    extra: dict[str, Any] = dict(params.get("extra_body") or {})
    for key, value in params.items():
        if key == "extra_body":
            continue
        if key in known:
            kwargs[key] = value
        else:
            extra[key] = value
    if extra:
        kwargs["extra_body"] = extra
    return kwargs


def _no_answer(exc: BaseException) -> bool:
    """The service sent no response at all (refused, reset, timed out, or never asked)."""
    return getattr(exc, "status_code", 0) is None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _normalize_params(params: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(params)
    if "max_new_tokens" in out:
        value = out.pop("max_new_tokens")
        out.setdefault("max_tokens", value)
    return out


def _with_attempts(result: ChatResult, attempts: int) -> ChatResult:
    if attempts == result.attempts:
        return result
    from dataclasses import replace

    return replace(result, attempts=attempts)


def elapsed_since(start: float) -> float:
    return time.perf_counter() - start
