"""Forking real ``tunekit`` CLI processes cheaply, for crash and secret-scan tests.

Starting Python and importing tunekit, the SDKs and the providers costs seconds of CPU on a busy
machine; a crash harness needs dozens of client processes. :class:`Zygote` starts one process that
imports all of that once and then forks a fresh client per command. Each child is a real,
separate process running ``tunekit.cli.app.main`` with its own environment, working folder and
stdout/stderr files, so it can be SIGKILLed at any point without harming the test process.

The zygote is single-threaded when it forks (no emulator or thread lives in it), which keeps
``fork()`` safe. ``huggingface_hub`` is allowed to reach loopback emulators (only those) in each child.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PRELOAD = (
    "tunekit.cli.app",
    "tunekit.tuner",
    "tunekit.data",
    "tunekit.failpoints",
    "tunekit_emulators.hub.session",
    "openai",
    "huggingface_hub",
    "httpx2",
    "transformers",  # the local provider counts tokens with the model's own tokenizer
)
"""Imported once in the zygote when installed; every installed provider's module is imported too."""


@dataclass(frozen=True)
class Exit:
    """How a child ended: ``code`` for a normal exit, ``signal`` when a signal killed it."""

    pid: int
    code: int | None
    signal: int | None
    stdout: str
    stderr: str

    @property
    def killed(self) -> bool:
        return self.signal == signal.SIGKILL

    def describe(self) -> str:
        return f"killed by signal {self.signal}" if self.signal else f"exit {self.code}"


class Zygote:
    """A pre-imported process that forks CLI clients: ``spawn(argv, env=..., cwd=...)`` then ``wait(pid)``."""

    def __init__(self, *, env: dict[str, str], home: Path) -> None:
        """``home`` is the zygote's own TUNEKIT_HOME (its warm-up caches the tokenizer vocabulary there)."""
        self._proc = subprocess.Popen(
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**env, "TUNEKIT_HOME": str(home)},
            text=True,
            bufsize=1,
        )
        self._pending: dict[int, dict[str, Any]] = {}
        ready = self._read(timeout=300)
        if ready.get("ready") is not True:
            raise RuntimeError(f"the zygote did not start: {ready}")

    def _send(self, message: dict[str, Any]) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps(message) + "\n")
        self._proc.stdin.flush()

    def _read(self, timeout: float) -> dict[str, Any]:
        assert self._proc.stdout is not None
        ready, _, _ = select.select([self._proc.stdout], [], [], timeout)
        if not ready:
            raise TimeoutError("the zygote did not answer")
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the zygote died (exit {self._proc.poll()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def spawn(
        self,
        argv: list[str],
        *,
        env: dict[str, str],
        cwd: Path,
        out: Path,
        stdin: str = "",
        loopback_hub: bool = True,
    ) -> int:
        """Fork a child running ``tunekit ARGV`` with exactly ``env``; stdout and stderr go to ``out``.{out,err}."""
        self._send(
            {
                "op": "spawn",
                "argv": argv,
                "env": env,
                "cwd": str(cwd),
                "stdout": str(out.with_suffix(".out")),
                "stderr": str(out.with_suffix(".err")),
                "stdin": stdin,
                "loopback_hub": loopback_hub,
            }
        )
        pid = int(self._read(timeout=60)["pid"])
        self._pending[pid] = {"out": out}
        return pid

    def wait(self, pid: int, *, timeout: float = 120) -> Exit:
        """Wait for a child; one that outlives ``timeout`` is SIGKILLed and reported as such."""
        deadline = time.monotonic() + timeout
        while True:
            self._send({"op": "poll", "pid": pid})
            answer = self._read(timeout=60)
            if answer.get("running") is False:
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                raise TimeoutError(f"tunekit child {pid} ran longer than {timeout} s; killed")
            time.sleep(0.02)
        out: Path = self._pending.pop(pid)["out"]
        return Exit(
            pid=pid,
            code=answer.get("code"),
            signal=answer.get("signal"),
            stdout=_read_text(out.with_suffix(".out")),
            stderr=_read_text(out.with_suffix(".err")),
        )

    def run(
        self, argv: list[str], *, env: dict[str, str], cwd: Path, out: Path, timeout: float = 120, **kw: Any
    ) -> Exit:
        return self.wait(self.spawn(argv, env=env, cwd=cwd, out=out, **kw), timeout=timeout)

    def close(self) -> None:
        if self._proc.poll() is None:
            try:
                self._send({"op": "exit"})
                self._proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self._proc.kill()
                self._proc.wait()

    def __enter__(self) -> Zygote:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""


# -- the zygote process --------------------------------------------------------------------------


def _child(request: dict[str, Any]) -> None:
    """In the forked child: become ``tunekit ARGV`` and never return."""
    code = 1
    try:
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        stdin_path = Path(request["stdout"]).with_suffix(".in")
        stdin_path.write_text(request.get("stdin", ""), encoding="utf-8")
        for fd, path, flags in (
            (0, stdin_path, os.O_RDONLY),
            (1, request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
            (2, request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
        ):
            target = os.open(path, flags, 0o600)
            os.dup2(target, fd)
            os.close(target)
        sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115 - lives as long as the child
        sys.argv = ["tunekit", *request["argv"]]
        from tunekit.cli.app import main

        try:
            if request.get("loopback_hub"):
                from tunekit_emulators.hub.session import loopback_only

                with loopback_only():
                    main()
            else:
                main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _warm_up() -> None:
    """Load what every submit loads lazily (the tokenizer vocabulary, the SDK client), once for all children."""
    import importlib
    from importlib import metadata

    providers = [ep.module for ep in metadata.entry_points(group="tunekit.providers")]
    for name in (*PRELOAD, *providers):
        try:
            importlib.import_module(name)
        except ImportError:  # an optional library or a provider that is not installed: children load it
            continue
    from tunekit.data.tiktoken_cache import get_encoding

    get_encoding("o200k_base")
    with contextlib.suppress(ImportError):
        from transformers import AutoTokenizer  # noqa: F401 - its lazy modules load once, here
    try:
        from tunekit_openai.connection import Connection
        from tunekit_openai.options import OpenAIOptions
    except ImportError:
        return
    options = OpenAIOptions(api_key="sk-warm-up-only-000000", base_url="http://127.0.0.1:9")
    Connection(options, provider="openai").client.close()


def _serve() -> None:
    _warm_up()
    reply = os.fdopen(os.dup(1), "w", buffering=1)
    children: dict[int, dict[str, Any]] = {}
    reply.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        op = request["op"]
        if op == "exit":
            break
        if op == "spawn":
            reply.flush()
            pid = os.fork()
            if pid == 0:
                reply.close()
                _child(request)
            children[pid] = {"running": True}
            reply.write(json.dumps({"pid": pid}) + "\n")
        elif op == "poll":
            pid = int(request["pid"])
            state = children.get(pid)
            if state is not None and state["running"]:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    state.update(
                        running=False,
                        code=os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
                        signal=os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
                    )
            reply.write(json.dumps({"pid": pid, **(state or {"running": False, "code": None, "signal": None})}) + "\n")


if __name__ == "__main__":
    _serve()
