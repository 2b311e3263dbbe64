"""Recognizable fake credentials never show up anywhere tunekit writes: output, logs, ledger, files, errors.

Every CLI command runs in a real ``tunekit -vv`` process (forked from the zygote) with the keys both
in the config file and in the environment, over the three remote providers' emulators, through
success and through refusals (a revoked key, a wrong token, a mistyped option next to a key).
Scanned afterwards: each command's stdout and stderr (with ``-vv`` every tunekit, SDK and HTTP log
line lands there), every file under ``$TUNEKIT_HOME`` (the ledger database, its ``-wal`` and
``-shm``, locks, run folders) and every file the commands wrote next to the config. A second test
drives the same flows through the library with every logger captured at DEBUG and scans the log
records, exception texts and reprs.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import signal
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tunekit.errors import TunekitError
from tunekit.tuner import Tuner
from tunekit_emulators.azure import AzureOpenAIEmulator
from tunekit_emulators.conformance.crash import table
from tunekit_emulators.conformance.data import chat_rows, write_jsonl, write_yaml
from tunekit_emulators.conformance.zygote import Exit, Zygote
from tunekit_emulators.hub import HubEmulator, loopback_only
from tunekit_emulators.openai import OpenAIEmulator

pytestmark = pytest.mark.slow

MARKER = "TUNEKITLEAK"
OPENAI_KEY = f"sk-{MARKER}openai{secrets.token_hex(12)}"
AZURE_KEY = f"{MARKER}az{secrets.token_hex(10)}"  # 32 characters like a real key, no well-known shape
HF_TOKEN = f"hf_{MARKER}hub{secrets.token_hex(12)}"
WRONG_HF_TOKEN = f"hf_{MARKER}wrong{secrets.token_hex(12)}"
WRONG_OPENAI_KEY = f"sk-{MARKER}wrong{secrets.token_hex(12)}"
# A W&B key in the environment while W&B works offline: it must not land in the run's offline files.
WANDB_KEY = f"local-{MARKER}wandb{secrets.token_hex(16)}"


@dataclass
class Emulators:
    openai: OpenAIEmulator
    azure: AzureOpenAIEmulator
    hub: HubEmulator
    arm_token: str

    def secrets(self) -> list[str]:
        return [OPENAI_KEY, AZURE_KEY, HF_TOKEN, WRONG_HF_TOKEN, WRONG_OPENAI_KEY, WANDB_KEY, self.arm_token, MARKER]


@pytest.fixture(scope="module")
def emulators() -> Iterator[Emulators]:
    with OpenAIEmulator() as openai, AzureOpenAIEmulator() as azure, HubEmulator(token=HF_TOKEN) as hub:
        azure.api_key = AZURE_KEY  # the emulator compares each request's key with this attribute
        with loopback_only():
            yield Emulators(openai, azure, hub, azure.issue_token())


FAST = {"poll_interval": 0.02, "retry_max_wait": 0.05}


def _configs(emus: Emulators, folder: Path) -> dict[str, Path]:
    """One config per provider, each with its credential written inline, as careless users do."""
    folder.mkdir(parents=True, exist_ok=True)
    write_jsonl(folder / "train.jsonl", chat_rows(12))
    write_jsonl(folder / "eval.jsonl", chat_rows(3))
    common = {"data": {"train": "train.jsonl"}, "eval": {"data": "eval.jsonl", "max_examples": 2, "few_shot": 1}}
    azure = emus.azure
    arm = {
        "url": azure.arm_url,
        "subscription_id": azure.subscription_id,
        "resource_group": azure.resource_group,
        "account": azure.account,
        "token": emus.arm_token,
        "poll_interval": 0.02,
    }
    documents = {
        "openai": {
            "provider": "openai",
            "model": "gpt-4o-mini-2024-07-18",
            "provider_options": {"api_key": OPENAI_KEY, "base_url": emus.openai.base_url, **FAST},
            # Tracked in MLflow's default store under TUNEKIT_HOME: its files are scanned with the rest.
            "tracking": {"backend": "mlflow", "tags": {"owner": "leak-check"}},
        },
        "azure": {
            "provider": "azure",
            "model": "gpt-4.1-mini-2025-04-14",
            "deploy": {"name": "leak-check"},
            "tracking": {"backend": "trackio", "project": "leak-check"},  # its database lands in TRACKIO_DIR
            "provider_options": {
                "endpoint": azure.endpoint,
                "api_key": AZURE_KEY,
                "api_version": azure.api_version,
                "arm": arm,
                **FAST,
            },
        },
        "autotrain": {
            "provider": "autotrain",
            "model": "HuggingFaceTB/SmolLM2-135M-Instruct",
            # W&B offline (wandb_env): its run folders, transaction logs and staged artifacts are scanned too.
            "tracking": {"backend": "wandb", "project": "leak-check"},
            "provider_options": {
                "endpoint": emus.hub.endpoint,
                "token": HF_TOKEN,
                "inference_url": emus.hub.inference_url("{model}"),
                **FAST,
            },
        },
    }
    paths = {name: write_yaml(folder / f"{name}.yaml", {**common, **doc}) for name, doc in documents.items()}
    # The option is mistyped: the error must name it without repeating the key beside it.
    mistyped = {**documents["openai"], "provider_options": {"api_kee": OPENAI_KEY, "base_url": emus.openai.base_url}}
    paths["mistyped"] = write_yaml(folder / "mistyped.yaml", {**common, **mistyped})
    insecure = {**documents["openai"], "provider_options": {"api_key": OPENAI_KEY, "base_url": "http://example.com"}}
    paths["insecure"] = write_yaml(folder / "insecure.yaml", {**common, **insecure})
    (folder / "autotrain.yml").write_text(
        "task: llm-sft\nbase_model: HuggingFaceTB/SmolLM2-135M-Instruct\nproject_name: leak-check\n"
        "data: {path: ., train_split: train, column_mapping: {text_column: messages}}\n"
        "params: {epochs: 1}\nhub:\n  username: tunekit-user\n  token: ${HF_TOKEN}\n  push_to_hub: true\n",
        encoding="utf-8",
    )
    return paths


@dataclass
class Ran:
    label: str
    exit: Exit
    expect_ok: bool


class Session:
    """Runs ``tunekit -vv ...`` commands in one folder and home, keeping every result to scan."""

    def __init__(self, zygote: Zygote, folder: Path, env: dict[str, str]) -> None:
        self.zygote, self.folder, self.env = zygote, folder, env
        self.ran: list[Ran] = []

    def __call__(self, *argv: str, ok: bool = True, env: dict[str, str] | None = None, stdin: str = "") -> Exit:
        label = " ".join(argv)
        out = self.folder / "out" / f"{len(self.ran):03d}"
        out.parent.mkdir(exist_ok=True)
        done = self.zygote.run(
            ["-vv", *argv], env={**self.env, **(env or {})}, cwd=self.folder, out=out, stdin=stdin, timeout=180
        )
        self.ran.append(Ran(label, done, ok))
        return done

    def run_id(self, stdout: str) -> str:
        found = re.search(r'"run_id": "([^"]+)"', stdout)
        assert found, stdout
        return found.group(1)


def test_every_command_keeps_every_secret_out(
    emulators: Emulators,
    cli_zygote: Zygote,
    child_env: dict[str, str],
    tmp_path: Path,
    report_table: Callable[[str, str], None],
) -> None:
    folder = tmp_path / "work"
    home = tmp_path / "home"
    configs = _configs(emulators, folder)
    env = {
        **child_env,
        "TUNEKIT_HOME": str(home),
        "OPENAI_API_KEY": OPENAI_KEY,
        "AZURE_OPENAI_API_KEY": AZURE_KEY,
        "AZURE_ARM_TOKEN": emulators.arm_token,
        "HF_TOKEN": HF_TOKEN,
        "TRACKIO_DIR": str(home / "trackio"),
        **wandb_env(home),
    }
    tk = Session(cli_zygote, folder, env)

    tk("providers")
    tk("schema", "--provider", "azure")
    tk("validate", "train.jsonl", "--model", "gpt-4o-mini-2024-07-18")
    tk("convert", "train.jsonl", "--to", "autotrain", "--output", "converted.jsonl")
    tk("autotrain", "import", "autotrain.yml", "--output", "imported.yaml")
    tk("submit", str(configs["mistyped"]), "--yes", ok=False)
    tk("submit", str(configs["insecure"]), "--yes", ok=False)
    for provider in ("openai", "azure", "autotrain"):
        config = str(configs[provider])
        tk("estimate", config)
        run_id = tk.run_id(tk("submit", config, "--yes", "--json").stdout)
        tk("status", run_id)
        tk("watch", run_id, "--interval", "0.02", "--timeout", "60")
        tk("result", run_id, "--json")
        tk("checkpoints", run_id, ok=provider != "autotrain")
        tk("show", run_id, "--json")
        if provider == "azure":
            tk("deploy", run_id, "--yes", "--json")  # on Azure a tuned model answers only once deployed
        tk("chat", run_id, "--message", "What is the capital of country 3?", "--max-tokens", "8")
        tk("chat", run_id, "--max-tokens", "8", stdin="hello\n/exit\n")
        # OpenAI refuses to cancel a finished job (exit 1, its words shown); the Hub has nothing to stop.
        tk("cancel", run_id, ok=provider == "autotrain")
        if provider == "openai":
            tk("pause", run_id, ok=False)  # a finished job cannot pause: the refusal is scanned too
            tk("resume", run_id, ok=False)
            tk("eval", run_id, "--max-examples", "2", "--out", "eval-report", "--yes")
            tk("run", config, "--yes", "--new", "--poll-interval", "0.02", "--timeout", "60")
        if provider == "azure":
            tk("undeploy", run_id, "--json")
    tk("runs", "--json")

    # Refusals carry the services' words; those must not carry the credentials either.
    openai_run = next(r for r in tk.ran if r.label.startswith("submit") and "openai.yaml" in r.label)
    run_id = tk.run_id(openai_run.exit.stdout)
    emulators.openai.reject_keys(WRONG_OPENAI_KEY)
    tk("status", run_id, env={"OPENAI_API_KEY": WRONG_OPENAI_KEY}, ok=False)
    emulators.openai.reject_keys(OPENAI_KEY)
    emulators.azure.reject_keys(AZURE_KEY)
    try:
        tk("submit", str(configs["openai"]), "--new", "--yes", ok=False)
        tk("submit", str(configs["azure"]), "--new", "--yes", ok=False)
    finally:
        emulators.openai.svc.state.rejected_keys.clear()
        emulators.azure.svc.state.rejected_keys.clear()
    hub_run = next(r for r in tk.ran if r.label.startswith("submit") and "autotrain.yaml" in r.label)
    tk("status", tk.run_id(hub_run.exit.stdout), env={"HF_TOKEN": WRONG_HF_TOKEN}, ok=False)
    _emulate(tk)

    # The scanner sees a key where one is: the configs hold them inline, by design of this test.
    assert _leaks(emulators.secrets(), {"config": _text(configs["azure"])})
    files = [p for p in (*home.rglob("*"), *folder.rglob("*")) if p.is_file() and p.parent != folder]
    files += [folder / "converted.jsonl", folder / "imported.yaml"]
    leaks = []
    rows = []
    for ran in tk.ran:
        found = _leaks(emulators.secrets(), {"stdout": ran.exit.stdout, "stderr": ran.exit.stderr})
        leaks += [f"{ran.label}: {where}" for where in found]
        unexpected = ran.expect_ok != (ran.exit.code == 0)
        crashed = "Traceback (most recent call last)" in ran.exit.stderr
        status = "LEAK" if found else "crash" if crashed else "unexpected exit" if unexpected else "clean"
        rows.append([ran.label[:70], ran.exit.describe(), str(len(ran.exit.stdout) + len(ran.exit.stderr)), status])
    for path in files:
        leaks += [f"{path}: {where}" for where in _leaks(emulators.secrets(), {"bytes": _text(path)})]
    ledger_files = sorted(p.name for p in home.glob("runs.db*"))
    tracked = [p for p in files if "mlruns" in p.parts or "trackio" in p.parts or "wandb" in p.parts]
    assert any(p.parent.name == "params" for p in tracked), "the MLflow store was written and scanned"
    assert any(p.suffix == ".db" for p in tracked if "trackio" in p.parts), "the Trackio database was scanned"
    assert any(p.suffix == ".wandb" for p in tracked), "W&B's offline transaction logs were scanned"
    rows.append([f"files scanned: {len(files)} ({', '.join(ledger_files)}, run folders, reports)", "", "", ""])
    report_table(
        "secret scan: every CLI command with fake keys (stdout, stderr at -vv, ledger, run folders)",
        table(["command", "exit", "bytes", "secrets"], rows),
    )
    assert "runs.db-wal" in ledger_files or "runs.db" in ledger_files
    assert not leaks, "\n".join(leaks)
    bad = [r for r in rows if r[3] not in ("clean", "")]
    assert not bad, table(["command", "exit", "bytes", "secrets"], bad)


@pytest.fixture
def wandb_session() -> Iterator[None]:
    """W&B reads its variables once per process: end the session this test's runs started."""
    yield
    import wandb

    wandb.teardown()


