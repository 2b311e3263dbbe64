"""Reward functions for reinforcement fine-tuning: evaluation metrics, scored on sampled completions.

A reward is a metric (:mod:`tunekit.evaluate.metrics`): a built-in name or
``"module:function"`` called as ``function(prediction, reference, **fields)``,
where ``fields`` are the example's other columns, by name. So the function a
user writes once scores the evaluation, drives local GRPO training, and (where
the service can run it) becomes a hosted grader.

Before any training, :func:`check_reward_columns` refuses a reward that needs a
column the data lacks, and :func:`check_reward_spread` refuses one that raises
or that gives every completion of a prompt the same score: GRPO learns only from
differences between the completions of one prompt, so such a reward teaches
nothing (loss and reward stay flat, the most reported GRPO failure).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tunekit.errors import ConfigError
from tunekit.evaluate.candidates import EvalItem, eval_items
from tunekit.evaluate.metrics import Metric, resolve_metrics

__all__ = [
    "RewardFunction",
    "RewardSpread",
    "check_reward_columns",
    "check_reward_data",
    "check_reward_spread",
    "resolve_rewards",
    "reward_items",
    "reward_rows",
]

SPREAD_EPSILON = 1e-9
"""Scores closer than this count as equal."""


def resolve_rewards(names: Sequence[str | Metric]) -> list[Metric]:
    """The reward functions a config names (the ``reward`` list), loaded; a ConfigError names a bad one."""
    if not names:
        raise ConfigError("reward: give at least one reward function (a metric name or module:function)")
    try:
        return resolve_metrics(names)
    except ConfigError as exc:
        raise ConfigError(f"reward: {exc}") from None


def reward_items(examples: Sequence[Any]) -> list[EvalItem]:
    """Prompts, references (the last answer) and other fields of chat or prompt-completion examples."""
    return eval_items(examples)


def reward_rows(items: Sequence[EvalItem]) -> list[dict[str, Any]]:
    """Rows for TRL's GRPO trainer: the prompt, the reference, the other fields as one JSON text, and ``file:line``.

    The fields travel as JSON so that columns of any shape (and a user column
    named like TRL's own) survive the dataset library unchanged.
    """
    return [
        {
            "prompt": item.prompt,
            "reference": item.reference,
            "fields": json.dumps(dict(item.fields)),
            "source": item.where,
        }
        for item in items
    ]


def check_reward_columns(rewards: Sequence[Metric], items: Sequence[EvalItem]) -> None:
    """Refuse a reward that needs a column some example lacks, naming the reward, the column and the example."""
    problems = []
    for reward in rewards:
        for column in reward.columns:
            missing = [item for item in items if column not in item.fields]
            if missing:
                where = missing[0].where
                problems.append(
                    f"reward {reward.name}: needs the column {column!r}, which {len(missing)} of {len(items)} "
                    f"examples lack (first: {where})"
                )
    if problems:
        raise ConfigError("a reward function needs data the examples do not carry", problems=problems)


def check_reward_data(names: Sequence[str | Metric], *splits: Sequence[Any] | None) -> None:
    """Before anything is uploaded: every reward finds the columns it reads in every example of every split."""
    rewards = resolve_rewards(names)
    for examples in splits:
        if examples:
            check_reward_columns(rewards, reward_items(examples))


@dataclass
class RewardSpread:
    """What one reward gave the sampled completions: its range, and how many prompts it told apart."""

    name: str
    mean: float = 0.0
    low: float = 0.0
    high: float = 0.0
    prompts: int = 0
    prompts_with_spread: int = 0
    samples: int = 0
    scores: list[list[float]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "mean": round(self.mean, 4),
            "min": round(self.low, 4),
            "max": round(self.high, 4),
            "prompts": self.prompts,
            "prompts_with_spread": self.prompts_with_spread,
            "samples": self.samples,
        }


def check_reward_spread(
    rewards: Sequence[Metric], groups: Sequence[tuple[EvalItem, Sequence[str]]]
) -> list[RewardSpread]:
    """Score each prompt's sampled completions with every reward; refuse a reward that raises or never varies.

    ``groups`` pairs each prompt with the completions the base model sampled for
    it. A reward is refused when, on every prompt, all its completions score the
    same: GRPO's advantage (a completion's reward minus its group's mean) is then
    zero everywhere and training changes nothing.
    """
    spreads = []
    problems = []
    for reward in rewards:
        spread = RewardSpread(reward.name)
        for item, completions in groups:
            row = []
            for completion in completions:
                try:
                    row.append(reward.score(completion, item.reference, item.fields))
                except Exception as exc:  # a user's function: say which one broke, on what
                    raise ConfigError(
                        f"reward {reward.name} raised {type(exc).__name__}: {exc} (example {item.where}, "
                        f"completion {completion[:80]!r})"
                    ) from exc
            spread.scores.append(row)
            if row and max(row) - min(row) > SPREAD_EPSILON:
                spread.prompts_with_spread += 1
        flat = [s for row in spread.scores for s in row]
        spread.prompts, spread.samples = len(groups), len(flat)
        if flat:
            spread.mean, spread.low, spread.high = math.fsum(flat) / len(flat), min(flat), max(flat)
        spreads.append(spread)
        if flat and spread.prompts_with_spread == 0:
            same = f"{spread.low:g}" if spread.high - spread.low <= SPREAD_EPSILON else "the same score per prompt"
            problems.append(
                f"reward {reward.name}: gave {same} to every completion of each of {spread.prompts} prompts "
                f"({spread.samples} samples of the base model): GRPO learns from differences between the "
                "completions of one prompt, so this reward would teach nothing (give partial credit, or tune with "
                "sft first)"
            )
    if problems:
        raise ConfigError("a reward function has nothing to teach: it never varies", problems=problems)
    return spreads


class RewardFunction:
    """A metric as TRL's reward callable: ``(prompts, completions, reference, fields, ...) -> scores``."""

    def __init__(self, metric: Metric) -> None:
        self.metric = metric
        self.__name__ = metric.name  # TRL logs rewards/<name>/mean and /std under it

    def __call__(
        self, prompts: Sequence[Any], completions: Sequence[Any], reference: Sequence[str], **kwargs: Any
    ) -> list[float]:
        raw_fields: Sequence[str | None] = kwargs.get("fields") or [None] * len(completions)
        scores = []
        for completion, expected, encoded in zip(completions, reference, raw_fields, strict=True):
            fields: Mapping[str, Any] = json.loads(encoded) if encoded else {}
            text = completion_text(completion)
            try:
                scores.append(self.metric.score(text, expected, fields))
            except Exception as exc:  # name the reward and the completion, not only TRL's frame
                raise RuntimeError(f"reward {self.metric.name} raised {type(exc).__name__}: {exc}") from exc
        return scores


def completion_text(completion: Any) -> str:
    """A sampled completion as text (TRL gives conversational completions as a list of messages)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        return "".join(str(m.get("content") or "") for m in completion if isinstance(m, Mapping))
    return str(completion)
