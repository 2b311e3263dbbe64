"""OpenAI grader definitions, run here as evaluation metrics: ``metrics: [grader:path/to/grader.json]``.

A grader file holds one grader object as OpenAI's API defines it (the
``Grader*`` schemas of its OpenAPI description): the same file that
configures a reinforcement fine-tuning job or an Eval scores answers in any
tunekit evaluation, on any provider, without a call to OpenAI. The metric
takes the file's name (``graders/city.json`` → ``city``).

- ``string_check``: ``eq``, ``ne``, ``like`` (the input contains the
  reference), ``ilike`` (the same, ignoring case); 1 or 0.
- ``text_similarity``: ``fuzzy_match`` (the Indel similarity of the two
  strings, ``2 × LCS / (len(a) + len(b))``, which is rapidfuzz's
  ``fuzz.ratio`` / 100), ``bleu`` (sentence BLEU-4 with add-one smoothing of
  the 2- to 4-gram precisions), ``gleu`` (Google's sentence GLEU: the lower of
  n-gram precision and recall over 1- to 4-grams), ``rouge_1`` … ``rouge_5``
  and ``rouge_l`` (F-measures over lower-cased alphanumeric words). Text is
  split into words by whitespace for BLEU and GLEU. ``meteor`` (needs WordNet)
  and ``cosine`` (needs an embedding model) are refused with that reason.
- ``python``: the ``source`` must define ``grade(sample, item) -> float``; it
  runs in this process, as a ``module:function`` scorer does.
- ``score_model`` and ``label_model``: the grader's ``input`` messages,
  templated, go to its ``model`` through the evaluation's provider; the reply
  is a number in ``range`` (default ``[0, 1]``, scaled to 0-1) or one of the
  ``labels`` (1 when among ``passing_labels``). A reply that is neither leaves
  that answer without a score (counted in the log), never a 0.
- ``multi``: its ``graders`` by name, combined by ``calculate_output``
  (arithmetic, ``min``, ``max``, ``abs``).

Templates (:mod:`tunekit.evaluate.grader_templates`): ``{{sample.output_text}}``
is the candidate's answer, ``{{sample.output_json.<path>}}`` the answer parsed
as JSON (an answer that is not JSON, or lacks the path, scores 0),
``{{sample.choices[0].message.content}}`` the answer as a chat choice;
``{{item.reference}}`` (also ``item.label``, ``item.answer``,
``item.ground_truth``, ``item.expected``) is the held-out reference answer and
``{{item.<field>}}`` any other field of the example, nested paths included
(``{{item.address.city}}``, ``{{item.steps[0]}}``). A variable of no known
form is refused when the file is read; an item variable some example lacks,
before any model is asked (:meth:`Grader.check_items`). A python grader's
``grade(sample, item)`` receives the same two namespaces as dicts. A
``pass_threshold`` (Evals' graders) turns the score into pass (1) or fail (0).
"""

from __future__ import annotations

import ast
import json
import math
import operator
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from tunekit.errors import ConfigError
from tunekit.evaluate.grader_templates import (
    REFERENCE_NAMES,
    SampleMismatch,
    Scope,
    Template,
    TemplateError,
    item_of,
    missing_in,
    sample_of,
)
from tunekit.secrets import get_logger

if TYPE_CHECKING:
    from tunekit.inference.base import ChatClient

__all__ = ["GRADER_PREFIX", "Grader", "ModelClients", "Unscored", "load_grader", "text_similarity"]

logger = get_logger("tunekit.evaluate")

GRADER_PREFIX = "grader:"

ModelClients = Callable[[str], "ChatClient"]
"""Gives the chat client of a grader's ``model`` (the evaluation's provider decides how)."""

Scorer = Callable[[str, str], float]
"""A text similarity measure: ``measure(input, reference)``."""

Grade = Callable[[Scope], float]
"""One grader's score of an answer, from the ``sample`` and ``item`` namespaces."""


class Unscored(Exception):
    """An answer the grader could not score (a model grader's unreadable reply): left out, never a 0."""


