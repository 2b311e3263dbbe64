"""Shared by the reliability tests: forked CLI clients, their environment, and the figures they print.

Tests hand a title and a text block to ``report_table``; pytest shows every block in its terminal
summary, so CI logs carry the crash table, the soak figures and the secret scan without ``-s``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tunekit_autotrain.backends import RUN_ID_LABEL, label_value
from tunekit_emulators.azure import AzureOpenAIEmulator
from tunekit_emulators.conformance.crash import ProviderCase, local_points, remote_points, resource_points
from tunekit_emulators.conformance.data import chat_rows, write_jsonl, write_yaml
from tunekit_emulators.conformance.zygote import Zygote
from tunekit_emulators.fireworks import FireworksEmulator
from tunekit_emulators.hub import HubEmulator, loopback_only
from tunekit_emulators.openai import OpenAIEmulator
from tunekit_emulators.together import TogetherEmulator
from tunekit_fireworks.provider import resource_id
from tunekit_openai.params import RUN_ID_KEY
from tunekit_together.provider import run_tag

_REPORTS = pytest.StashKey[list[tuple[str, str]]]()

# Credentials and endpoints of the developer's machine must not reach a child client.
_SCRUBBED = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_AD_TOKEN",
    "AZURE_ARM_TOKEN",
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "HF_ENDPOINT",
    "TOGETHER_API_KEY",
    "TOGETHER_BASE_URL",
    "WANDB_API_KEY",
    "FIREWORKS_API_KEY",
    "FIREWORKS_ACCOUNT_ID",
    "FIREWORKS_BASE_URL",
    "TUNEKIT_HOME",
    "TUNEKIT_CRASH_AT",
    "TUNEKIT_LOG_LEVEL",
)


@pytest.fixture(scope="session")
def report_table(pytestconfig: pytest.Config) -> Callable[[str, str], None]:
    def report(title: str, text: str) -> None:
        pytestconfig.stash.setdefault(_REPORTS, []).append((title, text))

    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    for title, text in config.stash.get(_REPORTS, []):
        terminalreporter.write_sep("=", title)
        terminalreporter.write_line(text)


@pytest.fixture(scope="session")
def child_env() -> dict[str, str]:
    """The environment of a forked ``tunekit`` client: offline, wide output, no inherited credentials."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", COLUMNS="400", NO_COLOR="1", TERM="dumb")
    return env


@pytest.fixture(scope="session")
def cli_zygote(child_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Zygote]:
    with Zygote(env=child_env, home=tmp_path_factory.mktemp("zygote-home")) as zygote:
        yield zygote


# -- the built-in providers, each described to the conformance kit with its emulator --------------

FAST = {"poll_interval": 0.02, "retry_max_wait": 0.05}


@pytest.fixture(scope="module")
def openai_case() -> Iterator[ProviderCase]:
    with OpenAIEmulator() as emu:

        def config(folder: Path) -> Path:
            train = write_jsonl(folder / "train.jsonl", chat_rows(12))
            options = {"base_url": emu.base_url, "file_poll_interval": 0.01, **FAST}
            data = {"provider": "openai", "model": "gpt-4o-mini-2024-07-18", "data": {"train": train.name}}
            return write_yaml(folder / "tune.yaml", {**data, "provider_options": options})

        yield ProviderCase(
            provider="openai",
            emulator=emu,
            points=remote_points("upload_train"),
            env={"OPENAI_API_KEY": emu.api_key},
            write_config=config,
            remote_jobs=lambda run_id, home: [j["id"] for j in emu.jobs() if j["metadata"].get(RUN_ID_KEY) == run_id],
            all_jobs=lambda home: len(emu.jobs()),
            uploads=lambda home: sum(f["purpose"] == "fine-tune" for f in emu.files()),
            create_route="POST /v1/fine_tuning/jobs",
        )


