"""The Azure emulator reads nothing it was not given, and its key is not the same on every start."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import openai
import pytest
from emulator_data import chat_lines

from tunekit_emulators import AzureOpenAIEmulator


def _import(emu: AzureOpenAIEmulator, url: str) -> openai.types.FileObject:
    client = openai.AzureOpenAI(
        azure_endpoint=emu.endpoint, api_key=emu.api_key, api_version=emu.api_version, max_retries=0
    )
    body = {"purpose": "fine-tune", "filename": "train.jsonl", "content_url": url}
    imported = client.post("/files/import", body=body, cast_to=httpx.Response)
    assert imported.status_code == 201
    return client.files.retrieve(imported.json()["id"])


@pytest.fixture
def folder_server(tmp_path: Path) -> Iterator[str]:
    """A plain HTTP server on 127.0.0.1 serving ``tmp_path``, as a local blob store would."""
    handler = partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_file_urls_are_never_read(azure_emulator: AzureOpenAIEmulator, tmp_path: Path) -> None:
    secret = tmp_path / "id_rsa"
    secret.write_bytes(b"-----BEGIN PRIVATE KEY----- do not serve\n")
    failed = _import(azure_emulator, secret.as_uri())
    assert failed.status == "error"
    [stored] = [f for f in azure_emulator.files() if f["id"] == failed.id]
    assert stored["bytes"] == 0


def test_only_registered_or_loopback_urls_are_imported(
    azure_emulator: AzureOpenAIEmulator, tmp_path: Path, folder_server: str
) -> None:
    (tmp_path / "train.jsonl").write_bytes(chat_lines())
    assert _import(azure_emulator, f"{folder_server}/train.jsonl").status == "processed"
    assert _import(azure_emulator, f"{folder_server}/absent.jsonl").status == "error"
    # Not registered and not loopback: refused without a request leaving the machine.
    assert _import(azure_emulator, "http://192.0.2.1/train.jsonl").status == "error"
    azure_emulator.serve_url("https://blob.example/train.jsonl?sig=s", chat_lines())
    assert _import(azure_emulator, "https://blob.example/train.jsonl?sig=s").status == "processed"


def test_the_key_is_random_per_start_unless_seeded() -> None:
    first, second = AzureOpenAIEmulator(), AzureOpenAIEmulator()
    assert first.api_key != second.api_key and len(first.api_key) == 32
    assert AzureOpenAIEmulator(seed=3).api_key == AzureOpenAIEmulator(seed=3).api_key
