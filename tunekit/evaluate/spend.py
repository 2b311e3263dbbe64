"""What an evaluation will bill, worked out before its first request.

Every question sent to a hosted model is paid for, and a ladder of baselines
multiplies them: five candidates on 400 held-out examples are 2,000 paid
requests. :func:`evaluation_spend` counts the requests that go to candidates
whose provider bills, and bounds their cost from the price table: prompts are
counted as they will be sent (shots and passages included), answers at their
``max_new_tokens`` limit, so the figure is an upper bound, never a guess from
below. ``tunekit eval`` shows it and asks before the first request unless
``--yes``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tunekit.evaluate.candidates import Candidate, EvalItem

if TYPE_CHECKING:
    from tunekit.evaluate.judge import Judge

__all__ = ["EvaluationSpend", "evaluation_spend"]


@dataclass(frozen=True)
class EvaluationSpend:
    """The billed part of an evaluation: which candidates, how many requests, at most what cost."""

    candidates: list[str]
    """The billed candidates, as ``name (model)``."""
    requests: int
    max_cost: float | None
    """USD upper bound at list prices; ``None`` when a billed candidate has no price in the table."""
    unpriced: list[str]
    """Billed candidates the price table does not list (their cost is not in ``max_cost``)."""
    judge_requests: int = 0
    """Of ``requests``, those to the judge (``eval.judge``): every answer it grades, twice when pairwise."""

    @property
    def bills(self) -> bool:
        return self.requests > 0

    def sentence(self) -> str:
        """One line for a confirmation prompt."""
        cost = f"at most {_usd(self.max_cost)} at list prices" if self.max_cost is not None else "cost unknown"
        if self.unpriced:
            cost += f"; no price listed for {', '.join(self.unpriced)}"
        judge = f", {self.judge_requests:,} of them to the judge" if self.judge_requests else ""
        to = ", ".join(self.candidates)
        return f"this evaluation sends {self.requests:,} requests that bill ({cost}{judge}) to: {to}"


def evaluation_spend(
    candidates: Sequence[Candidate], items: Sequence[EvalItem], max_new_tokens: int, *, judge: Judge | None = None
) -> EvaluationSpend:
    """The requests of ``candidates`` (and ``judge``) on ``items`` that bill, and an upper bound of their cost."""
    from tunekit.data.examples import Message
    from tunekit.data.tokens import TiktokenCounter

    billed = [c for c in candidates if c.spends_money]
    counter = TiktokenCounter("o200k_base", approximate=True)
    total = 0.0
    unpriced: list[str] = []
    names = [f"{c.name} ({c.model})" for c in billed]
    judged = _judge_requests(judge, len(candidates), len(items))
    if judge is not None and judged:
        names.append(f"the judge ({judge.client.model})")
        if judge.price is None:
            unpriced.append("the judge")
        else:
            # Each graded answer is at most max_new_tokens long; a pairwise request holds two of them.
            answers = max_new_tokens * (2 if judge.mode == "pairwise" else 1)
            empty = [
                judge.pairwise_prompt(i, "", "") if judge.mode == "pairwise" else judge.score_prompt(i, "")
                for i in items
            ]
            per_item = [counter.count_messages([Message.model_validate(m) for m in p]) + answers for p in empty]
            prompt_tokens = sum(per_item) * judged / len(items)
            total += judge.price.per_request(prompt_tokens, judge.max_tokens * judged)
    for candidate in billed:
        if candidate.price is None:
            unpriced.append(candidate.name)
            continue
        prompts = candidate.render_all(items)
        prompt_tokens = sum(counter.count_messages([Message.model_validate(m) for m in p]) for p in prompts)
        total += candidate.price.per_request(prompt_tokens, max_new_tokens * len(prompts))
    return EvaluationSpend(
        candidates=names,
        requests=len(billed) * len(items) + judged,
        max_cost=None if unpriced and len(unpriced) == len(names) else total,
        unpriced=unpriced,
        judge_requests=judged,
    )


def _judge_requests(judge: Judge | None, candidates: int, items: int) -> int:
    """Requests the judge gets, when its provider bills: one per answer, two per pair (both orders) when pairwise,
    where the anchor is not asked about itself."""
    if judge is None or not _bills(judge.provider):
        return 0
    return 2 * (candidates - 1) * items if judge.mode == "pairwise" else candidates * items


def _bills(provider: str) -> bool:
    if not provider:
        return True  # unknown: assume it bills, so the question is asked
    from tunekit.errors import TunekitError
    from tunekit.registry import get_provider_class

    try:
        return get_provider_class(provider).spends_money
    except TunekitError:
        return True


def _usd(amount: float) -> str:
    return f"${amount:,.2f}" if amount >= 0.01 or amount == 0 else f"${amount:.4f}"
