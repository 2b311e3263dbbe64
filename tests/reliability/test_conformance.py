"""The conformance kit's in-process checks on the built-in providers, each against its emulator.

Exactly once (two submits and a submit after the job ended make one job), a create whose answer
was lost (never made twice) and secret hygiene (no credential in logs, errors or files). The
crash points, which need real client processes, are ``test_crash_points.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tunekit_emulators.conformance.checks import check_create_fault, check_exactly_once, check_secret_hygiene
from tunekit_emulators.conformance.crash import ProviderCase

REMOTE = ["openai_case", "azure_case", "autotrain_case", "together_case", "fireworks_case"]


@pytest.mark.parametrize("case_name", REMOTE)
def test_exactly_once(case_name: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    case: ProviderCase = request.getfixturevalue(case_name)
    assert check_exactly_once(case, tmp_path) == []


@pytest.mark.parametrize("case_name", REMOTE)
def test_a_lost_create_answer_makes_no_second_job(
    case_name: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    case: ProviderCase = request.getfixturevalue(case_name)
    assert check_create_fault(case, tmp_path) == []


@pytest.mark.parametrize("case_name", REMOTE)
def test_no_credential_leaks(case_name: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    case: ProviderCase = request.getfixturevalue(case_name)
    assert check_secret_hygiene(case, tmp_path) == []


@pytest.mark.slow
def test_local_exactly_once(local_case: ProviderCase, tmp_path: Path) -> None:
    assert check_exactly_once(local_case, tmp_path) == []


def test_the_secret_check_finds_a_value_that_is_there(openai_case: ProviderCase, tmp_path: Path) -> None:
    # The emulator's URL is written in the config and logged by the SDK: the scan must see it.
    url = openai_case.emulator.base_url
    assert any("holds a credential" in p for p in check_secret_hygiene(openai_case, tmp_path, secrets=[url]))
