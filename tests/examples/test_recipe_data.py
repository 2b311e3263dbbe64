"""The recipe dataset: reproducible, correct by construction, and an honest held-out split."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

RECIPES = Path(__file__).resolve().parents[2] / "examples" / "recipes"


@pytest.fixture(scope="module")
def make_data() -> Iterator[ModuleType]:
    sys.path.insert(0, str(RECIPES))
    try:
        import make_data as module

        yield module
    finally:
        sys.path.remove(str(RECIPES))
        sys.modules.pop("make_data", None)
        sys.modules.pop("vocabulary", None)


def _split(name: str) -> list[list[dict[str, str]]]:
    lines = (RECIPES / "data" / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["messages"] for line in lines]


def _names(messages: list[dict[str, str]]) -> list[str]:
    answer = json.loads(messages[-1]["content"])
    assert isinstance(answer, list)
    return answer


def test_committed_files_are_what_the_generator_writes(make_data: ModuleType) -> None:
    assert make_data.main(["--check"]) == 0


def test_generator_is_seeded(make_data: ModuleType) -> None:
    assert make_data.generate(7) == make_data.generate(7)
    assert make_data.generate(7) != make_data.generate(8)


def test_split_sizes_and_shape() -> None:
    sizes = {name: len(_split(name)) for name in ("train", "valid", "eval")}
    assert sizes == {"train": 400, "valid": 40, "eval": 40}
    for name in ("train", "valid", "eval"):
        for messages in _split(name):
            assert [m["role"] for m in messages] == ["system", "user", "assistant"]
            assert messages[-1]["content"] == json.dumps(_names(messages))  # one canonical JSON spelling


def test_answers_are_lowercase_singular_names_written_in_the_question(make_data: ModuleType) -> None:
    vocabulary = {ing.name: ing for ing in make_data.VOCABULARY}
    for name in ("train", "valid", "eval"):
        for messages in _split(name):
            names = _names(messages)
            text = messages[1]["content"].lower()
            assert 2 <= len(names) <= 4 and len(set(names)) == len(names)
            positions = []
            for ingredient in names:
                assert ingredient == ingredient.lower() and ingredient in vocabulary
                forms = [ingredient, vocabulary[ingredient].plural or ingredient]
                found = [text.find(form) for form in forms if form in text]
                assert found, f"{ingredient!r} is not in {text!r}"
                positions.append(min(found))
            assert positions == sorted(positions), f"answer not in order of appearance: {text!r} -> {names}"


def test_examples_are_short(make_data: ModuleType) -> None:
    for name in ("train", "valid", "eval"):
        for messages in _split(name):
            assert len(messages[1]["content"]) <= make_data.MAX_USER_CHARS


def test_evaluation_combinations_are_held_out() -> None:
    def combinations(name: str) -> set[frozenset[str]]:
        return {frozenset(_names(m)) for m in _split(name)}

    assert not combinations("eval") & combinations("train")
    assert not combinations("eval") & combinations("valid")
    assert not combinations("valid") & combinations("train")
    texts = {m[1]["content"] for name in ("train", "valid") for m in _split(name)}
    assert not {m[1]["content"] for m in _split("eval")} & texts
