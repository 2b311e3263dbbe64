"""The provider plugin of docs/providers/writing.md really works through the Tuner."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tunekit import entrypoints, registry
from tunekit.jobs import JobStatus
from tunekit.tuner import Tuner

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "examples" / "plugin"
RECIPES = ROOT / "examples" / "recipes" / "data"


@pytest.fixture
def nearest(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[Any]]:
    """The example provider, registered for one test only."""
    monkeypatch.syspath_prepend(str(PLUGIN))
    monkeypatch.setattr(entrypoints, "_registered", entrypoints.registered())
    from tunekit_nearest import NearestProvider

    registry.register_provider(NearestProvider)
    yield NearestProvider
    sys.modules.pop("tunekit_nearest", None)


def _tuner(**options: Any) -> Tuner:
    return Tuner(
        provider="nearest",
        model="nearest-base",
        data={"train": str(RECIPES / "train.jsonl"), "validation": str(RECIPES / "valid.jsonl")},
        provider_options=options,
    )


def _eval_rows() -> list[list[dict[str, str]]]:
    return [json.loads(line)["messages"] for line in (RECIPES / "eval.jsonl").read_text().splitlines()]


def test_entry_point_names_the_provider_class(nearest: type[Any]) -> None:
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((PLUGIN / "pyproject.toml").read_text())
    target = project["project"]["entry-points"]["tunekit.providers"]["nearest"]
    module, _, attr = target.partition(":")
    assert getattr(sys.modules[module], attr) is nearest
    assert nearest.name == "nearest"


def test_tuner_flow_trains_and_answers(nearest: type[Any]) -> None:
    tuner = _tuner()
    report = tuner.validate()
    assert report.ok, report.summary()

    job = tuner.submit()
    state = job.wait(poll_interval=0)
    assert state.status is JobStatus.SUCCEEDED
    assert [e.message for e in job.history()][-1] == "memorized 400 question-answer pairs"

    model = job.result()
    assert model.provider == "nearest" and model.base_model == "nearest-base"
    client = model.client()
    # A question it was trained on comes back with its trained answer.
    train = json.loads((RECIPES / "train.jsonl").read_text().splitlines()[7])["messages"]
    assert client.chat(train[:2]).text == train[2]["content"]
    # Held-out questions get a JSON answer from the nearest training question.
    answers = [client.chat(messages[:2]).text for messages in _eval_rows()]
    assert all(isinstance(json.loads(a), list) for a in answers)


def test_submit_again_resumes_the_same_run(nearest: type[Any]) -> None:
    first = _tuner().submit()
    again = _tuner().submit()  # e.g. after the first process died before waiting
    assert again.run_id == first.run_id and again.job_id == first.job_id
    # After a crash between submit and the ledger write, find() re-attaches to the job.
    tuner = _tuner()
    ref = tuner.provider.find(tuner.context(first.run_id))
    assert ref is not None and ref.job_id == first.job_id


def test_base_model_learns_only_from_the_prompt(nearest: type[Any]) -> None:
    base = nearest().base_client("nearest-base")
    question = _eval_rows()[0]
    assert base.chat(question[:2]).text == ""  # zero-shot: it knows nothing
    shots = [m for row in _eval_rows()[1:4] for m in row[1:]]
    few_shot = [question[0], *shots, question[1]]
    assert json.loads(base.chat(few_shot).text) in [json.loads(m["content"]) for m in shots[1::2]]


def test_unknown_option_is_rejected_with_its_path(nearest: type[Any]) -> None:
    from tunekit.errors import ConfigError

    with pytest.raises(ConfigError, match=r"provider_options\.min_overlapp"):
        _tuner(min_overlapp=0.5)


def test_the_conformance_kit_passes_on_the_example(nearest: type[Any], tmp_path: Path) -> None:
    from tunekit_emulators.conformance import ProviderCase, check_exactly_once, write_yaml

    def config(folder: Path) -> Path:
        data = {"train": str(RECIPES / "train.jsonl"), "validation": str(RECIPES / "valid.jsonl")}
        return write_yaml(folder / "tune.yaml", {"provider": "nearest", "model": "nearest-base", "data": data})

    def jobs(home: Path) -> list[Path]:
        return sorted((home / "runs").glob("*/nearest-job.json"))

    case = ProviderCase(
        provider="nearest",
        emulator=None,
        points=[],
        env={},
        write_config=config,
        remote_jobs=lambda run_id, home: [p.parent.name for p in jobs(home) if p.parent.name == run_id],
        all_jobs=lambda home: len(jobs(home)),
        uploads=lambda home: len(jobs(home)),
        create_route=None,
        watch_interval=0.0,
    )
    assert check_exactly_once(case, tmp_path) == []
