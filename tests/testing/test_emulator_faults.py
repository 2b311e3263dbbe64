"""Fault injection, lifecycle modes, rate limits and the HTTP control API, seen by the real SDK."""

from __future__ import annotations

import time

import httpx
import openai
import pytest
from emulator_data import chat_lines

from tunekit_emulators import EmulatorServer, Fault, OpenAIEmulator
from tunekit_emulators.faults import FaultRule
from tunekit_emulators.ratelimit import RateLimiter, format_reset


def _client(emu: OpenAIEmulator, **kwargs: object) -> openai.OpenAI:
    options: dict[str, object] = {"max_retries": 0, **kwargs}
    return openai.OpenAI(base_url=emu.base_url, api_key=emu.api_key, **options)  # type: ignore[arg-type]


def _file(client: openai.OpenAI) -> str:
    return client.files.create(file=("train.jsonl", chat_lines()), purpose="fine-tune").id


def test_429_first_n_is_retried_by_the_sdk_and_creates_one_job(openai_emulator: OpenAIEmulator) -> None:
    client = _client(openai_emulator, max_retries=3)
    file_id = _file(client)
    rule = openai_emulator.inject("POST /v1/fine_tuning/jobs", Fault.status(429, retry_after=0.01), first_n=2)
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=file_id)
    assert rule.fired == 2 and rule.seen == 3
    assert [j["id"] for j in openai_emulator.jobs()] == [job.id]
    statuses = [r.status for r in openai_emulator.requests if r.path == "/v1/fine_tuning/jobs"]
    assert statuses == [429, 429, 200]


def test_status_fault_has_the_service_error_shape_and_retry_after(openai_emulator: OpenAIEmulator) -> None:
    openai_emulator.inject("GET /v1/models", Fault.status(429, retry_after=2))
    response = httpx.get(
        f"{openai_emulator.base_url}/models", headers={"Authorization": f"Bearer {openai_emulator.api_key}"}
    )
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2" and response.headers["retry-after-ms"] == "2000"
    assert response.json()["error"]["code"] == "rate_limit_exceeded"
    openai_emulator.inject("*", Fault.status(503), first_n=1)
    with pytest.raises(openai.InternalServerError):
        _client(openai_emulator).files.list()


def test_probability_faults_are_seeded_and_repeatable() -> None:
    def pattern(seed: int) -> list[bool]:
        rule = FaultRule("*", Fault.status(500), probability=0.3, seed=seed)
        return [rule.should_fire() for _ in range(200)]

    assert pattern(1) == pattern(1)
    assert pattern(1) != pattern(2)
    assert 30 < sum(pattern(1)) < 90


def test_timeout_and_reset_faults(openai_emulator: OpenAIEmulator) -> None:
    openai_emulator.inject("GET /v1/files", Fault.timeout(seconds=1.0), first_n=1)
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        _client(openai_emulator, timeout=0.2).files.list()
    assert time.monotonic() - started < 1.0
    openai_emulator.inject("GET /v1/files", Fault.reset(), first_n=1)
    with pytest.raises(openai.APIConnectionError):
        _client(openai_emulator).files.list()
    assert _client(openai_emulator).files.list().data == []


def test_reset_after_processing_creates_the_job_but_loses_the_response(openai_emulator: OpenAIEmulator) -> None:
    client = _client(openai_emulator)
    file_id = _file(client)
    openai_emulator.inject("POST /v1/fine_tuning/jobs", Fault.reset(after_processing=True), first_n=1)
    with pytest.raises(openai.APIConnectionError):
        client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=file_id, metadata={"k": "v"})
    assert len(openai_emulator.jobs()) == 1
    assert [j.id for j in client.fine_tuning.jobs.list(metadata={"k": "v"}).data] == [openai_emulator.jobs()[0]["id"]]


def test_slow_stream_delays_the_body(openai_emulator: OpenAIEmulator) -> None:
    openai_emulator.inject("POST /v1/chat/completions", Fault.slow_stream(0.05, chunk_size=16))
    started = time.monotonic()
    stream = _client(openai_emulator).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "one two three"}], stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "one two three"
    assert time.monotonic() - started > 0.3


@pytest.mark.openai_emulator(lifecycle="timed", step_seconds=0.2)
def test_timed_lifecycle(openai_emulator: OpenAIEmulator) -> None:
    client = _client(openai_emulator)
    file_id = _file(client)
    time.sleep(0.25)  # files take one step to be processed in timed mode
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=file_id)
    seen = {job.status}
    deadline = time.monotonic() + 5
    while job.status != "succeeded" and time.monotonic() < deadline:
        time.sleep(0.05)
        job = client.fine_tuning.jobs.retrieve(job.id)
        seen.add(job.status)
    assert job.status == "succeeded"
    assert {"validating_files", "running", "succeeded"} <= seen