def wandb_env(home: Path) -> dict[str, str]:
    """W&B offline, a key in the environment all the same, and every folder W&B writes under ``home``."""
    return {
        "WANDB_MODE": "offline",
        "WANDB_API_KEY": WANDB_KEY,
        "WANDB_DIR": str(home),  # runs in home/wandb/
        "WANDB_DATA_DIR": str(home / "wandb" / "data"),  # staged artifact files
        "WANDB_CACHE_DIR": str(home / "wandb" / "cache"),
        "WANDB_CONFIG_DIR": str(home / "wandb" / "config"),
    }


def _emulate(tk: Session) -> None:
    """``tunekit emulate`` serves until stopped: start it, let it print its details, stop it."""
    out = tk.folder / "out" / "emulate"
    pid = tk.zygote.spawn(["-vv", "emulate", "openai", "--port", "0", "--json"], env=tk.env, cwd=tk.folder, out=out)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and "base_url" not in _text(out.with_suffix(".out")):
        time.sleep(0.05)
    os.kill(pid, signal.SIGINT)
    done = tk.zygote.wait(pid, timeout=30)
    tk.ran.append(Ran("emulate openai --port 0 --json (stopped with Ctrl-C)", done, done.code == 0))


def _text(path: Path) -> str:
    try:
        return path.read_bytes().decode("latin-1")
    except FileNotFoundError:
        return ""


