"""What an emulated fine-tuning job "learns": file validation, memorized replies and a loss curve.

A succeeded job memorizes, for every training example, the assistant reply that follows the last
user message (normalized: case-folded, whitespace collapsed). Its fine-tuned model answers a
matching conversation with that reply, so an evaluation of tuned vs base model measures a real
difference. The loss curve is synthetic but deterministic per (seed, job id).
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tunekit_emulators.openai.tokens import count_message_tokens, message_text

__all__ = [
    "RESULTS_HEADER",
    "TrainingData",
    "generate_metrics",
    "normalize_prompt",
    "parse_training_file",
    "results_csv",
    "sampled_base_answer",
    "sampled_form",
]

RESULTS_HEADER = ("step", "train_loss", "train_accuracy", "valid_loss", "valid_mean_token_accuracy")
_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
_MAX_REPORTED_ERRORS = 5
_MAX_METRIC_POINTS = 200


def normalize_prompt(text: str) -> str:
    return " ".join(text.casefold().split())


@dataclass
class TrainingData:
    """The parsed file: example count, token count, memorized replies and the problems found."""

    examples: int = 0
    tokens: int = 0
    replies: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.errors


def _check_messages(messages: Any, where: str) -> str | None:
    if not isinstance(messages, list) or not messages:
        return f"{where}: 'messages' must be a non-empty list"
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            return f"{where}: messages[{index}] must be an object"
        role = message.get("role")
        if role not in _ROLES:
            return f"{where}: messages[{index}] has invalid role {role!r}"
        if "content" not in message and not message.get("tool_calls") and not message.get("function_call"):
            return f"{where}: messages[{index}] is missing 'content'"
    return None


def _last_user_and_reply(messages: Sequence[Mapping[str, Any]]) -> tuple[str, str] | None:
    reply_index = next((i for i in range(len(messages) - 1, -1, -1) if messages[i].get("role") == "assistant"), None)
    if reply_index is None:
        return None
    user = next((messages[i] for i in range(reply_index - 1, -1, -1) if messages[i].get("role") == "user"), None)
    if user is None:
        return None
    return message_text(user), message_text(messages[reply_index])


def _parse_line(record: Any, where: str, method: str, data: TrainingData) -> str | None:
    if not isinstance(record, dict):
        return f"{where}: each line must be a JSON object"
    if method == "dpo":
        prompt = record.get("input")
        if not isinstance(prompt, dict):
            return f"{where}: missing 'input' object"
        problem = _check_messages(prompt.get("messages"), where)
        if problem:
            return problem
        preferred, rejected = record.get("preferred_output"), record.get("non_preferred_output")
        for key, value in (("preferred_output", preferred), ("non_preferred_output", rejected)):
            if not isinstance(value, list) or not value or not isinstance(value[0], dict):
                return f"{where}: '{key}' must be a non-empty list of assistant messages"
        assert isinstance(preferred, list)
        messages = [*prompt["messages"], preferred[0]]
    else:
        problem = _check_messages(record.get("messages"), where)
        if problem:
            return problem
        messages = record["messages"]
        if method == "supervised" and not any(m.get("role") == "assistant" for m in messages):
            return f"{where}: no assistant message to train on"
    data.tokens += count_message_tokens(messages)
    pair = _last_user_and_reply(messages)
    if pair is not None:
        data.replies[normalize_prompt(pair[0])] = pair[1]
    return None


def parse_training_file(content: bytes, method: str = "supervised") -> TrainingData:
    """Validate a JSONL training file for ``method`` as the fine-tuning service does, line by line."""
    data = TrainingData()
    try:
        text = content.decode("utf-8-sig")  # Azure's tooling writes a byte-order mark, and Azure accepts it
    except UnicodeDecodeError:
        data.errors.append("file is not valid UTF-8")
        return data
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            problem: str | None = f"{where}: invalid JSON ({exc.msg})"
        else:
            problem = _parse_line(record, where, method, data)
        if problem:
            if len(data.errors) < _MAX_REPORTED_ERRORS:
                data.errors.append(problem)
            continue
        data.examples += 1
    return data


def generate_metrics(key: str, total_steps: int, *, with_validation: bool) -> list[dict[str, Any]]:
    """A decaying, slightly noisy loss curve; at most ~200 points (always including the last step)."""
    rng = random.Random(key)
    total_steps = max(1, total_steps)
    stride = max(1, math.ceil(total_steps / _MAX_METRIC_POINTS))
    steps = list(range(1, total_steps + 1, stride))
    if steps[-1] != total_steps:
        steps.append(total_steps)
    start, floor = 1.6 + rng.random() * 0.8, 0.05 + rng.random() * 0.15
    points: list[dict[str, Any]] = []
    for step in steps:
        progress = step / total_steps
        loss = floor + (start - floor) * math.exp(-3.5 * progress) + rng.uniform(-0.04, 0.04)
        loss = max(0.01, loss)
        point: dict[str, Any] = {
            "step": step,
            "train_loss": round(loss, 5),
            "train_mean_token_accuracy": round(min(0.999, max(0.0, 1.0 - loss / 2.6)), 5),
        }
        if with_validation:
            valid = max(0.01, loss * (1.05 + 0.1 * progress) + rng.uniform(-0.02, 0.02))
            point["valid_loss"] = round(valid, 5)
            point["valid_mean_token_accuracy"] = round(min(0.999, max(0.0, 1.0 - valid / 2.6)), 5)
        points.append(point)
    last = points[-1]
    if with_validation:
        last["full_valid_loss"] = last["valid_loss"]
        last["full_valid_mean_token_accuracy"] = last["valid_mean_token_accuracy"]
    return points


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def results_csv(points: Sequence[Mapping[str, Any]]) -> bytes:
    """The ``step_metrics.csv``-style result file OpenAI attaches to a succeeded job."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(RESULTS_HEADER)
    for point in points:
        accuracy = point.get("train_mean_token_accuracy", point.get("train_accuracy"))
        writer.writerow(
            [
                _cell(point.get("step")),
                _cell(point.get("train_loss")),
                _cell(accuracy),
                _cell(point.get("valid_loss")),
                _cell(point.get("valid_mean_token_accuracy")),
            ]
        )
    return out.getvalue().encode()


_WORD = re.compile(r"\S+")


def base_model_answer(prompt: str) -> str:
    """What an untuned model says: the first line of the user's message, echoed back.

    Deterministic and plausibly shaped, and different from any real target, so tuned-vs-base
    evaluations show the gap a real fine-tune would.
    """
    first = next((line.strip() for line in prompt.splitlines() if line.strip()), "")
    words = _WORD.findall(first)[:40]
    return " ".join(words) if words else "Hello! How can I help you today?"


_SAMPLED_FORMS = (
    "{answer}",
    "I think: {answer}",
    "{answer} Let me know if you need more.",
    "Hello! How can I help you today?",
)
"""The few replies an untuned model samples among at a temperature above 0."""


def sampled_base_answer(prompt: str, draw: int) -> str:
    """What an untuned model says when asked to sample: the ``draw``-th of a few deterministic variants of its echo.

    A real model sampled at temperature 1 answers one prompt differently each
    time; a reward is judged on those differences (GRPO), so the emulator's
    samples differ too, in a fixed order a test can rely on.
    """
    return sampled_form(base_model_answer(prompt), draw)


def sampled_form(answer: str, draw: int) -> str:
    """The ``draw``-th of the few variants of ``answer`` an untuned model samples among."""
    return _SAMPLED_FORMS[draw % len(_SAMPLED_FORMS)].format(answer=answer)
