"""Scoring a prediction against the reference answer.

Built-in metrics (each scores one answer from 0 to 1):

- ``exact_match``: the answer equals the reference, ignoring surrounding whitespace.
- ``normalized_exact_match``: equal after lower-casing and removing punctuation,
  articles (a, an, the) and extra whitespace (SQuAD's normalization).
- ``token_f1``: F1 of the normalized word overlap (SQuAD's token F1).
- ``json_valid``: the answer parses as JSON.
- ``json_match``: the answer parses as JSON and equals the reference's JSON
  (key order and formatting ignored).
- ``regex``: the whole stripped answer matches the pattern (``eval.regex``).

An OpenAI grader definition is named ``"grader:path/to/grader.json"`` (see
:mod:`tunekit.evaluate.graders`). A Python scorer is named ``"module:function"`` (or ``"path/to/file.py:function"``)
and called as ``function(prediction, reference)``; it returns a number or a bool.
Parameters after those two are the example's other fields, passed by name
(``def score(prediction, reference, schema)`` receives each example's
``schema``); one with a default is optional, ``**fields`` takes them all. The
same function is a reward for reinforcement fine-tuning (``reward:``).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import re
import string
import sys
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunekit.errors import ConfigError
from tunekit.evaluate.graders import GRADER_PREFIX, Grader, ModelClients, load_grader

__all__ = [
    "BUILTIN_METRICS",
    "Metric",
    "exact_match",
    "json_match",
    "json_valid",
    "load_scorer",
    "normalize_answer",
    "normalized_exact_match",
    "regex_match",
    "resolve_metrics",
    "scorer_columns",
    "token_f1",
]

Scorer = Callable[..., float | bool]
"""``scorer(prediction, reference, **fields)``: the fields it names are the example's other columns."""

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.IGNORECASE)
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower-case, drop punctuation and articles, collapse whitespace (as SQuAD scores)."""
    text = text.lower().translate(_PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, reference: str) -> float:
    return float(prediction.strip() == reference.strip())


def normalized_exact_match(prediction: str, reference: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(reference))


def token_f1(prediction: str, reference: str) -> float:
    predicted = normalize_answer(prediction).split()
    expected = normalize_answer(reference).split()
    if not predicted or not expected:
        return float(predicted == expected)
    common = sum((Counter(predicted) & Counter(expected)).values())
    if common == 0:
        return 0.0
    precision = common / len(predicted)
    recall = common / len(expected)
    return 2 * precision * recall / (precision + recall)


def _parse_json(text: str) -> tuple[bool, object]:
    try:
        return True, json.loads(text)
    except (ValueError, RecursionError):
        return False, None


def json_valid(prediction: str, reference: str = "") -> float:
    return float(_parse_json(prediction.strip())[0])


def json_match(prediction: str, reference: str) -> float:
    ok, predicted = _parse_json(prediction.strip())
    if not ok:
        return 0.0
    ok, expected = _parse_json(reference.strip())
    return float(ok and predicted == expected)


def regex_match(pattern: str) -> Scorer:
    """A scorer that checks the whole stripped answer against ``pattern``."""
    try:
        compiled = re.compile(pattern, re.DOTALL)
    except re.error as exc:
        raise ConfigError(f"eval.regex: invalid pattern {pattern!r}: {exc}") from None

    def regex(prediction: str, reference: str = "") -> float:
        return float(compiled.fullmatch(prediction.strip()) is not None)

    return regex


BUILTIN_METRICS: dict[str, Scorer] = {
    "exact_match": exact_match,
    "normalized_exact_match": normalized_exact_match,
    "token_f1": token_f1,
    "json_valid": json_valid,
    "json_match": json_match,
}


@dataclass(frozen=True)
class Metric:
    """A named scorer; ``score`` always returns a float in [0, 1]."""

    name: str
    scorer: Scorer

    @property
    def columns(self) -> tuple[str, ...]:
        """The example fields the scorer needs (its parameters after the first two, without a default; a grader
        file's, the fields its templates read)."""
        if isinstance(self.scorer, Grader):
            return self.scorer.columns
        return scorer_columns(self.scorer)[0]

    def check_items(self, items: Sequence[Any]) -> None:
        """Refuse held-out items a grader file's templates find nothing in (other scorers check nothing here)."""
        if isinstance(self.scorer, Grader):
            self.scorer.check_items(items)

    def fields_for(self, fields: Mapping[str, Any] | None) -> dict[str, Any]:
        """The keyword arguments the scorer takes from an example's other fields."""
        if not fields:
            return {}
        required, optional, takes_all = scorer_columns(self.scorer)
        if takes_all:
            return dict(fields)
        return {name: fields[name] for name in (*required, *optional) if name in fields}

    def score(self, prediction: str, reference: str, fields: Mapping[str, Any] | None = None) -> float:
        value = self.scorer(prediction, reference, **self.fields_for(fields))
        number = float(value)
        if not 0.0 <= number <= 1.0:
            raise ValueError(f"metric {self.name} returned {value!r}; scores must lie between 0 and 1")
        return number


def scorer_columns(scorer: Callable[..., Any]) -> tuple[tuple[str, ...], tuple[str, ...], bool]:
    """A scorer's example fields: (required, optional, takes every field through ``**fields``)."""
    try:
        parameters = list(inspect.signature(scorer).parameters.values())
    except (TypeError, ValueError):  # a builtin without a signature: the two answers only
        return (), (), False
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    named = [p for p in parameters if p.kind in (*positional, inspect.Parameter.KEYWORD_ONLY)]
    extra = [p for p in named if p.kind == inspect.Parameter.KEYWORD_ONLY or named.index(p) >= 2]
    required = tuple(p.name for p in extra if p.default is inspect.Parameter.empty)
    optional = tuple(p.name for p in extra if p.default is not inspect.Parameter.empty)
    takes_all = any(p.kind == inspect.Parameter.VAR_KEYWORD for p in parameters)
    return required, optional, takes_all


def load_scorer(spec: str) -> Scorer:
    """Import ``"package.module:function"`` or ``"path/to/file.py:function"``."""
    target, sep, name = spec.rpartition(":")
    if not sep or not target or not name:
        raise ConfigError(f"scorer {spec!r}: expected 'module:function'")
    if target.endswith(".py"):
        path = Path(target).expanduser()
        if not path.is_file():
            raise ConfigError(f"scorer {spec!r}: no file {path}")
        module_name = f"tunekit_scorer_{path.stem}"
        spec_obj = importlib.util.spec_from_file_location(module_name, path)
        if spec_obj is None or spec_obj.loader is None:
            raise ConfigError(f"scorer {spec!r}: cannot load {path}")
        module = importlib.util.module_from_spec(spec_obj)
        sys.modules[module_name] = module
        spec_obj.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise ConfigError(f"scorer {spec!r}: cannot import {target}: {exc}") from None
    scorer = getattr(module, name, None)
    if not callable(scorer):
        raise ConfigError(f"scorer {spec!r}: {target} has no function {name}")
    return scorer  # type: ignore[no-any-return]


def resolve_metrics(
    names: Sequence[str | Metric], *, regex: str | None = None, models: ModelClients | None = None
) -> list[Metric]:
    """Metrics from names (built-ins, ``regex``, ``grader:path.json`` or ``module:function``), in the given order.

    ``models`` gives model graders (``score_model``, ``label_model``) their chat client.
    """
    metrics: list[Metric] = []
    for item in names:
        if isinstance(item, Metric):
            metrics.append(item)
        elif item == "regex":
            if not regex:
                raise ConfigError("the regex metric needs a pattern (eval.regex)")
            metrics.append(Metric("regex", regex_match(regex)))
        elif item in BUILTIN_METRICS:
            metrics.append(Metric(item, BUILTIN_METRICS[item]))
        elif item.startswith(GRADER_PREFIX):
            metrics.append(Metric(*load_grader(item, models=models)))
        elif ":" in item:
            metrics.append(Metric(item.rpartition(":")[2], load_scorer(item)))
        else:
            known = ", ".join([*BUILTIN_METRICS, "regex"])
            raise ConfigError(f"unknown metric {item!r} (built-in: {known}; 'grader:file.json'; or 'module:function')")
    if not metrics:
        raise ConfigError("give at least one metric")
    names_seen = [m.name for m in metrics]
    if len(set(names_seen)) != len(names_seen):
        raise ConfigError(f"metric names repeat: {names_seen}")
    return metrics
