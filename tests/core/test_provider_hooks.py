"""Provider hooks the core asks instead of naming a provider: foreign config formats, the poll interval."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
import yaml

from tunekit import entrypoints
from tunekit.config import TuneConfig, parse_config
from tunekit.registry import foreign_config, register_provider

from .memo_provider import MemoOptions, MemoProvider


class ForeignMemoProvider(MemoProvider):
    """Reads its own config format: a YAML file with ``memo_recipe:`` and no ``provider:``."""

    name: ClassVar[str] = "memo-foreign"

    @classmethod
    def foreign_config(cls, path: Path) -> TuneConfig | None:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not (isinstance(data, dict) and "memo_recipe" in data):
            return None
        recipe = data["memo_recipe"]
        return parse_config(
            {
                "provider": "memo",
                "model": recipe["base"],
                "data": {"train": recipe["rows"]},
                "provider_options": {"state_dir": str(path.parent / "state")},
            },
            base_dir=path.parent,
        )


@pytest.fixture(autouse=True)
def _foreign_provider() -> Iterator[None]:
    register_provider(ForeignMemoProvider)
    yield
    entrypoints._registered.pop(ForeignMemoProvider.name, None)


def test_a_foreign_config_is_read_by_the_provider_that_knows_it(tmp_path: Path, chat_file: Path) -> None:
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump({"memo_recipe": {"base": "memo-base", "rows": chat_file.name}}))
    config = foreign_config(path)
    assert config is not None and config.provider == "memo" and config.model == "memo-base"


def test_a_file_no_provider_knows_is_left_to_the_tunekit_loader(tmp_path: Path) -> None:
    path = tmp_path / "other.yaml"
    path.write_text(yaml.safe_dump({"something": "else"}))
    assert foreign_config(path) is None


def test_poll_interval_defaults_for_providers_without_an_option(tmp_path: Path) -> None:
    assert MemoProvider(MemoOptions(state_dir=str(tmp_path))).poll_interval == 10.0
