"""Serve an ASGI app with uvicorn on a loopback port, in a background thread or in the foreground.

Every emulator (OpenAI, Azure, the Hugging Face Hub) runs through :class:`EmulatorServer`, so tests
and ``tunekit emulate`` exercise the exact same HTTP stack the real SDK clients talk to.
"""

from __future__ import annotations

import logging
import threading
import time
from types import TracebackType
from typing import Any

from starlette.types import ASGIApp

from tunekit.secrets import get_logger

__all__ = ["EmulatorServer", "EmulatorStartError"]

logger = get_logger("tunekit_emulators")

_START_TIMEOUT_S = 20.0


class EmulatorStartError(RuntimeError):
    """The server did not come up (port taken, bad app)."""


class _DropInjectedResets(logging.Filter):
    """Injected connection resets are deliberate; keep uvicorn from reporting them as application errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "returned without completing response" not in record.getMessage()


class EmulatorServer:
    """uvicorn serving ``app`` on ``host:port`` (``port=0`` picks a free ephemeral port).

    ``start()`` returns once the socket is listening; ``port`` and ``url`` are then known.
    ``serve_forever()`` runs in the calling thread instead (Ctrl-C stops it), for ``tunekit emulate``.
    """

    def __init__(self, app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0, access_log: bool = False) -> None:
        self.app = app
        self.host = host
        self._requested_port = port
        self._access_log = access_log
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the emulator server is not running; call start() first")
        return self._port

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` with no trailing slash."""
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _make_server(self) -> Any:
        import uvicorn

        logging.getLogger("uvicorn.error").addFilter(_DropInjectedResets())
        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=self._requested_port,
            log_config=None,
            access_log=self._access_log,
            lifespan="off",
            # Clients keep connections alive between polls; a short idle timeout would make
            # them hit half-closed sockets that no real service produces.
            timeout_keep_alive=30,
            ws="none",
        )
        return uvicorn.Server(config)

    def start(self) -> EmulatorServer:
        """Start serving in a daemon thread; returns when the port is bound."""
        if self.running:
            return self
        server = self._make_server()
        thread = threading.Thread(target=server.run, name=f"tunekit-emulator-{id(self):x}", daemon=True)
        self._server, self._thread = server, thread
        thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive():
                raise EmulatorStartError(f"emulator server failed to start on {self.host}:{self._requested_port}")
            if time.monotonic() > deadline:
                server.should_exit = True
                raise EmulatorStartError(f"emulator server did not start within {_START_TIMEOUT_S:.0f}s")
            time.sleep(0.005)
        self._port = self._bound_port(server)
        logger.debug("emulator listening on %s", self.url)
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (uvicorn handles SIGINT/SIGTERM)."""
        server = self._make_server()
        self._server = server
        server.run()

    @staticmethod
    def _bound_port(server: Any) -> int:
        for listener in server.servers:
            for sock in listener.sockets:
                return int(sock.getsockname()[1])
        raise EmulatorStartError("emulator server has no listening socket")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and wait for the thread to finish (open connections are closed)."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(timeout)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout)
        self._server = self._thread = None
        self._port = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
