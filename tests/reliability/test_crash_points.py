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

from tunekit_emulators.conformance.crash import (
    HEADER,
    Outcome,
    ProviderCase,
    run_case,
    table,
)
from tunekit_emulators.conformance.zygote import Zygote

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def outcomes(report_table: Callable[[str, str], None]) -> Iterator[list[Outcome]]:
    found: list[Outcome] = []
    yield found
    if found:
        rows = [o.row() for o in found]
        report_table("crash points: SIGKILL at each ledger step, then resume", table(HEADER, rows))


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


def test_together_crash_points(
    together_case: ProviderCase, cli_zygote: Zygote, child_env: dict[str, str], tmp_path: Path, outcomes: list[Outcome]
) -> None:
    _check(together_case, cli_zygote, tmp_path, child_env, outcomes)


def test_fireworks_crash_points(
    fireworks_case: ProviderCase, cli_zygote: Zygote, child_env: dict[str, str], tmp_path: Path, outcomes: list[Outcome]
) -> None:
    _check(fireworks_case, cli_zygote, tmp_path, child_env, outcomes)


def test_fireworks_rft_crash_points(
    fireworks_rft_case: ProviderCase,
    cli_zygote: Zygote,
    child_env: dict[str, str],
    tmp_path: Path,
    outcomes: list[Outcome],
) -> None:
    _check(fireworks_rft_case, cli_zygote, tmp_path, child_env, outcomes)
