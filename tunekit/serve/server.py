"""Starting a serving engine for runs, waiting until it answers, recording where, and stopping it cleanly.

::

    plan = plan_server([resolve_run("local-2026...")], engine="auto", port=8000)
    with ServedModel(plan) as served:       # starts, waits for health, records served_at on the run
        served.base_url                      # http://127.0.0.1:8000/v1
        served.wait()                        # until Ctrl-C or the engine exits
    # stopped: the engine's process group ended, served_at removed from the run

The engine runs in its own process group, so a Ctrl-C reaches tunekit alone
and tunekit stops the engine (SIGINT, then SIGTERM, then SIGKILL). A port in
use is refused before anything starts. While the engine runs, the run's
result in the ledger carries ``metadata["served_at"]``, so
``job.result().client()`` talks to the served model.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from tunekit.errors import ConfigError, ServingError
from tunekit.secrets import get_logger
from tunekit.serve.engines import (
    HEALTH_PATHS,
    EngineChoice,
    adapter_rank,
    cuda_devices,
    llama_cpp_command,
    pick_engine,
    transformers_command,
    vllm_command,
)
from tunekit.serve.source import ModelFiles, merged_folder

__all__ = ["ServePlan", "ServedModel", "check_port", "plan_server"]

logger = get_logger("tunekit.serve")

LOOPBACK = "127.0.0.1"


@dataclass
class ServePlan:
    """What will run: the engine (and why), its command line, and the model names it answers to."""

    engine: EngineChoice
    command: list[str]
    host: str
    port: int
    names: dict[str, str]
    """Served model name for each run id."""
    runs: list[ModelFiles]
    cwd: Path | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        host = LOOPBACK if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}/v1"

    @property
    def health_url(self) -> str:
        return self.base_url.removesuffix("/v1") + HEALTH_PATHS[self.engine.name]


def check_port(host: str, port: int) -> None:
    """Raise :class:`ServingError` when something already listens on ``host:port``."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ServingError(
                f"port {port} on {host} is in use ({exc.strerror}); stop what holds it or choose another with --port"
            ) from None


def plan_server(
    runs: Sequence[ModelFiles],
    *,
    engine: str = "auto",
    host: str = LOOPBACK,
    port: int = 8000,
    name: str | None = None,
    device: str = "auto",
    tensor_parallel: int = 1,
    continuous_batching: bool | None = None,
    extra: Sequence[str] = (),
) -> ServePlan:
    """Choose the engine and build its command for ``runs`` (merging or converting what the engine needs)."""
    if not runs:
        raise ConfigError("nothing to serve: give a run id or a config file")
    if name is not None and len(runs) > 1:
        raise ConfigError("--name names one served model; with several runs each is served under its run id")
    choice = pick_engine(engine, adapters=len(runs))
    names = {files.run_id: (name or files.run_id) for files in runs}
    if choice.name == "vllm":
        return _plan_vllm(runs, choice, host, port, names, tensor_parallel, extra)
    if len(runs) > 1:
        raise ConfigError(f"{choice.name} serves one model; several adapters on one base need --engine vllm")
    files = runs[0]
    if choice.name == "transformers":
        return _plan_transformers(files, choice, host, port, names, device, continuous_batching, extra)
    return _plan_llama_cpp(files, choice, host, port, names, extra)


def _plan_transformers(
    files: ModelFiles,
    choice: EngineChoice,
    host: str,
    port: int,
    names: dict[str, str],
    device: str,
    continuous_batching: bool | None,
    extra: Sequence[str],
) -> ServePlan:
    from tunekit.paths import tunekit_home

    folder = merged_folder(files)
    served = names[files.run_id]
    # transformers serve answers to the exact string it was started with: a link named as the model, run from its
    # folder, makes that string the served name.
    links = tunekit_home() / "serve" / files.run_id
    link = links / served
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(folder.resolve(), target_is_directory=True)
    if continuous_batching is None:
        continuous_batching = True
    on_cpu = device == "cpu" or (device == "auto" and not cuda_devices())
    command = transformers_command(
        served,
        host=host,
        port=port,
        device=device,
        continuous_batching=continuous_batching,
        device_is_cpu=on_cpu,
        extra=extra,
    )
    env: dict[str, str] = {}
    if on_cpu:
        from tunekit.inference.loading import openmp_environment

        # Spinning OpenMP threads stall under the server's own threads: 0.67x a plain loop against 4.75x passive.
        env, _ = openmp_environment()
    return ServePlan(choice, command, host, port, names, [files], cwd=links, env=env)


