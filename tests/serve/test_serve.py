"""`tunekit serve` on transformers serve: the real openai SDK gets the adapter's greedy answers, plain and streamed."""

from __future__ import annotations

import ast
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from serve_helpers import PROMPTS, TunedRun, peft_by_hand

pytestmark = pytest.mark.slow

pytest.importorskip("fastapi", reason='transformers serve needs "tunekit[serve]"')

MAX_TOKENS = 12


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_cli(home: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "TUNEKIT_HOME": str(home)}
    command = [sys.executable, "-m", "tunekit.cli", "serve", *args]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_healthy(process: subprocess.Popen[str], port: int, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"tunekit serve exited {process.returncode}: {process.stderr.read()}")  # type: ignore[union-attr]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError("tunekit serve did not answer in time")


@pytest.fixture(scope="module")
def server(tuned_run: TunedRun) -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = free_port()
    process = start_cli(tuned_run.home, tuned_run.run_id, "--port", str(port), "--name", "tiny-colours")
    try:
        wait_healthy(process, port)
        yield process, port
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)


@pytest.fixture(scope="module")
def by_hand(tuned_run: TunedRun) -> list[str]:
    return peft_by_hand(tuned_run.base, tuned_run.adapter, PROMPTS, MAX_TOKENS)


def test_the_openai_sdk_gets_the_adapters_greedy_answers(server: tuple[object, int], by_hand: list[str]) -> None:
    _, port = server
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused")
    assert [m.id for m in client.models.list()] == ["tiny-colours"]
    for messages, expected in zip(PROMPTS, by_hand, strict=True):
        reply = client.chat.completions.create(
            model="tiny-colours",
            messages=messages,  # type: ignore[arg-type]
            max_tokens=MAX_TOKENS,
            temperature=0,
        )
        assert reply.choices[0].message.content == expected
        assert reply.usage is not None and reply.usage.completion_tokens > 0 and reply.usage.prompt_tokens > 0


def test_streaming_gives_the_same_text_and_usage(server: tuple[object, int], by_hand: list[str]) -> None:
    _, port = server
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused")
    for messages, expected in zip(PROMPTS, by_hand, strict=True):
        stream = client.chat.completions.create(
            model="tiny-colours",
            messages=messages,  # type: ignore[arg-type]
            max_tokens=MAX_TOKENS,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
        parts, usage = [], None
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                parts.append(chunk.choices[0].delta.content)
            usage = chunk.usage or usage
        assert "".join(parts) == expected
        assert usage is not None and usage.completion_tokens > 0


def test_the_runs_model_client_talks_to_the_server_while_it_runs(
    server: tuple[object, int], by_hand: list[str], run_home: TunedRun
) -> None:
    from tunekit.tuner import Tuner

    _, port = server
    model = Tuner.for_run(run_home.run_id).job(run_home.run_id).result()
    served = model.served_at()
    assert served is not None
    assert served["base_url"] == f"http://127.0.0.1:{port}/v1" and served["model"] == "tiny-colours"
    client = model.client()
    assert type(client).__name__ == "OpenAIChatClient"
    assert client.chat(PROMPTS[0], max_tokens=MAX_TOKENS, temperature=0).text == by_hand[0]


def test_a_second_server_on_the_same_port_is_refused(server: tuple[object, int], run_home: TunedRun) -> None:
    _, port = server
    second = start_cli(run_home.home, run_home.run_id, "--port", str(port))
    _, err = second.communicate(timeout=120)
    assert second.returncode != 0
    assert f"port {port} on 127.0.0.1 is in use" in " ".join(err.split())


def test_a_run_that_has_not_succeeded_is_refused_before_anything_starts(run_home: TunedRun) -> None:
    process = start_cli(run_home.home, "local-19990101-000000-000000", "--port", str(free_port()))
    _, err = process.communicate(timeout=120)
    assert process.returncode != 0 and "no run 'local-19990101-000000-000000'" in err


def test_ctrl_c_stops_the_engine_and_forgets_where_it_served(tuned_run: TunedRun) -> None:
    import psutil

    from tunekit.ledger import Ledger

    port = free_port()
    process = start_cli(tuned_run.home, tuned_run.run_id, "--port", str(port), "--name", "short-lived")
    wait_healthy(process, port)
    assert "serving run" in process.stdout.readline()  # type: ignore[union-attr]
    ledger = Ledger(tuned_run.home / "runs.db")
    engine_pid = ledger.get(tuned_run.run_id).result["metadata"]["served_at"]["pid"]  # type: ignore[index]
    assert psutil.pid_exists(engine_pid)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=90)
    assert process.returncode == 0 and "stopped" in err
    assert not psutil.pid_exists(engine_pid) or psutil.Process(engine_pid).status() == psutil.STATUS_ZOMBIE
    assert "served_at" not in (ledger.get(tuned_run.run_id).result or {}).get("metadata", {})
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)


def test_the_readme_s_openai_snippet_gets_the_served_greedy_answer(
    server: tuple[object, int], tuned_run: TunedRun, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's serve command and its openai snippet, run as written against the server (its port and name)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Serve the tuned model") :]
    command = re.search(r"tunekit serve \S+ --port (\d+) --name (\S+)", section)
    snippet = re.search(r"```python\n(.*?)```", section, re.S)
    assert command is not None and snippet is not None
    port, name = command.groups()
    code = snippet.group(1)
    assert (
        f'base_url="http://127.0.0.1:{port}/v1"' in code and f'model="{name}"' in code
    )  # the snippet calls the server
    _, served_port = server
    code = code.replace(f"127.0.0.1:{port}", f"127.0.0.1:{served_port}").replace(f'"{name}"', '"tiny-colours"')
    asked = re.search(r"messages=(\[.*?\]),\n\s*temperature=0,\n\s*max_tokens=(\d+),", code, re.S)
    assert asked is not None, "the snippet asks greedily with a token limit, so its answer is reproducible"
    exec(compile(code, "README.md", "exec"), {})  # the README's own example, run as a user would
    printed = capsys.readouterr().out.removesuffix("\n")
    messages = ast.literal_eval(asked.group(1))
    [expected] = peft_by_hand(tuned_run.base, tuned_run.adapter, [messages], int(asked.group(2)))
    assert printed == expected