# -- text similarity ------------------------------------------------------------------------


def _lcs(a: Sequence[Any], b: Sequence[Any]) -> int:
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def _ngrams(words: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


def _rouge_words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).split()


def _f1(overlap: float, predicted: int, expected: int) -> float:
    if overlap == 0 or predicted == 0 or expected == 0:
        return 0.0
    precision, recall = overlap / predicted, overlap / expected
    return 2 * precision * recall / (precision + recall)


def fuzzy_match(prediction: str, reference: str) -> float:
    if not prediction and not reference:
        return 1.0
    return 2 * _lcs(prediction, reference) / (len(prediction) + len(reference))


def bleu(prediction: str, reference: str) -> float:
    predicted, expected = prediction.split(), reference.split()
    if not predicted or not expected:
        return float(predicted == expected)
    logs = 0.0
    for n in range(1, 5):
        mine, theirs = _ngrams(predicted, n), _ngrams(expected, n)
        matched, total = sum((mine & theirs).values()), max(sum(mine.values()), 0)
        if n == 1:
            if matched == 0:
                return 0.0
            logs += math.log(matched / total)
        else:
            logs += math.log((matched + 1) / (total + 1))
    brevity = 1.0 if len(predicted) > len(expected) else math.exp(1 - len(expected) / len(predicted))
    return brevity * math.exp(logs / 4)


def gleu(prediction: str, reference: str) -> float:
    predicted, expected = prediction.split(), reference.split()
    matched = mine = theirs = 0
    for n in range(1, 5):
        a, b = _ngrams(predicted, n), _ngrams(expected, n)
        matched += sum((a & b).values())
        mine += sum(a.values())
        theirs += sum(b.values())
    if mine == 0 or theirs == 0:
        return float(mine == theirs)
    return min(matched / mine, matched / theirs)


def rouge_n(n: int) -> Scorer:
    def rouge(prediction: str, reference: str) -> float:
        a, b = _ngrams(_rouge_words(prediction), n), _ngrams(_rouge_words(reference), n)
        return _f1(sum((a & b).values()), sum(a.values()), sum(b.values()))

    return rouge


def rouge_l(prediction: str, reference: str) -> float:
    a, b = _rouge_words(prediction), _rouge_words(reference)
    return _f1(_lcs(a, b), len(a), len(b))


_SIMILARITY: dict[str, Scorer] = {
    "fuzzy_match": fuzzy_match,
    "bleu": bleu,
    "gleu": gleu,
    **{f"rouge_{n}": rouge_n(n) for n in range(1, 6)},
    "rouge_l": rouge_l,
}
_NOT_HERE = {
    "meteor": "meteor needs WordNet synonyms (nltk and its data), which tunekit does not download",
    "cosine": "cosine needs an embedding model; use a score_model grader or a module:function scorer",
}


def text_similarity(metric: str) -> Scorer:
    """The scorer of a ``text_similarity`` grader's ``evaluation_metric``."""
    if metric in _SIMILARITY:
        return _SIMILARITY[metric]
    if metric in _NOT_HERE:
        raise ConfigError(f"evaluation_metric {metric!r} cannot run locally: {_NOT_HERE[metric]}")
    raise ConfigError(f"unknown evaluation_metric {metric!r} (one of {', '.join([*_SIMILARITY, *_NOT_HERE])})")


# -- the metric ---------------------------------------------------------------------------------


class _Item(Protocol):
    """A held-out example (:class:`tunekit.evaluate.candidates.EvalItem`)."""

    @property
    def where(self) -> str: ...
    @property
    def reference(self) -> str: ...
    @property
    def fields(self) -> Mapping[str, Any]: ...