def _plan_vllm(
    runs: Sequence[ModelFiles],
    choice: EngineChoice,
    host: str,
    port: int,
    names: dict[str, str],
    tensor_parallel: int,
    extra: Sequence[str],
) -> ServePlan:
    adapters = [files for files in runs if files.is_adapter]
    if adapters and len(adapters) != len(runs):
        raise ConfigError("vLLM serves several adapters on one base, or one full model; not a mix")
    if not adapters:
        if len(runs) > 1:
            raise ConfigError("vLLM serves one full model per server; start one server per run")
        files = runs[0]
        command = vllm_command(
            str(files.folder),
            host=host,
            port=port,
            served_name=names[files.run_id],
            tensor_parallel=tensor_parallel,
            extra=extra,
        )
        return ServePlan(choice, command, host, port, names, list(runs))
    bases = {files.base_model for files in adapters}
    if len(bases) > 1:
        raise ConfigError(f"adapters served together must share one base model, not {', '.join(sorted(bases))}")
    base = vllm_base(bases.pop())
    ranks = [rank for files in adapters if (rank := adapter_rank(files.folder))]
    command = vllm_command(
        base,
        host=host,
        port=port,
        served_name="base",
        adapters={names[files.run_id]: str(files.folder) for files in adapters},
        tensor_parallel=tensor_parallel,
        max_lora_rank=max(ranks) if ranks else None,
        extra=extra,
    )
    return ServePlan(choice, command, host, port, names, list(runs))


def vllm_base(reference: str) -> str:
    """What vLLM loads for a base reference: a GGUF alias or file becomes its dequantized folder."""
    from tunekit.inference.loading import materialize, resolve_model

    source = resolve_model(reference)
    folder = materialize(source)
    return str(folder) if folder is not None else source.location


def _plan_llama_cpp(
    files: ModelFiles, choice: EngineChoice, host: str, port: int, names: dict[str, str], extra: Sequence[str]
) -> ServePlan:
    from tunekit.paths import tunekit_home
    from tunekit.serve.gguf import convert_to_gguf

    gguf = tunekit_home() / "cache" / "gguf-export" / files.run_id / "model-f16.gguf"
    if not gguf.is_file():
        convert_to_gguf(merged_folder(files), gguf, outtype="f16")
    command = llama_cpp_command(str(gguf), host=host, port=port, served_name=names[files.run_id], extra=extra)
    return ServePlan(choice, command, host, port, names, [files])


# -- running -------------------------------------------------------------------------


class ServedModel:
    """A running engine for a :class:`ServePlan`; a context manager that always stops it."""

    def __init__(self, plan: ServePlan, *, log_file: Path | None = None, startup_timeout: float = 600.0) -> None:
        self.plan = plan
        self.startup_timeout = startup_timeout
        self.log_file = log_file or _log_path(plan)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return self.plan.base_url

    def __enter__(self) -> ServedModel:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start the engine, wait until it is healthy, and record where each run is served."""
        check_port(self.plan.host, self.plan.port)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.plan.env}
        logger.info("starting %s: %s", self.plan.engine.name, " ".join(self.plan.command))
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                self.plan.command,
                cwd=self.plan.cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches tunekit, which stops the engine in order
            )
        try:
            self._wait_healthy()
            self._record(served=True)
        except BaseException:
            self.stop()
            raise

    def _wait_healthy(self) -> None:
        import httpx

        assert self.process is not None
        deadline = time.monotonic() + self.startup_timeout
        while True:
            code = self.process.poll()
            if code is not None:
                raise ServingError(
                    f"{self.plan.engine.name} exited with status {code} before answering; "
                    f"its log ({self.log_file}) ends with:\n{self.log_tail()}"
                )
            try:
                if httpx.get(self.plan.health_url, timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise ServingError(
                    f"{self.plan.engine.name} did not answer {self.plan.health_url} within {self.startup_timeout:.0f} s"
                    f"; its log: {self.log_file}"
                )
            time.sleep(0.5)

    def wait(self) -> int:
        """Block until the engine exits (Ctrl-C raises KeyboardInterrupt here); its exit status."""
        assert self.process is not None
        return self.process.wait()

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the engine's whole process group and forget where the runs were served."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            # SIGTERM first: every engine shuts down gracefully on it, and SIGINT may be ignored in a background job.
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(process.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    process.wait(timeout=timeout)
                    break
                except subprocess.TimeoutExpired:
                    logger.warning("%s did not stop on %s", self.plan.engine.name, sig.name)
        if process is not None:
            self._record(served=False, pid=process.pid)

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])

    def _record(self, *, served: bool, pid: int | None = None) -> None:
        for files in self.plan.runs:
            ledger = files.ledger
            record = ledger.get(files.run_id)
            result: dict[str, Any] = dict(record.result or files.model.model_dump(mode="json"))
            metadata = dict(result.get("metadata") or {})
            if served:
                assert self.process is not None
                metadata["served_at"] = {
                    "base_url": self.plan.base_url,
                    "model": self.plan.names[files.run_id],
                    "engine": self.plan.engine.name,
                    "pid": self.process.pid,
                }
                ledger.record(files.run_id, "outcome", step="serve", message=self.plan.base_url, data=metadata)
            else:
                current = metadata.get("served_at")
                if not isinstance(current, dict) or current.get("pid") != pid:
                    continue  # another server took over this run's record since
                metadata.pop("served_at")
                ledger.record(files.run_id, "outcome", step="unserve", message=self.plan.base_url)
            result["metadata"] = metadata
            ledger.update(files.run_id, result=result)


def _log_path(plan: ServePlan) -> Path:
    from tunekit.paths import tunekit_home

    return tunekit_home() / "logs" / f"serve-{plan.engine.name}-{plan.port}.log"