def test_rate_limits_send_headers_and_429() -> None:
    with OpenAIEmulator(rpm=2) as emu:
        client = _client(emu)
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
        assert raw.headers["x-ratelimit-limit-requests"] == "2"
        assert raw.headers["x-ratelimit-remaining-requests"] == "1"
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        with pytest.raises(openai.RateLimitError) as info:
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        assert info.value.code == "rate_limit_exceeded"
        assert float(info.value.response.headers["retry-after"]) > 50


def test_rate_limiter_tokens_window() -> None:
    now = [0.0]
    limiter = RateLimiter(tpm=100, clock=lambda: now[0])
    assert limiter.acquire(60).allowed
    blocked = limiter.acquire(60)
    assert not blocked.allowed and blocked.limited_by == "tokens" and blocked.retry_after == pytest.approx(60)
    now[0] = 61.0
    assert limiter.acquire(60).allowed
    assert format_reset(0.12) == "120ms" and format_reset(360) == "6m0s" and format_reset(1) == "1s"


def test_latency_is_applied_per_request() -> None:
    with OpenAIEmulator(latency=0.2) as emu:
        started = time.monotonic()
        _client(emu).models.list()
        assert time.monotonic() - started >= 0.2


@pytest.mark.openai_emulator(lifecycle="manual")
def test_http_control_api(openai_emulator: OpenAIEmulator) -> None:
    client = _client(openai_emulator)
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=_file(client))
    control = httpx.Client(base_url=f"{openai_emulator.url}/_emulator")
    assert control.post(f"/jobs/{job.id}/advance", json={"to": "running"}).json()["status"] == "running"
    assert control.post(f"/jobs/{job.id}/advance", json={"to": "queued"}).status_code == 400
    metrics = [{"step": 1, "train_loss": 0.9}, {"step": 2, "train_loss": 0.4}]
    assert control.post(f"/jobs/{job.id}/metrics", json={"metrics": metrics}).status_code == 200
    assert control.post(f"/jobs/{job.id}/advance", json={}).json()["status"] == "succeeded"
    assert [e.data["train_loss"] for e in client.fine_tuning.jobs.list_events(job.id).data if e.type == "metrics"] == [
        0.4,
        0.9,
    ]
    assert control.post("/jobs/ftjob-nope/fail", json={"message": "x"}).status_code == 404

    rule = {"route": "GET /v1/models", "fault": {"kind": "status", "status": 500}, "first_n": 1}
    assert control.post("/faults", json=rule).status_code == 201
    with pytest.raises(openai.InternalServerError):
        client.models.list()
    control.post("/deny_fine_tuning", json={"message": "denied"})
    with pytest.raises(openai.PermissionDeniedError):
        client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=_file(client))
    assert control.get("/jobs").json()["data"][0]["id"] == job.id
    assert any(r["status"] == 500 for r in control.get("/requests").json()["data"])
    control.post("/reset")
    assert openai_emulator.jobs() == [] and control.get("/faults").json()["data"] == []
    assert client.models.list().data


def test_emulator_server_serves_any_asgi_app() -> None:
    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        assert scope["type"] == "http"
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b"ok"})  # type: ignore[operator]

    with EmulatorServer(app) as server:  # type: ignore[arg-type]
        assert server.url.startswith("http://127.0.0.1:")
        assert httpx.get(server.url).text == "ok"
    assert not server.running


def test_same_seed_same_ids_and_metrics() -> None:
    def run(seed: int) -> tuple[str, str, list[float]]:
        with OpenAIEmulator(seed=seed) as emu:
            client = _client(emu)
            job = client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=_file(client))
            client.fine_tuning.jobs.retrieve(job.id)
            losses = [e["data"]["train_loss"] for e in emu.events(job.id) if e["type"] == "metrics"]
            return emu.files()[0]["id"], job.id, losses

    assert run(7) == run(7)
    assert run(7)[1] != run(8)[1]


def test_token_latency_paces_the_stream() -> None:
    with OpenAIEmulator(token_latency=0.05) as emu:
        started = time.monotonic()
        stream = _client(emu).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "a b c d e f"}], stream=True
        )
        pieces = [c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content]
        assert len(pieces) == 6
        assert time.monotonic() - started >= 0.3
