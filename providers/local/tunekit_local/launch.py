"""Starting, following and stopping the training process.

The training runs in a child process started in its own session, so the
library and the CLI stay responsive and a Ctrl-C in the terminal does not
reach it; :func:`terminate` stops it (and, under a launcher, every rank)
through its process group. A process is identified by its pid *and* its start
time, so a recycled pid is never mistaken for the run.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunekit.plugin import get_logger
from tunekit_local.options import LocalOptions
from tunekit_local.runfolder import RunFolder, now_iso, read_json, write_json

__all__ = ["ProcessInfo", "is_alive", "launch_command", "spawn", "terminate"]

logger = get_logger("tunekit.local.launch")

WORKER_MODULE = "tunekit_local.worker"

# Popen handles of the children this process started, so they are reaped (no zombies) when polled.
_children: dict[int, subprocess.Popen[bytes]] = {}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def launch_command(options: LocalOptions, run_dir: Path, *, resume: bool = False, precision: str = "auto") -> list[str]:
    """The command line that trains the run in ``run_dir`` with the options' launcher."""
    worker = [WORKER_MODULE, str(run_dir)] + (["--resume"] if resume else [])
    python = sys.executable
    if options.launcher == "none":
        return [python, "-m", *worker]
    address = options.main_process_ip or "127.0.0.1"
    port = options.main_process_port or _free_port()
    if options.launcher == "torchrun":
        return [
            python,
            "-m",
            "torch.distributed.run",
            f"--nproc_per_node={options.num_processes}",
            f"--nnodes={options.num_machines}",
            f"--node_rank={options.machine_rank}",
            f"--master_addr={address}",
            f"--master_port={port}",
            "-m",
            *worker,
        ]
    command = [python, "-m", "accelerate.commands.launch"]
    if options.accelerate_config:
        command += ["--config_file", str(Path(options.accelerate_config).expanduser().resolve())]
    command += [
        "--num_processes",
        str(options.num_processes * options.num_machines),
        "--num_machines",
        str(options.num_machines),
        "--machine_rank",
        str(options.machine_rank),
        "--main_process_ip",
        address,
        "--main_process_port",
        str(port),
    ]
    if precision in ("bf16", "fp16"):
        command += ["--mixed_precision", precision]
    elif precision == "fp32":
        command += ["--mixed_precision", "no"]
    if options.distributed == "fsdp2":
        command += [
            "--use_fsdp",
            "--fsdp_version",
            "2",
            "--fsdp_auto_wrap_policy",
            "TRANSFORMER_BASED_WRAP",
            "--fsdp_state_dict_type",
            "SHARDED_STATE_DICT",
            "--fsdp_cpu_ram_efficient_loading",
            "true",
            "--fsdp_reshard_after_forward",
            "true",
        ]
    elif options.distributed == "deepspeed-zero3":
        command += [
            "--use_deepspeed",
            "--zero_stage",
            "3",
            "--zero3_init_flag",
            "true",
            "--zero3_save_16bit_model",
            "true",
        ]
    elif options.num_processes * options.num_machines > 1 and options.device != "cpu":
        command += ["--multi_gpu"]
    if options.device == "cpu":
        command += ["--cpu"]
    return [*command, "--module", *worker]


@dataclass(frozen=True)
class ProcessInfo:
    pid: int
    create_time: float
    command: list[str]
    attempt: int
    started_at: str

    def to_json(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "create_time": self.create_time,
            "command": self.command,
            "attempt": self.attempt,
            "started_at": self.started_at,
        }

    @classmethod
    def read(cls, folder: RunFolder) -> ProcessInfo | None:
        data = read_json(folder.process)
        if data is None:
            return None
        return cls(
            pid=int(data["pid"]),
            create_time=float(data["create_time"]),
            command=list(data.get("command", [])),
            attempt=int(data.get("attempt", 1)),
            started_at=str(data.get("started_at", "")),
        )


def _create_time(pid: int) -> float:
    import psutil

    return float(psutil.Process(pid).create_time())


def spawn(command: list[str], folder: RunFolder, *, env: dict[str, str] | None = None, attempt: int = 1) -> ProcessInfo:
    """Start ``command`` detached, output to the run's log; record it in process.json."""
    folder.root.mkdir(parents=True, exist_ok=True)
    child_env = dict(os.environ)
    child_env.update(env or {})
    child_env.setdefault("PYTHONUNBUFFERED", "1")
    with folder.log.open("ab") as log:
        log.write(f"\n--- attempt {attempt} at {now_iso()}: {' '.join(command)}\n".encode())
        log.flush()
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=child_env,
            cwd=str(folder.root),
            start_new_session=True,
        )
    _children[process.pid] = process
    info = ProcessInfo(
        pid=process.pid, create_time=_create_time(process.pid), command=command, attempt=attempt, started_at=now_iso()
    )
    write_json(folder.process, info.to_json())
    logger.info("started training process %d: %s", process.pid, " ".join(command))
    return info


def exit_code(info: ProcessInfo) -> int | None:
    """The exit status of a child this process started and that has ended, else None."""
    process = _children.get(info.pid)
    if process is None:
        return None
    return process.poll()


def is_alive(info: ProcessInfo) -> bool:
    """Whether the recorded process still runs (same pid and start time, not a zombie)."""
    import psutil

    process = _children.get(info.pid)
    if process is not None and process.poll() is not None:
        return False
    try:
        proc = psutil.Process(info.pid)
        if abs(proc.create_time() - info.create_time) > 1.0:
            return False
        return bool(proc.status() != psutil.STATUS_ZOMBIE)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def terminate(info: ProcessInfo, *, timeout: float = 30.0) -> bool:
    """Ask the process group to stop (SIGTERM), then kill it after ``timeout`` seconds. True if it stopped."""
    if not is_alive(info):
        return True
    _signal_group(info.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_alive(info):
            return True
        time.sleep(0.2)
    logger.warning("training process %d did not stop within %.0f s; killing it", info.pid, timeout)
    _signal_group(info.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not is_alive(info):
            return True
        time.sleep(0.2)
    return False


def kill(info: ProcessInfo) -> None:
    """SIGKILL the whole process group at once (what a crash or the OOM killer does)."""
    _signal_group(info.pid, signal.SIGKILL)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)  # the child leads its own session, so its group id is its pid
    except ProcessLookupError:
        return
    except PermissionError:
        os.kill(pid, sig)
