"""The retrieval baseline: the k most similar training examples as shots, never the evaluation example itself.

The model here is a deliberately simple one, stated in the open: it answers
with the reply of the shot whose question shares the most words with the
question asked. On recipe-like data where every held-out question has a
near-duplicate in training, that model is perfect exactly when the
near-duplicate is among its shots — which is what retrieval must achieve and
random shots do not.
"""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import pytest

from tunekit.config import EvalConfig
from tunekit.errors import ConfigError
from tunekit.evaluate import Candidate, evaluate, few_shot_turns
from tunekit.evaluate.retrieval import Retrieval
from tunekit.inference.base import ChatResult, Message

pytest.importorskip("bm25s")

INGREDIENTS = [
    "basil",
    "garlic",
    "tomato",
    "onion",
    "carrot",
    "celery",
    "flour",
    "butter",
    "sugar",
    "egg",
    "milk",
    "cream",
    "cheese",
    "rice",
    "beans",
    "lentil",
    "chickpea",
    "spinach",
    "kale",
    "potato",
    "leek",
    "mushroom",
    "pepper",
    "chili",
    "cumin",
    "ginger",
    "lemon",
    "lime",
    "honey",
    "yogurt",
    "oats",
]
SYSTEM = "List the ingredient names of the recipe as a JSON list."


def _card(dish: str, ingredients: list[str], rng: random.Random, *, larger: bool = False) -> dict[str, Any]:
    low = 10 if larger else 1
    units = ("cups", "tbsp", "g")
    parts = ", ".join(
        f"{rng.randint(low, low + 8)} {unit} {name}" for name, unit in zip(ingredients, units, strict=True)
    )
    return {
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Ingredients of: {dish}: {parts}"},
            {"role": "assistant", "content": json.dumps(ingredients)},
        ]
    }


def recipe_like(seed: int = 0) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    """(train, eval, planted exact copies): each eval card has a near-duplicate (other quantities) in train."""
    rng = random.Random(seed)
    train, held_out = [], []
    for i in range(30):
        dish, ingredients = f"dish {i}", rng.sample(INGREDIENTS, 3)
        held_out.append(_card(dish, ingredients, rng))
        train.append(_card(dish, ingredients, rng, larger=True))  # same dish, same answer, other quantities
    train += [_card(f"other {i}", rng.sample(INGREDIENTS, 3), rng) for i in range(200)]
    planted = [json.loads(json.dumps(held_out[i])) for i in range(0, 30, 6)]  # five exact copies leak into train
    train += planted
    rng.shuffle(train)
    return train, held_out, len(planted)


class CopiesTheMostSimilarShot:
    """A ChatClient that replies with the answer of the shot whose question shares the most words with the question.

    It records every conversation it is sent.
    """

    model = "copier"

    def __init__(self) -> None:
        self.sent: list[list[dict[str, Any]]] = []

    def chat(self, messages: Sequence[Message], **params: Any) -> ChatResult:
        turns = [dict(m) for m in messages]
        self.sent.append(turns)
        question = set(turns[-1]["content"].split())
        shots = [
            (turns[i]["content"], turns[i + 1]["content"])
            for i in range(len(turns) - 2)
            if turns[i]["role"] == "user" and turns[i + 1]["role"] == "assistant"
        ]
        if not shots:
            return ChatResult(text="", model=self.model)
        best = max(shots, key=lambda shot: len(question & set(shot[0].split())))
        return ChatResult(text=best[1], model=self.model)

    async def achat(self, messages: Sequence[Message], **params: Any) -> ChatResult:
        return self.chat(messages, **params)

    def stream(self, messages: Sequence[Message], **params: Any) -> Iterator[str]:
        yield self.chat(messages, **params).text

    async def astream(self, messages: Sequence[Message], **params: Any) -> AsyncIterator[str]:
        yield self.chat(messages, **params).text

    def batch(self, requests: Sequence[Sequence[Message]], *, concurrency: int = 8, **params: Any) -> list[ChatResult]:
        return [self.chat(messages, **params) for messages in requests]

    def close(self) -> None:
        pass


def test_retrieval_finds_the_near_duplicate_that_random_shots_miss() -> None:
    train, held_out, planted = recipe_like()
    retrieval_client, few_shot_client = CopiesTheMostSimilarShot(), CopiesTheMostSimilarShot()
    nearest = Retrieval([example["messages"] for example in train], 3)
    report = evaluate(
        [
            Candidate("base few-shot (k=3)", few_shot_client, "few-shot", shots=few_shot_turns(train, 3, seed=42)),
            Candidate("base retrieval (k=3)", retrieval_client, "retrieval", retrieval=nearest),
        ],
        held_out,
        ["exact_match"],
    )
    few, retrieved = report.candidates
    assert retrieved.score("exact_match") == 100.0
    assert few.score("exact_match") < 50.0

    # Leakage guard: the five planted copies of evaluation examples were never offered as shots, and it says so.
    assert retrieved.notes == {"k": 3, "excluded_duplicates": planted}
    for item, sent in zip(held_out, retrieval_client.sent, strict=True):
        question = item["messages"][1]["content"]
        assert [m["content"] for m in sent].count(question) == 1  # only as the question itself
        assert len([m for m in sent if m["role"] == "user"]) == 4  # three shots, then the question
    assert f"{planted} training examples were never offered as shots" in report.to_markdown()
    assert report.to_dict()["candidates"][1]["notes"]["excluded_duplicates"] == planted


def test_retrieval_configuration_and_bad_k() -> None:
    assert EvalConfig.model_validate({"baselines": ["zero-shot", "retrieval"]}).baselines == ["zero-shot", "retrieval"]
    train, _, _ = recipe_like()
    with pytest.raises(ConfigError, match="only 235 examples"):
        Retrieval([e["messages"] for e in train], 500)
    with pytest.raises(ConfigError, match="at least 1"):
        Retrieval([e["messages"] for e in train], 0)
