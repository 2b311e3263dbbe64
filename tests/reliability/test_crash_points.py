"""SIGKILL the client at every ledger step of each provider's submit flow; resuming finds one job, loses no run.

Each row of the printed table is one crash: a ``tunekit submit`` process killed at that point,
then ``tunekit submit`` again and ``tunekit watch RUN`` in fresh processes. A row passes when the
ledger holds exactly the one run the dead client created, the provider holds exactly one job for
it (the one the ledger follows), the training data was stored once, and the run succeeded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tunekit_autotrain.backends import RUN_ID_LABEL, label_value
from tunekit_emulators.azure import AzureOpenAIEmulator
from tunekit_emulators.conformance.crash import (
    HEADER,
    Outcome,
    ProviderCase,
    chat_rows,
    local_points,
    remote_points,
    run_case,
    table,
    write_jsonl,
    write_yaml,
)
from tunekit_emulators.conformance.zygote import Zygote
from tunekit_emulators.hub import HubEmulator, loopback_only
from tunekit_emulators.openai import OpenAIEmulator
from tunekit_openai.params import RUN_ID_KEY

pytestmark = pytest.mark.slow

FAST = {"poll_interval": 0.02, "retry_max_wait": 0.05}


@pytest.fixture(scope="module")
def outcomes(report_table: Callable[[str, str], None]) -> Iterator[list[Outcome]]:
    found: list[Outcome] = []
    yield found
    if found:
        rows = [o.row() for o in found]
        report_table("crash points: SIGKILL at each ledger step, then resume", table(HEADER, rows))


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


def _check(case: ProviderCase, zygote: Zygote, tmp_path: Path, env: dict[str, str], found: list[Outcome]) -> None:
    results = run_case(case, zygote, tmp_path, env)
    found.extend(results)
    failed = [r.row() for r in results if not r.ok]
    assert not failed, table(HEADER, failed)


def test_openai_crash_points(
    openai_case: ProviderCase, cli_zygote: Zygote, child_env: dict[str, str], tmp_path: Path, outcomes: list[Outcome]
) -> None:
    _check(openai_case, cli_zygote, tmp_path, child_env, outcomes)


def test_azure_crash_points(
    azure_case: ProviderCase, cli_zygote: Zygote, child_env: dict[str, str], tmp_path: Path, outcomes: list[Outcome]
) -> None:
    _check(azure_case, cli_zygote, tmp_path, child_env, outcomes)


def test_autotrain_crash_points(
    autotrain_case: ProviderCase, cli_zygote: Zygote, child_env: dict[str, str], tmp_path: Path, outcomes: list[Outcome]
) -> None:
    _check(autotrain_case, cli_zygote, tmp_path, child_env, outcomes)


def test_local_crash_points(
    local_case: ProviderCase, cli_zygote: Zygote, child_env: dict[str, str], tmp_path: Path, outcomes: list[Outcome]
) -> None:
    _check(local_case, cli_zygote, tmp_path, child_env, outcomes)
