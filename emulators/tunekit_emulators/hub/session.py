"""Let ``huggingface_hub`` talk to loopback emulators, and to nothing else.

Tests run with ``HF_HUB_OFFLINE=1``, which makes ``huggingface_hub`` refuse
every request, the emulator's too. :func:`loopback_only` swaps in, through
the library's documented ``set_client_factory`` hook, HTTP clients that allow
``127.0.0.1``/``localhost`` and refuse any other host, so a test can use the
real ``HfApi`` and ``InferenceClient`` while still never reaching the internet.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["LOOPBACK_HOSTS", "loopback_only"]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def _check(request: Any) -> None:
    from huggingface_hub.errors import OfflineModeIsEnabled

    if request.url.host not in LOOPBACK_HOSTS:
        raise OfflineModeIsEnabled(f"Cannot reach {request.url}: only loopback emulators may be reached here")
    if "x-amzn-trace-id" not in request.headers:
        request.headers["X-Amzn-Trace-Id"] = str(uuid.uuid4())


async def _acheck(request: Any) -> None:
    _check(request)


@contextmanager
def loopback_only(timeout: float = 60.0) -> Iterator[None]:
    """Within the block, ``huggingface_hub`` reaches loopback hosts only (whatever HF_HUB_OFFLINE says).

    ``timeout`` bounds every request, so a hung emulator fails a test instead of hanging it.
    """
    import httpx2
    from huggingface_hub import close_session, set_async_client_factory, set_client_factory
    from huggingface_hub.utils import _http

    previous_sync = getattr(_http, "_GLOBAL_CLIENT_FACTORY", _http.default_client_factory)
    previous_async = getattr(_http, "_GLOBAL_ASYNC_CLIENT_FACTORY", _http.default_async_client_factory)

    def sync_factory() -> Any:
        return httpx2.Client(event_hooks={"request": [_check]}, follow_redirects=True, timeout=timeout)

    def async_factory() -> Any:
        hooks: dict[str, list[Any]] = {"request": [_acheck], "response": [_http.async_hf_response_event_hook]}
        return httpx2.AsyncClient(event_hooks=hooks, follow_redirects=True, timeout=timeout)

    set_client_factory(sync_factory)
    set_async_client_factory(async_factory)
    try:
        yield
    finally:
        set_client_factory(previous_sync)
        set_async_client_factory(previous_async)
        close_session()