class Grader:
    """A grader file as a metric: ``grader(prediction, reference, **fields)``, the fields being the example's."""

    def __init__(self, path: Path, grade: Grade, templates: Sequence[tuple[str, Template]]) -> None:
        self.path = path
        self._grade = grade
        self.templates = list(templates)
        """Every template of the file, under its key (``input``, ``graders.exact.reference``, ...)."""

    def __call__(self, prediction: str, reference: str, **fields: Any) -> float:
        return self._grade(Scope(sample_of(prediction), item_of(reference, fields)))

    @property
    def columns(self) -> tuple[str, ...]:
        """The example fields the templates read (the reference's own names aside)."""
        names = (v.path[0] for _, t in self.templates for v in t.item_variables)
        return tuple(dict.fromkeys(str(n) for n in names if n not in REFERENCE_NAMES))

    def check_items(self, items: Iterable[_Item]) -> None:
        """Refuse data an item variable finds nothing in, naming the file, the key, the variable and the example."""
        for item in items:
            found = missing_in(self.templates, item_of(item.reference, item.fields))
            if found is not None:
                key, variable = found
                fields = ", ".join(sorted(map(str, item.fields))) or "none"
                raise ConfigError(
                    f"{self.path}: {key}: {{{{{variable.written}}}}} finds nothing in example {item.where} "
                    f"(its fields: {fields}; the reference answer is item.reference)"
                )


# -- templates --------------------------------------------------------------------------------


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, Mapping):
        return str(content.get("text", ""))
    if isinstance(content, list):
        return "".join(_text_of(part) for part in content if not (isinstance(part, Mapping) and "image_url" in part))
    return ""


# -- the grader types ---------------------------------------------------------------------------