def _leaks(values: list[str], texts: dict[str, str]) -> list[str]:
    """Where any secret appears, also across wrapped lines (whitespace removed)."""
    found = []
    for where, text in texts.items():
        squeezed = re.sub(r"\s+", "", text)
        for value in values:
            if value in text or value in squeezed:
                shown = value if value == MARKER else f"{value[:6]}..."
                found.append(f"{where} holds {shown}")
    return found


# -- the library, with every logger at DEBUG --------------------------------------------------------------


def test_library_flows_log_and_raise_no_secret(
    emulators: Emulators,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    tunekit_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    wandb_session: None,
) -> None:
    caplog.set_level(logging.DEBUG)  # tunekit's loggers and the SDKs' (openai, httpx, huggingface_hub, wandb)
    for name, value in wandb_env(tunekit_home).items():
        monkeypatch.setenv(name, value)
    configs = _configs(emulators, tmp_path / "work")
    texts: list[str] = []
    errors: list[BaseException] = []
    tuners = []
    for provider in ("openai", "azure", "autotrain"):
        tuner = Tuner.from_config(configs[provider])
        tuners.append(tuner)
        job = tuner.submit()
        assert job.wait(poll_interval=0.02, timeout=60).status.value == "succeeded"
        model = tuner.deploy(job.run_id) if provider == "azure" else job.result()
        assert model.client().chat([{"role": "user", "content": "hi"}], max_tokens=4).text is not None
        if provider == "azure":
            tuner.undeploy(job.run_id)
        texts += [repr(tuner), repr(tuner.config), repr(tuner.provider.options), tuner.config.to_yaml()]
        texts += [tuner.config.model_dump_json(), str(tuner.config.model_dump()), repr(job), repr(model)]
    emulators.openai.reject_keys(OPENAI_KEY)
    emulators.azure.reject_keys(AZURE_KEY)
    try:
        for tuner in tuners[:2]:
            with pytest.raises(TunekitError) as caught:
                Tuner.from_config(configs[tuner.config.provider]).submit(new=True)
            errors.append(caught.value)
    finally:
        emulators.openai.svc.state.rejected_keys.clear()
        emulators.azure.svc.state.rejected_keys.clear()
    os.environ["HF_TOKEN"] = WRONG_HF_TOKEN
    try:
        wrong = {"provider_options": {**_options(configs["autotrain"]), "token": WRONG_HF_TOKEN}}
        with pytest.raises(TunekitError) as caught:
            Tuner.from_config(configs["autotrain"], **wrong).submit(new=True)
        errors.append(caught.value)
    finally:
        del os.environ["HF_TOKEN"]
    for error in errors:
        texts += [str(error), repr(error), "".join(traceback.format_exception(error))]
    records = caplog.records
    assert any(r.name.startswith("httpx") or r.name.startswith("openai") for r in records), "SDK logs captured"
    texts += [caplog.text, *(r.getMessage() for r in records), *(repr(r.args) for r in records)]
    files = [p for p in tunekit_home.rglob("*") if p.is_file()]
    assert any(p.suffix == ".wandb" for p in files), "W&B's offline transaction logs were scanned"
    leaks = _leaks(emulators.secrets(), {f"text {i}": t for i, t in enumerate(texts)})
    leaks += [f"{p}: {w}" for p in files for w in _leaks(emulators.secrets(), {"bytes": _text(p)})]
    assert not leaks, "\n".join(leaks)


def _options(path: Path) -> dict[str, Any]:
    import yaml

    return dict(yaml.safe_load(path.read_text(encoding="utf-8"))["provider_options"])
