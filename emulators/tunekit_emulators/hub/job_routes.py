"""HF Jobs: run (``POST /api/jobs/{namespace}``), list with labels, inspect, cancel, logs and metrics as SSE,
hardware."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tunekit_emulators.hub.http import endpoint, json_body, require_user, run_lines, sse_logs
from tunekit_emulators.hub.state import HubJob, HubState
from tunekit_emulators.hub.store import HubError, HubUser

__all__ = ["FLAVORS", "job_routes"]

# flavor -> (pretty name, vCPU, RAM, accelerator or None, USD per hour); the Hub's published Jobs hardware.
FLAVORS: dict[str, tuple[str, int, str, str | None, float]] = {
    "cpu-basic": ("CPU basic", 2, "16 GB", None, 0.0),
    "cpu-upgrade": ("CPU upgrade", 8, "32 GB", None, 0.03),
    "cpu-performance": ("CPU performance", 32, "256 GB", None, 0.5),
    "cpu-xl": ("CPU XL", 16, "124 GB", None, 1.0),
    "t4-small": ("Nvidia T4 - small", 4, "15 GB", "T4 16GB", 0.4),
    "t4-medium": ("Nvidia T4 - medium", 8, "30 GB", "T4 16GB", 0.6),
    "l4x1": ("1x Nvidia L4", 8, "30 GB", "L4 24GB", 0.8),
    "l4x4": ("4x Nvidia L4", 48, "186 GB", "L4 96GB", 3.8),
    "l40sx1": ("1x Nvidia L40S", 8, "62 GB", "L40S 48GB", 1.8),
    "l40sx4": ("4x Nvidia L40S", 48, "382 GB", "L40S 192GB", 8.3),
    "l40sx8": ("8x Nvidia L40S", 192, "1534 GB", "L40S 384GB", 23.5),
    "a10g-small": ("Nvidia A10G - small", 4, "15 GB", "A10G 24GB", 1.0),
    "a10g-large": ("Nvidia A10G - large", 12, "46 GB", "A10G 24GB", 1.5),
    "a10g-largex2": ("2x Nvidia A10G - large", 24, "92 GB", "A10G 48GB", 3.0),
    "a10g-largex4": ("4x Nvidia A10G - large", 48, "184 GB", "A10G 96GB", 5.0),
    "a100-large": ("Nvidia A100 - large", 12, "142 GB", "A100 80GB", 2.5),
    "a100x4": ("4x Nvidia A100", 48, "568 GB", "A100 320GB", 10.0),
    "a100x8": ("8x Nvidia A100", 96, "1136 GB", "A100 640GB", 20.0),
    "h200": ("1x Nvidia H200", 23, "256 GB", "H200 141GB", 5.0),
    "h200x2": ("2x Nvidia H200", 46, "512 GB", "H200 282GB", 10.0),
    "h200x4": ("4x Nvidia H200", 92, "1024 GB", "H200 564GB", 20.0),
    "h200x8": ("8x Nvidia H200", 184, "2048 GB", "H200 1128GB", 40.0),
}

_LABEL = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
_PAGE = 50


def _namespace_for_write(user: HubUser, namespace: str) -> None:
    if not user.may_write(namespace):
        raise HubError(403, f"You don't have the rights to run jobs under the namespace {namespace!r}")


def _visible_job(request: Request, state: HubState) -> HubJob:
    user = require_user(request, state)
    namespace = request.path_params["namespace"]
    job = state.jobs.get(request.path_params["job_id"])
    if job is None or job.namespace != namespace or not user.may_read(namespace):
        raise HubError(404, f"Job {request.path_params['job_id']} not found")
    return job


def _validate_spec(spec: dict[str, Any]) -> None:
    if not (spec.get("dockerImage") or spec.get("spaceId")):
        raise HubError(400, "A job needs a dockerImage or a spaceId")
    command = spec.get("command")
    if not isinstance(command, list) or not command or not all(isinstance(c, str) for c in command):
        raise HubError(400, "command must be a non-empty list of strings")
    flavor = spec.get("flavor", "cpu-basic")
    if flavor not in FLAVORS:
        raise HubError(400, f"Invalid flavor {flavor!r}. Available flavors: {', '.join(FLAVORS)}")
    for field in ("environment", "secrets"):
        values = spec.get(field) or {}
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            raise HubError(400, f"{field} must map names to strings")
    labels = spec.get("labels") or {}
    if not isinstance(labels, dict):
        raise HubError(400, "labels must be an object")
    for key, value in labels.items():
        if not _LABEL.match(str(key)) or not _LABEL.match(str(value)):
            raise HubError(
                400,
                f"Invalid label {key}={value}: keys and values must be 1-100 letters, digits, '-' or '_'",
            )
    timeout = spec.get("timeoutSeconds")
    if timeout is not None and (not isinstance(timeout, int) or timeout <= 0):
        raise HubError(400, "timeoutSeconds must be a positive integer")


async def run_job(request: Request, state: HubState) -> Response:
    user = require_user(request, state)
    namespace = request.path_params["namespace"]
    _namespace_for_write(user, namespace)
    spec = await json_body(request)
    _validate_spec(spec)
    spec.setdefault("flavor", "cpu-basic")
    _, created = state.create_job(namespace, user, spec)
    return JSONResponse(created)


async def list_jobs(request: Request, state: HubState) -> Response:
    user = require_user(request, state)
    namespace = request.path_params["namespace"]
    if not user.may_read(namespace):
        raise HubError(403, f"You don't have the rights to list jobs of {namespace!r}")
    stages = {s.upper() for s in request.query_params.getlist("stage")}
    wanted: dict[str, str] = {}
    for label in request.query_params.getlist("label"):
        key, eq, value = label.partition("=")
        if not eq:
            raise HubError(400, f"Invalid label filter {label!r}: use key=value")
        wanted[key] = value
    with state.lock:
        jobs = [
            job
            for job in reversed(list(state.jobs.values()))
            if job.namespace == namespace
            and (not stages or job.stage in stages)
            and all(job.labels.get(k) == v for k, v in wanted.items())
        ]
        start = int(request.query_params.get("cursor", "0") or 0)
        page = [job.to_json() for job in jobs[start : start + _PAGE]]
    headers = {}
    if start + _PAGE < len(jobs):
        query = request.url.include_query_params(cursor=str(start + _PAGE))
        headers["Link"] = f'<{query}>; rel="next"'
    return JSONResponse(page, headers=headers)


async def inspect_job(request: Request, state: HubState) -> Response:
    with state.lock:
        return JSONResponse(_visible_job(request, state).to_json())


async def cancel_job(request: Request, state: HubState) -> Response:
    user = require_user(request, state)
    with state.lock:
        job = _visible_job(request, state)
        _namespace_for_write(user, job.namespace)
        job.run.cancel()
        return JSONResponse(job.to_json())


async def job_logs(request: Request, state: HubState) -> Response:
    with state.lock:
        job = _visible_job(request, state)
    tail = request.query_params.get("tail")
    idle = request.app.state.log_idle_close_s
    return sse_logs(request, state, run_lines(job.run), tail=int(tail) if tail else None, idle_close_s=idle)


_GIB = 1024**3
METRICS_INTERVAL_S = 0.2
"""Seconds between metric samples (the Hub sends one a second; shorter keeps tests quick)."""


def _metric(job: HubJob) -> dict[str, Any]:
    """One sample of the container's resource use, shaped like the Hub's (``fetch_job_metrics``)."""
    _, cpu, ram, accelerator, _ = FLAVORS.get(str(job.spec.get("flavor")), FLAVORS["cpu-basic"])
    memory_total = int(float(ram.split()[0]) * _GIB)
    busy = job.run.phase == "RUNNING"
    metric: dict[str, Any] = {
        "cpu_usage_pct": 85 if busy else 0,
        "cpu_millicores": cpu * 1000,
        "memory_used_bytes": memory_total // 3 if busy else 1_306_624,
        "memory_total_bytes": memory_total,
        "rx_bps": 0,
        "tx_bps": 0,
        "gpus": {},
        "replica": job.id[-5:],
    }
    if accelerator is not None:
        gpu_total = int(float(accelerator.split()[-1].removesuffix("GB")) * 1_000_000_000)
        metric["gpus"] = {
            job.id[:8]: {
                "utilization": 90 if busy else 0,
                "memory_used_bytes": gpu_total // 2 if busy else 0,
                "memory_total_bytes": gpu_total,
            }
        }
    return metric


async def job_metrics(request: Request, state: HubState) -> Response:
    """Live resource metrics as SSE (``event: metric``), one sample per interval while the job runs.

    As on the Hub, the stream has no history and a job that has ended answers 406.
    """
    with state.lock:
        job = _visible_job(request, state)
        state.settle()
        if job.run.terminal:
            raise HubError(406, f"Job {job.id} has finished: no live metrics")
    interval = METRICS_INTERVAL_S

    async def samples() -> AsyncIterator[bytes]:
        while True:
            with state.lock:
                state.settle()
                if job.run.terminal:
                    return
                metric = _metric(job)
            yield f"event: metric\ndata: {json.dumps(metric)}\n\n".encode()
            if await request.is_disconnected():
                return
            await asyncio.sleep(interval)

    return StreamingResponse(samples(), media_type="text/event-stream", headers={"cache-control": "no-cache"})


async def hardware(request: Request, state: HubState) -> Response:
    items = []
    for name, (pretty, cpu, ram, accelerator, usd) in FLAVORS.items():
        item: dict[str, Any] = {
            "name": name,
            "prettyName": pretty,
            "cpu": f"{cpu} vCPU",
            "ram": ram,
            "unitCostMicroUSD": round(usd * 1_000_000 / 60),
            "unitCostUSD": round(usd / 60, 6),
            "unitLabel": "minute",
        }
        if accelerator:
            model, _, vram = accelerator.partition(" ")
            item["accelerator"] = {
                "type": "gpu",
                "model": model,
                "quantity": "1",
                "vram": vram,
                "manufacturer": "Nvidia",
            }
        items.append(item)
    return JSONResponse(items)


def job_routes(state: HubState) -> list[Route]:
    base = "/api/jobs/{namespace}"
    return [
        Route("/api/jobs/hardware", endpoint(state, hardware)),
        Route(base, endpoint(state, run_job), methods=["POST"]),
        Route(base, endpoint(state, list_jobs), methods=["GET"]),
        Route(f"{base}/{{job_id}}", endpoint(state, inspect_job)),
        Route(f"{base}/{{job_id}}/cancel", endpoint(state, cancel_job), methods=["POST"]),
        Route(f"{base}/{{job_id}}/logs", endpoint(state, job_logs)),
        Route(f"{base}/{{job_id}}/metrics", endpoint(state, job_metrics)),
    ]
