"""Fuzzing the config loader: any file, any document, yields a TuneConfig or a tunekit error, nothing else.

Hypothesis writes arbitrary bytes, arbitrary YAML text and config-shaped documents (the real keys,
with hostile values: wrong types, ``${VAR}`` references, paths no system can use, unknown providers
and provider options) and feeds them to ``load_config`` and ``parse_config``.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from tunekit.config import MAX_DEPTH, MAX_VALUES, TuneConfig, load_config, parse_config
from tunekit.errors import ConfigError, TunekitError
from tunekit.registry import get_provider_class

# Modest by default so CI stays fast; TUNEKIT_FUZZ_EXAMPLES=5000 fuzzes deeper.
FUZZ = settings(
    max_examples=int(os.environ.get("TUNEKIT_FUZZ_EXAMPLES", "120")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

PROVIDERS = ["openai", "azure", "autotrain", "local", "together"]
TOP_KEYS = [
    "name",
    "provider",
    "model",
    "data",
    "method",
    "hyperparameters",
    "lora",
    "suffix",
    "seed",
    "eval",
    "deploy",
    "metadata",
    "provider_options",
]
SECTION_KEYS = [
    "train",
    "validation",
    "validation_split",
    "format",
    "columns",
    "shuffle",
    "dedupe",
    "epochs",
    "learning_rate",
    "batch_size",
    "r",
    "alpha",
    "dropout",
    "target_modules",
    "metrics",
    "few_shot",
    "baselines",
    "sku",
    "capacity",
]


def _option_keys() -> list[str]:
    keys: set[str] = set()
    for name in PROVIDERS:
        keys.update(get_provider_class(name).Options.model_fields)
    return sorted(keys)


OPTION_KEYS = _option_keys()

texts = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "${HOME}",
            "${TUNEKIT_FUZZ_UNSET}",
            "${TUNEKIT_FUZZ_UNSET:-fallback}",
            "$${LITERAL}",
            "${",
            "~nosuchuser-tunekit/train.jsonl",
            "a\x00b.jsonl",
            "../" * 40 + "etc/passwd",
            "http://example.com/train.jsonl",
            "http://10.0.0.1/v1",
            "https://example.com",
            "auto",
            "sft",
            "dpo",
            "-1",
            "1e309",
            "x" * 5000,
        ]
    ),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    texts,
)


def _mapping(keys: list[str], values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.one_of(st.sampled_from(keys), st.text(max_size=8)), values, max_size=6)


values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), _mapping(SECTION_KEYS + OPTION_KEYS, inner)),
    max_leaves=12,
)


BASES = {
    "openai": {"model": "gpt-4o-mini-2024-07-18", "provider_options": {"base_url": "http://127.0.0.1:9/v1"}},
    "azure": {"model": "gpt-4.1-mini-2025-04-14", "provider_options": {"endpoint": "https://x.openai.azure.com"}},
    "autotrain": {"model": "HuggingFaceTB/SmolLM2-135M-Instruct", "provider_options": {"namespace": "me"}},
    "local": {"model": "smollm2-135m-instruct", "provider_options": {"device": "cpu"}},
    "together": {"model": "Qwen/Qwen3-8B", "provider_options": {"base_url": "http://127.0.0.1:9"}},
}


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    """A valid config of a real provider with one to four values replaced, added or removed."""
    provider = draw(st.sampled_from(PROVIDERS))
    base = BASES[provider]
    doc: dict[str, Any] = {
        "provider": provider,
        "model": base["model"],
        "data": {"train": "train.jsonl"},
        "provider_options": dict(base["provider_options"]),
    }
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.sampled_from(["top", "section", "option", "drop"]))
        if where == "top":
            doc[draw(st.sampled_from(TOP_KEYS))] = draw(values)
        elif where == "section":
            section = draw(st.sampled_from(["data", "hyperparameters", "lora", "eval", "deploy"]))
            if not isinstance(doc.get(section), dict):
                doc[section] = {}
            doc[section][draw(st.sampled_from(SECTION_KEYS))] = draw(values)
        elif where == "option" and isinstance(doc.get("provider_options"), dict):
            doc["provider_options"][draw(st.sampled_from(OPTION_KEYS))] = draw(values)
        else:
            doc.pop(draw(st.sampled_from(TOP_KEYS)), None)
    return doc


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="tunekit-fuzz-config-") as name:
        yield Path(name)


def _load(path: Path) -> None:
    with contextlib.suppress(TunekitError):
        assert isinstance(load_config(path), TuneConfig)


@FUZZ
@given(raw=st.binary(max_size=600), suffix=st.sampled_from([".yaml", ".yml", ".json", ".txt"]))
def test_any_bytes(folder: Path, raw: bytes, suffix: str) -> None:
    path = folder / f"config{suffix}"
    path.write_bytes(raw)
    _load(path)


@FUZZ
@given(text=st.text(max_size=400))
def test_any_yaml_text(folder: Path, text: str) -> None:
    path = folder / "config.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    _load(path)


@FUZZ
@given(doc=documents(), as_json=st.booleans())
def test_config_shaped_documents(folder: Path, doc: dict[str, Any], as_json: bool) -> None:
    if as_json:
        path = folder / "config.json"
        path.write_text(json.dumps(doc), encoding="utf-8", errors="surrogatepass")
    else:
        path = folder / "config.yaml"
        path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8", errors="surrogatepass")
    _load(path)


@FUZZ
@given(doc=st.one_of(documents(), values))
def test_parse_config_on_any_value(folder: Path, doc: Any) -> None:
    with contextlib.suppress(TunekitError):
        parse_config(doc, base_dir=folder)


# -- documents that expand: YAML aliases -----------------------------------------------------------------


def test_a_self_referring_alias_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "tune.yaml"
    path.write_text("provider: openai\nmodel: m\ndata: {train: t.jsonl}\nmetadata: &loop [*loop]\n")
    with pytest.raises(ConfigError, match=f"nested more than {MAX_DEPTH} levels"):
        load_config(path)


def test_a_billion_laughs_is_refused_before_it_expands(tmp_path: Path) -> None:
    lines = ["provider: openai", "model: m", "data: {train: t.jsonl}", "a0: &a0 [" + ", ".join(["lol"] * 9) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    path = tmp_path / "tune.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match=f"more than {MAX_VALUES} values"):
        load_config(path)


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_nesting_deeper_than_the_parser_can_follow(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"tune{suffix}"
    path.write_text('{"provider": "openai", "metadata": ' + "[" * 50_000 + "]" * 50_000 + "}")
    with pytest.raises(ConfigError, match="nested more than"):
        load_config(path)


def test_aliases_that_stay_small_still_work(tmp_path: Path) -> None:
    path = tmp_path / "tune.yaml"
    path.write_text(
        "provider: openai\nmodel: gpt-4o-mini-2024-07-18\ndata: {train: t.jsonl}\n"
        "metadata: &tags {team: search}\neval: {metrics: [exact_match]}\n"
    )
    assert load_config(path).metadata == {"team": "search"}
