"""Chat completions per second the OpenAI emulator serves with zero latency configured.

The emulator runs in its own process (``tunekit emulate openai``), as it does beside a benchmark of
our clients. Three clients send chat completions over keep-alive connections for a fixed time: a
lean asyncio client writing raw HTTP/1.1 (so the server, not the client, is what is measured), and,
for reference, httpx and the openai SDK in threads (what a Python test suite sees). The baseline is
the floor of the same stack: a bare Starlette app on the same uvicorn server answering one fixed
chat-completion body, so the ratio shows what the emulator's own work (validation, answering, token
counting, rate-limit headers, fault checks) costs.

Target: at least 500 completions/s with the lean client, so the emulator never limits a benchmark.
Prints, per server and client: requests, errors, requests/s, and the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

TARGET_RPS = 500.0
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Summarize: the quick brown fox jumps."}]}

_BASELINE_SERVER = """
import json, sys, time
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
from tunekit_emulators import EmulatorServer

ANSWER = json.dumps({
    "id": "chatcmpl-0", "object": "chat.completion", "created": 0, "model": "gpt-4o-mini",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Summarize:"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 14, "completion_tokens": 2, "total_tokens": 16},
}).encode()

async def chat(request):
    await request.body()
    return Response(ANSWER, media_type="application/json")

server = EmulatorServer(Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])).start()
print(json.dumps({"base_url": server.url + "/v1", "api_key": "sk-baseline"}), flush=True)
while True:
    time.sleep(3600)
"""


@dataclass
class Result:
    server: str
    client: str
    requests: int
    errors: int
    seconds: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def start_server(kind: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    if kind == "emulator":
        command = [sys.executable, "-m", "tunekit.cli", "emulate", "openai", "--port", "0", "--json", "--quiet"]
    else:
        command = [sys.executable, "-c", _BASELINE_SERVER]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    details: dict[str, str] = json.loads(process.stdout.readline())
    return process, details


def httpx_worker(details: dict[str, str]) -> Callable[[], bool]:
    client = httpx.Client(base_url=details["base_url"], headers={"Authorization": f"Bearer {details['api_key']}"})

    def send() -> bool:
        response = client.post("/chat/completions", json=BODY)
        return response.status_code == 200 and bool(response.json()["choices"])

    return send


def sdk_worker(details: dict[str, str]) -> Callable[[], bool]:
    import openai

    client = openai.OpenAI(base_url=details["base_url"], api_key=details["api_key"], max_retries=0)

    def send() -> bool:
        answer = client.chat.completions.create(**BODY)  # type: ignore[call-overload]
        return bool(answer.choices)

    return send


def raw_rate(details: dict[str, str], connections: int, seconds: float) -> tuple[int, int, float]:
    """Concurrent keep-alive connections, each sending one request after another, parsing only what it must."""
    url = httpx.URL(details["base_url"])
    payload = json.dumps(BODY).encode()
    request = (
        f"POST {url.raw_path.decode()}/chat/completions HTTP/1.1\r\nHost: {url.host}:{url.port}\r\n"
        f"Authorization: Bearer {details['api_key']}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload

    async def connection(deadline: float, counts: list[int]) -> None:
        reader, writer = await asyncio.open_connection(url.host, url.port)
        try:
            while time.perf_counter() < deadline:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                body = await reader.readexactly(length)
                counts[0 if head.startswith(b"HTTP/1.1 200") and b'"choices"' in body else 1] += 1
        finally:
            writer.close()

    async def run() -> tuple[int, int, float]:
        counts = [0, 0]
        await connection(time.perf_counter() + 0.2, [0, 0])  # warm up
        start = time.perf_counter()
        await asyncio.gather(*(connection(start + seconds, counts) for _ in range(connections)))
        return counts[0], counts[1], time.perf_counter() - start

    return asyncio.run(run())


def drive(make_worker: Callable[[], Callable[[], bool]], threads: int, seconds: float) -> tuple[int, int, float]:
    counts = [[0, 0] for _ in range(threads)]
    senders = [make_worker() for _ in range(threads)]
    for send in senders:  # open the connections before timing
        send()
    deadline = [0.0]
    barrier = threading.Barrier(threads + 1)

    def run(index: int) -> None:
        send = senders[index]
        barrier.wait()
        while time.perf_counter() < deadline[0]:
            try:
                ok = send()
            except Exception:  # a failed request is counted, not fatal to the benchmark
                ok = False
            counts[index][0 if ok else 1] += 1

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    start = time.perf_counter()
    deadline[0] = start + seconds
    barrier.wait()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - start
    return sum(c[0] for c in counts), sum(c[1] for c in counts), elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="time per measurement")
    parser.add_argument("--threads", type=int, default=4, help="concurrent client threads")
    args = parser.parse_args()

    results: list[Result] = []
    for server in ("baseline", "emulator"):
        process, details = start_server(server)
        try:
            ok, errors, elapsed = raw_rate(details, args.threads, args.seconds)
            results.append(Result(server, "raw HTTP", ok, errors, elapsed))
            clients: list[tuple[str, Callable[[dict[str, str]], Callable[[], bool]]]] = [
                ("httpx", httpx_worker),
                ("openai SDK", sdk_worker),
            ]
            for client_name, worker in clients:
                ok, errors, elapsed = drive(functools.partial(worker, details), args.threads, args.seconds)
                results.append(Result(server, client_name, ok, errors, elapsed))
        finally:
            process.terminate()
            process.wait(timeout=20)

    base = {r.client: r.rps for r in results if r.server == "baseline"}
    print(f"chat completions, zero latency, {args.threads} client threads, {args.seconds:g} s each")
    print(f"{'server':<10}{'client':<12}{'requests':>10}{'errors':>8}{'req/s':>10}{'vs baseline':>13}")
    for r in results:
        print(
            f"{r.server:<10}{r.client:<12}{r.requests:>10}{r.errors:>8}{r.rps:>10.0f}{r.rps / base[r.client]:>12.2f}x"
        )
    emulator_rps = next(r.rps for r in results if r.server == "emulator" and r.client == "raw HTTP")
    errors = sum(r.errors for r in results)
    met = emulator_rps >= TARGET_RPS and errors == 0
    print(
        f"target: >= {TARGET_RPS:.0f} req/s (raw HTTP client) with no errors: "
        f"{'met' if met else 'MISSED'} ({emulator_rps:.0f})"
    )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