@pytest.fixture(scope="module")
def azure_case() -> Iterator[ProviderCase]:
    with AzureOpenAIEmulator() as emu:

        def config(folder: Path) -> Path:
            train = write_jsonl(folder / "train.jsonl", chat_rows(12))
            options = {"endpoint": emu.endpoint, "api_version": emu.api_version, "file_poll_interval": 0.01, **FAST}
            data = {"provider": "azure", "model": "gpt-4.1-mini-2025-04-14", "data": {"train": train.name}}
            return write_yaml(folder / "tune.yaml", {**data, "provider_options": options})

        yield ProviderCase(
            provider="azure",
            emulator=emu,
            points=remote_points("upload_train"),
            env={"AZURE_OPENAI_API_KEY": emu.api_key},
            write_config=config,
            remote_jobs=lambda run_id, home: [
                j["id"] for j in emu.jobs() if (j.get("metadata") or {}).get(RUN_ID_KEY) == run_id
            ],
            all_jobs=lambda home: len(emu.jobs()),
            uploads=lambda home: sum(f["purpose"] == "fine-tune" for f in emu.files()),
            create_route="POST /openai/fine_tuning/jobs",
        )


def _fireworks_config(emu: FireworksEmulator, folder: Path, **fields: Any) -> Path:
    """A tune.yaml for the Fireworks emulator in ``folder``: 12 training chats, ``fields`` added."""
    train = write_jsonl(folder / "train.jsonl", chat_rows(12))
    model = "accounts/fireworks/models/llama-v3p1-8b-instruct"
    options = {"base_url": emu.url, "account_id": emu.account_id, **FAST}
    data = {"provider": "fireworks", "model": model, "data": {"train": train.name}, **fields}
    return write_yaml(folder / "tune.yaml", {**data, "provider_options": options})


@pytest.fixture(scope="module")
def fireworks_case() -> Iterator[ProviderCase]:
    with FireworksEmulator() as emu:

        def config(folder: Path) -> Path:
            return _fireworks_config(emu, folder)

        yield ProviderCase(
            provider="fireworks",
            emulator=emu,
            points=remote_points("upload_train"),
            env={"FIREWORKS_API_KEY": emu.api_key},
            write_config=config,
            # Fireworks has no job metadata: the job's id carries the run id.
            remote_jobs=lambda run_id, home: [
                i for i in (j["name"].rsplit("/", 1)[-1] for j in emu.jobs()) if i == resource_id(run_id)
            ],
            all_jobs=lambda home: len(emu.jobs()),
            uploads=lambda home: sum(d["state"] == "READY" for d in emu.datasets()),
            create_route=f"POST /v1/accounts/{emu.account_id}/supervisedFineTuningJobs",
        )


@pytest.fixture(scope="module")
def fireworks_rft_case() -> Iterator[ProviderCase]:
    """Reinforcement fine-tuning creates an evaluator before the job: crashes around that create."""
    with FireworksEmulator() as emu:

        def config(folder: Path) -> Path:
            # A reward that tells the base model's samples apart: the check before upload lets it through.
            return _fireworks_config(emu, folder, method="rft", reward=["token_f1"])

        yield ProviderCase(
            provider="fireworks rft",
            emulator=emu,
            points=resource_points("create_evaluator", "evaluator"),
            env={"FIREWORKS_API_KEY": emu.api_key},
            write_config=config,
            remote_jobs=lambda run_id, home: [
                i for i in (j["name"].rsplit("/", 1)[-1] for j in emu.jobs()) if i == resource_id(run_id)
            ],
            all_jobs=lambda home: len(emu.jobs()),
            uploads=lambda home: sum(d["state"] == "READY" for d in emu.datasets()),
            create_route=f"POST /v1/accounts/{emu.account_id}/evaluatorsV2",
            in_flight_made=lambda home: len(emu.evaluators()),
            once={"evaluators": lambda home: len(emu.evaluators())},
        )


