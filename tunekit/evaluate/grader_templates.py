"""The ``{{namespace.variable}}`` templates of OpenAI grader files, filled the way OpenAI's graders fill them.

A template variable names a namespace and a path into it, dotted, with
``[n]`` for a list index: ``{{item.answer.city}}``, ``{{sample.output_json.steps[0]}}``.

- ``item`` is the held-out example: its reference answer under ``reference``
  (also ``label``, ``answer``, ``ground_truth`` and ``expected``, unless the
  example has a field of that name) and every other field of the example by
  name. Which item variables the data lacks is checked against every example
  before any model is asked (:meth:`Template.missing`).
- ``sample`` is the candidate's answer: ``output_text`` (the text),
  ``output_json`` (the text parsed as JSON; an answer that is not JSON, or
  lacks the path, scores 0, as OpenAI marks a sample parse error) and
  ``choices`` (one choice, as the chat completions API shapes it:
  ``choices[0].message.content`` is the text). ``output_tools`` and
  ``output_audio`` are refused: an evaluation keeps the answer's text only.

A string value is placed as written; any other value as JSON. Anything else
between double braces is refused when the file is read, naming the variable.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "REFERENCE_NAMES",
    "SampleMismatch",
    "Scope",
    "Template",
    "TemplateError",
    "Variable",
    "item_of",
    "missing_in",
    "sample_of",
]

REFERENCE_NAMES = ("reference", "label", "answer", "ground_truth", "expected")
"""The item names of the reference answer (a field of the example by one of these names wins)."""

_BRACES = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_VARIABLE = re.compile(r"\s*([A-Za-z_]\w*)((?:\.[^\s.\[\]{}]+|\[\d+\])*)\s*")
_STEP = re.compile(r"\.([^\s.\[\]{}]+)|\[(\d+)\]")

_SAMPLE_ROOTS = ("output_text", "output_json", "choices")
_CHOICE_PATHS = {(), (0,), (0, "index"), (0, "message"), (0, "message", "role"), (0, "message", "content")}
_NOT_KEPT = {
    "output_tools": "tool calls",
    "output_audio": "audio",
}

Path = tuple[str | int, ...]


class TemplateError(ValueError):
    """A template that cannot be filled: the variable as written, and why."""


class SampleMismatch(Exception):
    """The answer lacks what the template reads from it (not JSON, or no such path): it scores 0."""


@dataclass(frozen=True)
class Variable:
    """One ``{{namespace.path}}``: as written, and parsed."""

    written: str
    namespace: str
    path: Path


@dataclass(frozen=True)
class Scope:
    """What one answer's templates are filled from: the ``sample`` and ``item`` namespaces."""

    sample: Mapping[str, Any]
    item: Mapping[str, Any]


def sample_of(prediction: str) -> dict[str, Any]:
    """The ``sample`` namespace of an answer: its text, one choice, and the text as JSON when it parses as JSON."""
    sample: dict[str, Any] = {
        "output_text": prediction,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": prediction}}],
    }
    with contextlib.suppress(ValueError, RecursionError):  # as OpenAI: output_json only for an answer that is JSON
        sample["output_json"] = json.loads(prediction)
    return sample


def item_of(reference: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The ``item`` namespace of an example: the reference under its names, then the example's fields."""
    return {**dict.fromkeys(REFERENCE_NAMES, reference), **fields, "reference": reference}


def _parse(written: str) -> Variable:
    match = _VARIABLE.fullmatch(written)
    if match is None:
        raise TemplateError(
            f"{{{{{written}}}}} is not a template variable ({{{{item.field}}}} or {{{{sample.field}}}})"
        )
    namespace, rest = match.groups()
    path: list[str | int] = [key if key else int(index) for key, index in _STEP.findall(rest)]
    variable = Variable(f"{namespace}{rest}", namespace, tuple(path))
    if namespace not in ("item", "sample"):
        raise TemplateError(f"{{{{{variable.written}}}}}: unknown namespace {namespace!r} (item or sample)")
    if not path or not isinstance(path[0], str):
        raise TemplateError(f"{{{{{variable.written}}}}}: name a variable of {namespace} ({{{{{namespace}.name}}}})")
    if namespace == "sample":
        _check_sample(variable)
    return variable


def _check_sample(variable: Variable) -> None:
    root, rest = variable.path[0], variable.path[1:]
    if root in _NOT_KEPT:
        raise TemplateError(
            f"{{{{{variable.written}}}}}: tunekit evaluates text answers and keeps no {_NOT_KEPT[str(root)]}; "
            "use sample.output_text, sample.output_json or sample.choices"
        )
    if root not in _SAMPLE_ROOTS:
        raise TemplateError(
            f"{{{{{variable.written}}}}}: unknown sample variable {root!r} (output_text, output_json, choices)"
        )
    if root == "output_text" and rest:
        raise TemplateError(f"{{{{{variable.written}}}}}: output_text is a string; read fields with output_json")
    if root == "choices" and rest not in _CHOICE_PATHS:
        raise TemplateError(
            f"{{{{{variable.written}}}}}: an evaluated answer has one choice; read choices[0].message.content"
        )


def _lookup(value: Any, path: Path) -> tuple[bool, Any]:
    for step in path:
        if isinstance(step, int):
            if not isinstance(value, list) or step >= len(value):
                return False, None
            value = value[step]
        elif isinstance(value, Mapping) and step in value:
            value = value[step]
        else:
            return False, None
    return True, value


def _placed(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


class Template:
    """A grader string with its variables parsed (a TemplateError says which one is wrong)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._parsed = {written: _parse(written) for written in _BRACES.findall(text)}
        self.variables = list(self._parsed.values())

    @property
    def item_variables(self) -> list[Variable]:
        return [v for v in self.variables if v.namespace == "item"]

    def missing(self, item: Mapping[str, Any]) -> Variable | None:
        """The first item variable ``item`` has no value for, or None."""
        return next((v for v in self.item_variables if not _lookup(item, v.path)[0]), None)

    def render(self, scope: Scope) -> str:
        """The text with every variable filled; SampleMismatch when the answer lacks a sample path it reads."""
        if not self.variables:
            return self.text

        def fill(match: re.Match[str]) -> str:
            variable = self._parsed[match.group(1)]
            if variable.namespace == "sample":
                found, value = _lookup(scope.sample, variable.path)
                if not found:  # only output_json's paths can be absent: the others were checked when read
                    raise SampleMismatch(f"the answer has no {variable.written} (not JSON, or no such field)")
            else:
                found, value = _lookup(scope.item, variable.path)
                if not found:
                    raise TemplateError(f"{{{{{variable.written}}}}}: the example has no such field")
            return _placed(value)

        return _BRACES.sub(fill, self.text)


def missing_in(templates: Sequence[tuple[str, Template]], item: Mapping[str, Any]) -> tuple[str, Variable] | None:
    """The first ``(key, variable)`` of ``templates`` (each under its key in the grader file) ``item`` lacks."""
    for key, template in templates:
        variable = template.missing(item)
        if variable is not None:
            return key, variable
    return None