class _Reader:
    """Reads one grader object, naming the file and the key in every error."""

    def __init__(self, path: Path, models: ModelClients | None) -> None:
        self.path = path
        self.models = models
        self.templates: list[tuple[str, Template]] = []

    def template(self, text: str, key: str) -> Template:
        """``text`` parsed as a template; a variable of no known form is refused here, naming the key."""
        try:
            template = Template(text)
        except TemplateError as exc:
            raise self.fail(key, f"template variable {exc}") from None
        self.templates.append((key, template))
        return template

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.path}: {key}: {message}")

    def need(self, spec: Mapping[str, Any], key: str, where: str, kind: type = str) -> Any:
        if key not in spec:
            raise self.fail(f"{where}{key}", "missing (required for this grader type)")
        value = spec[key]
        if not isinstance(value, kind):
            raise self.fail(f"{where}{key}", f"expected {kind.__name__}, got {type(value).__name__}")
        return value

    def grader(self, spec: Any, where: str = "") -> Grade:
        if not isinstance(spec, Mapping):
            raise self.fail(where.rstrip(".") or "(top level)", "a grader must be a JSON object")
        kind = self.need(spec, "type", where)
        build = {
            "string_check": self.string_check,
            "text_similarity": self.similarity,
            "python": self.python,
            "score_model": self.score_model,
            "label_model": self.label_model,
            "multi": self.multi,
        }.get(kind)
        if build is None:
            raise self.fail(
                f"{where}type",
                f"unknown grader type {kind!r} (string_check, text_similarity, python, "
                "score_model, label_model, multi)",
            )
        scorer = build(spec, where)
        threshold = spec.get("pass_threshold")
        if threshold is None:
            return scorer
        if not isinstance(threshold, (int, float)):
            raise self.fail(f"{where}pass_threshold", "expected a number")
        return lambda scope: float(scorer(scope) >= threshold)

    def _pair(self, spec: Mapping[str, Any], where: str) -> tuple[Template, Template]:
        source, target = self.need(spec, "input", where), self.need(spec, "reference", where)
        return self.template(source, f"{where}input"), self.template(target, f"{where}reference")

    def string_check(self, spec: Mapping[str, Any], where: str) -> Grade:
        source, target = self._pair(spec, where)
        op = self.need(spec, "operation", where)
        checks: dict[str, Callable[[str, str], bool]] = {
            "eq": operator.eq,
            "ne": operator.ne,
            "like": lambda a, b: b in a,
            "ilike": lambda a, b: b.lower() in a.lower(),
        }
        if op not in checks:
            raise self.fail(f"{where}operation", f"unknown operation {op!r} (eq, ne, like, ilike)")
        check = checks[op]
        return _zero_on_mismatch(lambda scope: float(check(source.render(scope), target.render(scope))))

    def similarity(self, spec: Mapping[str, Any], where: str) -> Grade:
        source, target = self._pair(spec, where)
        try:
            measure = text_similarity(self.need(spec, "evaluation_metric", where))
        except ConfigError as exc:
            raise self.fail(f"{where}evaluation_metric", str(exc)) from None
        return _zero_on_mismatch(lambda scope: measure(source.render(scope), target.render(scope)))

    def python(self, spec: Mapping[str, Any], where: str) -> Grade:
        source = self.need(spec, "source", where)
        namespace: dict[str, Any] = {"__name__": f"tunekit_grader_{self.path.stem}"}
        try:
            exec(compile(source, f"{self.path}:{where}source", "exec"), namespace)  # the user's own grader
        except Exception as exc:
            raise self.fail(f"{where}source", f"does not run: {type(exc).__name__}: {exc}") from None
        grade = namespace.get("grade")
        if not callable(grade):
            raise self.fail(f"{where}source", "defines no function grade(sample, item)")

        def run(scope: Scope) -> float:
            # As OpenAI's python graders: output_json is None for an answer that is not JSON.
            return float(grade({"output_json": None, **scope.sample}, dict(scope.item)))

        return run

    def _messages(self, spec: Mapping[str, Any], where: str) -> list[tuple[str, Template]]:
        raw = self.need(spec, "input", where, list)
        messages = []
        for index, message in enumerate(raw):
            if not isinstance(message, Mapping):
                raise self.fail(f"{where}input[{index}]", "expected a message object")
            text = self.template(_text_of(message.get("content")), f"{where}input[{index}].content")
            messages.append((str(message.get("role", "user")), text))
        return messages

    def _client(self, spec: Mapping[str, Any], where: str) -> Callable[[], ChatClient]:
        """The model's client, made when the first answer is graded (reading the file asks no model)."""
        model = self.need(spec, "model", where)
        made: list[ChatClient] = []

        def client() -> ChatClient:
            if not made:
                if self.models is None:
                    raise self.fail(f"{where}model", "a model grader needs the evaluation's provider (tunekit eval)")
                made.append(self.models(model))
            return made[0]

        return client

    def _ask(
        self,
        client: Callable[[], ChatClient],
        messages: list[tuple[str, Template]],
        scope: Scope,
        params: dict[str, Any],
    ) -> str:
        rendered = [{"role": role, "content": text.render(scope)} for role, text in messages]
        chat = client()
        result = chat.chat(rendered, **params)
        if result.error is not None:
            raise Unscored(f"the grader model failed: {result.error}")
        logger.debug("grader %s: %d prompt + %d completion tokens", chat.model, *_usage(result))
        return result.text

    def score_model(self, spec: Mapping[str, Any], where: str) -> Grade:
        messages = self._messages(spec, where)
        low, high = spec.get("range") or [0, 1]
        if not (isinstance(low, (int, float)) and isinstance(high, (int, float)) and high > low):
            raise self.fail(f"{where}range", "expected [low, high] with low < high")
        sampling = spec.get("sampling_params") or {}
        params = {"temperature": sampling.get("temperature", 0.0), "max_tokens": sampling.get("max_completions_tokens")}
        client = self._client(spec, where)

        def run(scope: Scope) -> float:
            text = self._ask(client, messages, scope, {k: v for k, v in params.items() if v is not None})
            found = re.search(r"-?\d+(?:\.\d+)?", text)
            value = float(found.group(0)) if found else math.nan
            if not low <= value <= high:
                raise Unscored(f"the grader model replied {text[:80]!r}, not a number in [{low}, {high}]")
            return (value - low) / (high - low)

        return _zero_on_mismatch(run)

    def label_model(self, spec: Mapping[str, Any], where: str) -> Grade:
        messages = self._messages(spec, where)
        labels = [str(label) for label in self.need(spec, "labels", where, list)]
        passing = {str(label) for label in self.need(spec, "passing_labels", where, list)}
        if not passing <= set(labels):
            raise self.fail(f"{where}passing_labels", "must be a subset of labels")
        client = self._client(spec, where)
        pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(labels, key=len, reverse=True))) + r")\b", re.I)

        def run(scope: Scope) -> float:
            text = self._ask(client, messages, scope, {"temperature": 0.0})
            found = pattern.search(text)
            if found is None:
                raise Unscored(f"the grader model replied {text[:80]!r}, none of the labels")
            chosen = next(label for label in labels if label.lower() == found.group(1).lower())
            return float(chosen in passing)

        return _zero_on_mismatch(run)

    def multi(self, spec: Mapping[str, Any], where: str) -> Grade:
        raw = spec.get("graders")
        if isinstance(raw, Mapping) and "type" in raw:
            raw = [raw]
        if isinstance(raw, list):  # graders given as a list: each by its name, as an identifier
            raw = {
                re.sub(r"\W+", "_", str(g.get("name") or g.get("type"))).strip("_"): g
                for g in raw
                if isinstance(g, Mapping)
            }
        if not isinstance(raw, Mapping) or not raw:
            raise self.fail(f"{where}graders", "expected graders by name")
        parts = {str(name): self.grader(sub, f"{where}graders.{name}.") for name, sub in raw.items()}
        formula = self.need(spec, "calculate_output", where)
        try:
            tree = ast.parse(formula, mode="eval")
            _check_formula(tree, set(parts))
        except (SyntaxError, ValueError) as exc:
            raise self.fail(f"{where}calculate_output", f"cannot use {formula!r}: {exc}") from None

        def run(scope: Scope) -> float:
            values = {name: part(scope) for name, part in parts.items()}
            return float(_evaluate(tree.body, values))

        return run