@pytest.fixture(scope="module")
def autotrain_case() -> Iterator[ProviderCase]:
    with HubEmulator(log_idle_close_s=0.2) as hub, loopback_only():

        def config(folder: Path) -> Path:
            train = write_jsonl(folder / "train.jsonl", chat_rows(12))
            model = "HuggingFaceTB/SmolLM2-135M-Instruct"
            data = {"provider": "autotrain", "model": model, "data": {"train": train.name}}
            return write_yaml(folder / "tune.yaml", {**data, "provider_options": {"endpoint": hub.endpoint, **FAST}})

        def data_commits(home: Path) -> int:
            repos = hub.repos("dataset")
            return sum(len(hub.api().list_repo_commits(r["id"], repo_type="dataset")) - 1 for r in repos)

        yield ProviderCase(
            provider="autotrain",
            emulator=hub,
            points=remote_points("upload_data"),
            env={"HF_TOKEN": hub.token},
            write_config=config,
            remote_jobs=lambda run_id, home: [j["id"] for j in hub.jobs(labels={RUN_ID_LABEL: label_value(run_id)})],
            all_jobs=lambda home: len(hub.jobs()),
            uploads=data_commits,
            create_route=f"POST /api/jobs/{hub.namespace}",
        )


@pytest.fixture(scope="module")
def together_case() -> Iterator[ProviderCase]:
    with TogetherEmulator() as emu:

        def config(folder: Path) -> Path:
            train = write_jsonl(folder / "train.jsonl", chat_rows(12))
            data = {"provider": "together", "model": "Qwen/Qwen3-8B", "data": {"train": train.name}}
            return write_yaml(folder / "tune.yaml", {**data, "provider_options": {"base_url": emu.url, **FAST}})

        yield ProviderCase(
            provider="together",
            emulator=emu,
            points=remote_points("upload_train"),
            env={"TOGETHER_API_KEY": emu.api_key},
            write_config=config,
            # Together keeps no metadata: the run is named by the tag in the job's suffix.
            remote_jobs=lambda run_id, home: [j["id"] for j in emu.jobs() if j["suffix"].endswith(run_tag(run_id))],
            all_jobs=lambda home: len(emu.jobs()),
            uploads=lambda home: len(emu.files()),
            create_route="POST /v1/fine-tunes",
        )


@pytest.fixture(scope="module")
def local_case(tmp_path_factory: pytest.TempPathFactory) -> ProviderCase:
    """The local provider trains in a child process the client launches and does not wait for.

    Training even a tiny model to the end costs seconds of CPU per crash point, so each resumed run is
    cancelled instead, once the harness has counted its training processes: the crash points prove
    that a killed client leads to exactly one launched training, adopted on resume (the local
    provider's own tests train to the end, and resume an interrupted training).
    """

    def config(folder: Path) -> Path:
        train = write_jsonl(folder / "train.jsonl", chat_rows(8))
        options = {"device": "cpu", "max_steps": 1, "cancel_timeout": 20}
        data = {"provider": "local", "model": "smollm2-135m-instruct", "data": {"train": train.name}}
        return write_yaml(folder / "tune.yaml", {**data, "provider_options": options})

    def launches(run_dir: Path) -> int:
        log = run_dir / "train.log"
        return log.read_text(encoding="utf-8", errors="replace").count("\n--- attempt ") if log.exists() else 0

    # The model's tokenizer, converted from its GGUF file once and cached, serves every client's validation.
    tokenizers = tmp_path_factory.mktemp("shared-cache")

    def prepare_home(home: Path) -> None:
        home.mkdir(parents=True)
        (home / "cache").symlink_to(tokenizers, target_is_directory=True)

    return ProviderCase(
        provider="local",
        emulator=None,
        points=local_points(),
        env={},
        write_config=config,
        remote_jobs=lambda run_id, home: [f"local-{run_id}"] * launches(home / "runs" / run_id),
        all_jobs=lambda home: sum(launches(d) for d in (home / "runs").glob("*")),
        uploads=lambda home: len(list((home / "runs").glob("*/data/train.jsonl"))),
        create_route=None,
        prepare_home=prepare_home,
        finish="cancel",
    )
