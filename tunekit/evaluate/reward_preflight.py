"""Before hosted reinforcement fine-tuning is paid for: sample the base model and score the samples with every reward.

GRPO learns from the differences between the completions sampled for one
prompt. A reward that gives them all the same score (a constant, a strict
match the base model never reaches) makes every advantage zero: the job bills
its training hours (about USD 100 an hour for o4-mini) and changes nothing. A
reward that raises fails the job after its data was uploaded.

The local provider samples its starting model itself before its first step.
A job that runs elsewhere (``Provider.runs_here`` false) is checked here,
before anything is uploaded: the first few training prompts are sent to the
base model through the provider's own inference client (the one the
evaluation's baselines use), each :attr:`RewardSampling.samples` times at
temperature 1, and :func:`~tunekit.evaluate.rewards.check_reward_spread`
refuses a reward that raises or never varies. Those few requests bill as
inference; ``tunekit run`` and ``tunekit submit`` say how many before sending
them, and ``--skip-reward-check`` leaves them out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tunekit.errors import ConfigError, TunekitError
from tunekit.evaluate.candidates import EvalItem
from tunekit.evaluate.rewards import RewardSpread, check_reward_spread, resolve_rewards, reward_items
from tunekit.inference.client import RemoteChatClient

if TYPE_CHECKING:
    from tunekit.config import TuneConfig
    from tunekit.provider import Provider

__all__ = ["RewardSampling", "check_rewards_on_base_model", "reward_sampling", "spread_summary"]

STEP = "reward-check"
"""The ledger step under which a run records the spreads measured before it was created."""

PROMPTS = 4
"""Training prompts sampled: enough to see a reward vary, few enough to cost cents."""

SAMPLES = 4
"""Completions per prompt when ``generations`` is ``auto``."""

MIN_TOKENS = 1024
"""Floor of the completion budget: a reasoning model spends tokens thinking before it answers."""

MAX_TOKENS = 4096
"""Ceiling of the completion budget, so the check never costs more than a few cents per request."""

TEMPERATURE = 1.0
"""GRPO samples at temperature 1; reasoning models accept only this value."""


@dataclass(frozen=True)
class RewardSampling:
    """The requests the check sends: which model, on which prompts, how many times each, with what budget."""

    model: str
    items: list[EvalItem]
    samples: int
    max_tokens: int

    @property
    def requests(self) -> int:
        return len(self.items) * self.samples

    def describe(self) -> str:
        return (
            f"{self.requests} requests to {self.model} ({len(self.items)} training prompts x {self.samples} samples, "
            f"up to {self.max_tokens} completion tokens each)"
        )


def reward_sampling(config: TuneConfig, provider: Provider, train_examples: Sequence[Any]) -> RewardSampling | None:
    """What the check would send for ``config``; None when it does not apply.

    It applies to ``method: rft`` on a provider whose job runs elsewhere (the
    local provider samples its starting model itself) and that has training
    examples.
    """
    if config.method != "rft" or provider.runs_here or not train_examples:
        return None
    items = reward_items(list(train_examples[:PROMPTS]))
    hyper = config.hyperparameters
    samples = hyper.generations if isinstance(hyper.generations, int) else SAMPLES
    if isinstance(hyper.max_completion_length, int):
        budget = hyper.max_completion_length
    else:
        # Twice the longest reference (about four characters a token), within the floor and the ceiling.
        longest = max(math.ceil(len(item.reference) / 4) for item in items)
        budget = min(MAX_TOKENS, max(MIN_TOKENS, 2 * longest))
    return RewardSampling(config.model, items, samples, budget)


def check_rewards_on_base_model(config: TuneConfig, provider: Provider, sampling: RewardSampling) -> list[RewardSpread]:
    """Send ``sampling``'s requests to the base model; refuse (ConfigError) a reward that raises or never varies.

    A request the base model does not answer is refused too (naming the
    error): the check could not run, and ``--skip-reward-check`` is the way
    past it on purpose.
    """
    rewards = resolve_rewards(config.reward)
    client = provider.base_client(sampling.model)
    params: dict[str, Any] = {"temperature": TEMPERATURE, "max_completion_tokens": sampling.max_tokens}
    requests = [item.prompt for item in sampling.items for _ in range(sampling.samples)]
    try:
        if isinstance(client, RemoteChatClient):
            results = client.batch(requests, give_up_after=1, log_failures=False, **params)
        else:
            results = [client.chat(prompt, **params) for prompt in requests]
    except TunekitError as exc:
        raise _unanswered(sampling, str(exc)) from exc
    finally:
        close = getattr(client, "close", None)
        if callable(close):
            close()
    failed = next((result.error for result in results if result.error), None)
    if failed is not None:
        raise _unanswered(sampling, failed)
    texts = [result.text for result in results]
    groups = [
        (item, texts[index * sampling.samples : (index + 1) * sampling.samples])
        for index, item in enumerate(sampling.items)
    ]
    return check_reward_spread(rewards, groups)


def spread_summary(spreads: Sequence[RewardSpread]) -> str:
    """One line per check: each reward's range, mean, and on how many prompts it told the samples apart."""
    return "; ".join(
        f"{s.name} {s.low:g}..{s.high:g} (mean {s.mean:.3g}, varies on {s.prompts_with_spread} of {s.prompts} prompts)"
        for s in spreads
    )


def _unanswered(sampling: RewardSampling, error: str) -> ConfigError:
    return ConfigError(
        f"the reward check could not sample the base model {sampling.model}: {' '.join(error.split())} "
        "(pass --skip-reward-check to train without it)"
    )
