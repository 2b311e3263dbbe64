"""Batch chat completions under a requests-per-minute cap: tunekit's batch beside a plain loop and asyncio.gather.

The OpenAI emulator answers after 50 ms and enforces the cap the way the API
does (a sliding window, 429 with Retry-After and x-ratelimit headers). Each
method sends the same requests twice: once clean, once with 10% of the chat
requests refused by an injected 429 (Retry-After 50 ms). The baselines use the
openai SDK as most code does (its default two retries); tunekit's client is
told the cap (``rpm``) and keeps its defaults.

Targets: tunekit reaches at least 90% of the cap and loses no request in
either scenario. Prints, per method: wall time, answered and failed requests,
HTTP requests sent, 429s received, requests per minute achieved, the share of
the cap, and the throughput ratio against the sequential loop.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import openai

from tunekit.inference import OpenAIChatClient
from tunekit_emulators import Fault, OpenAIEmulator

MODEL = "gpt-4o-mini"
CHAT = "/v1/chat/completions"


@dataclass
class Outcome:
    method: str
    seconds: float
    ok: int
    failed: int
    sent: int = 0
    refused: int = 0

    def rpm(self) -> float:
        return 60 * self.ok / self.seconds


def requests(n: int) -> list[list[dict[str, str]]]:
    return [[{"role": "user", "content": f"Request {i}: say something short."}] for i in range(n)]


def sequential(emu: OpenAIEmulator, batch: list[list[dict[str, str]]]) -> tuple[int, int]:
    client = openai.OpenAI(base_url=emu.base_url, api_key=emu.api_key)
    ok = failed = 0
    for messages in batch:
        try:
            client.chat.completions.create(model=MODEL, messages=messages)  # type: ignore[arg-type]
            ok += 1
        except openai.OpenAIError:
            failed += 1
    client.close()
    return ok, failed


def gathered(emu: OpenAIEmulator, batch: list[list[dict[str, str]]]) -> tuple[int, int]:
    async def run() -> list[object]:
        client = openai.AsyncOpenAI(base_url=emu.base_url, api_key=emu.api_key)
        try:
            calls = [client.chat.completions.create(model=MODEL, messages=m) for m in batch]  # type: ignore[arg-type]
            return await asyncio.gather(*calls, return_exceptions=True)
        finally:
            await client.close()

    results = asyncio.run(run())
    failed = sum(1 for r in results if isinstance(r, BaseException))
    return len(results) - failed, failed


def tunekit_batch(rpm: int) -> Callable[[OpenAIEmulator, list[list[dict[str, str]]]], tuple[int, int]]:
    def run(emu: OpenAIEmulator, batch: list[list[dict[str, str]]]) -> tuple[int, int]:
        with OpenAIChatClient(MODEL, base_url=emu.base_url, api_key=emu.api_key, rpm=rpm) as client:
            results = client.batch(batch, concurrency=16)
        failed = sum(1 for r in results if not r.ok)
        return len(results) - failed, failed

    return run


def settled_requests(emu: OpenAIEmulator) -> list[int]:
    """Statuses of the chat requests the emulator answered (its log lags the responses a little)."""
    previous = -1
    while True:
        statuses = [r.status for r in emu.requests if r.path == CHAT]
        if len(statuses) == previous:
            return statuses
        previous = len(statuses)
        time.sleep(0.1)


def measure(
    emu: OpenAIEmulator,
    name: str,
    method: Callable[[OpenAIEmulator, list[list[dict[str, str]]]], tuple[int, int]],
    batch: list[list[dict[str, str]]],
    fault_rate: float,
) -> Outcome:
    emu.reset()  # forget the previous method's requests, rate-limit window and faults
    if fault_rate:
        emu.inject(f"POST {CHAT}", Fault.status(429, retry_after=0.05), probability=fault_rate)
    start = time.perf_counter()
    ok, failed = method(emu, batch)
    seconds = time.perf_counter() - start
    statuses = settled_requests(emu)
    return Outcome(name, seconds, ok, failed, sent=len(statuses), refused=statuses.count(429))


def print_table(title: str, outcomes: list[Outcome], cap: int) -> None:
    baseline = outcomes[0].rpm()
    print(f"\n{title}")
    header = f"{'method':<24}{'wall s':>8}{'ok':>6}{'failed':>8}{'HTTP sent':>11}{'429s':>6}"
    header += f"{'RPM':>8}{'% of cap':>10}{'vs loop':>9}"
    print(header)
    for o in outcomes:
        print(
            f"{o.method:<24}{o.seconds:>8.1f}{o.ok:>6}{o.failed:>8}{o.sent:>11}{o.refused:>6}"
            f"{o.rpm():>8.0f}{100 * o.rpm() / cap:>9.1f}%{o.rpm() / baseline:>8.2f}x"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300, help="requests per method and scenario")
    parser.add_argument("--rpm", type=int, default=600, help="the emulator's requests-per-minute cap")
    parser.add_argument("--window", type=float, default=5.0, help="seconds over which the emulator counts the cap")
    parser.add_argument("--latency", type=float, default=0.05, help="the emulator's latency per request, seconds")
    args = parser.parse_args()

    per_window = max(1, round(args.rpm * args.window / 60))
    batch = requests(args.requests)
    methods = [
        ("sequential loop (SDK)", sequential),
        ("asyncio.gather (SDK)", gathered),
        ("tunekit batch", tunekit_batch(args.rpm)),
    ]
    print(
        f"{args.requests} chat completions per run; emulator latency {1000 * args.latency:.0f} ms; cap {args.rpm} RPM "
        f"({per_window} requests per {args.window:g} s sliding window)"
    )
    met = True
    with OpenAIEmulator(latency=args.latency, rpm=per_window) as emu:
        emu.limiter.window = args.window
        for title, rate in (("no injected faults", 0.0), ("10% of requests refused with an injected 429", 0.1)):
            outcomes = [measure(emu, name, method, batch, rate) for name, method in methods]
            print_table(title, outcomes, args.rpm)
            ours = outcomes[-1]
            share = ours.rpm() / args.rpm
            verdict = "met" if share >= 0.9 and ours.failed == 0 else "MISSED"
            met = met and verdict == "met"
            print(f"target (tunekit >= 90% of the cap, 0 failed): {verdict} ({100 * share:.1f}%, {ours.failed} failed)")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
