"""Shared by the reliability tests: forked CLI clients, their environment, and the figures they print.

Tests hand a title and a text block to ``report_table``; pytest shows every block in its terminal
summary, so CI logs carry the crash table, the soak figures and the secret scan without ``-s``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from tunekit_emulators.conformance.zygote import Zygote

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