def _zero_on_mismatch(grade: Grade) -> Grade:
    """An answer without the JSON a template reads (OpenAI's sample parse error) scores 0, without asking a model."""

    def run(scope: Scope) -> float:
        try:
            return grade(scope)
        except SampleMismatch as exc:
            logger.debug("%s; scored 0", exc)
            return 0.0

    return run


def _usage(result: Any) -> tuple[int, int]:
    return result.usage.prompt_tokens, result.usage.completion_tokens


_BINARY: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_FUNCTIONS: dict[str, Callable[..., float]] = {"min": min, "max": max, "abs": abs}


def _check_formula(tree: ast.AST, names: set[str]) -> None:
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in names and node.id not in _FUNCTIONS:
            raise ValueError(f"no grader named {node.id!r} (graders: {', '.join(sorted(names))})")
        allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.USub, ast.UAdd, ast.Constant, ast.Name, ast.Load)
        if not isinstance(node, (*allowed, ast.Call, *_BINARY)):
            raise ValueError(f"{type(node).__name__} is not allowed (arithmetic, min, max, abs)")


def _evaluate(node: ast.AST, values: Mapping[str, float]) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return float(node.value)
    if isinstance(node, ast.Name):
        return values[node.id]
    if isinstance(node, ast.UnaryOp):
        value = _evaluate(node.operand, values)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](_evaluate(node.left, values), _evaluate(node.right, values))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS:
        return float(_FUNCTIONS[node.func.id](*(_evaluate(arg, values) for arg in node.args)))
    raise ValueError(f"cannot evaluate {ast.dump(node)}")


def load_grader(spec: str, *, models: ModelClients | None = None) -> tuple[str, Grader]:
    """``(metric name, scorer)`` of ``grader:path/to/grader.json``; every problem names the file and the key."""
    path = Path(spec.removeprefix(GRADER_PREFIX)).expanduser()
    if not path.is_file():
        raise ConfigError(f"grader {spec!r}: no file {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not a JSON grader: {exc}") from None
    if isinstance(data, Mapping) and isinstance(data.get("grader"), Mapping):
        data = data["grader"]  # a fine-tuning job's method section: {"grader": {...}}
    reader = _Reader(path, models)
    grade = reader.grader(data)
    return path.stem, Grader(path, grade, reader.templates)
