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

from tunekit.evaluate.candidates import Candidate, EvalItem

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

    @property
    def bills(self) -> bool:
        return self.requests > 0

    def sentence(self) -> str:
        """One line for a confirmation prompt."""
        cost = f"at most {_usd(self.max_cost)} at list prices" if self.max_cost is not None else "cost unknown"
        if self.unpriced:
            cost += f"; no price listed for {', '.join(self.unpriced)}"
        return f"this evaluation sends {self.requests:,} requests that bill ({cost}) to: {', '.join(self.candidates)}"


def evaluation_spend(
    candidates: Sequence[Candidate], items: Sequence[EvalItem], max_new_tokens: int
) -> EvaluationSpend:
    """The requests of ``candidates`` on ``items`` that bill, and an upper bound of their cost."""
    from tunekit.data.examples import Message
    from tunekit.data.tokens import TiktokenCounter

    billed = [c for c in candidates if c.spends_money]
    counter = TiktokenCounter("o200k_base", approximate=True) if billed else None
    total = 0.0
    unpriced: list[str] = []
    for candidate in billed:
        if candidate.price is None:
            unpriced.append(candidate.name)
            continue
        assert counter is not None
        prompts = candidate.render_all(items)
        prompt_tokens = sum(counter.count_messages([Message.model_validate(m) for m in p]) for p in prompts)
        total += candidate.price.per_request(prompt_tokens, max_new_tokens * len(prompts))
    return EvaluationSpend(
        candidates=[f"{c.name} ({c.model})" for c in billed],
        requests=len(billed) * len(items),
        max_cost=None if unpriced and len(unpriced) == len(billed) else total,
        unpriced=unpriced,
    )


def _usd(amount: float) -> str:
    return f"${amount:,.2f}" if amount >= 0.01 or amount == 0 else f"${amount:.4f}"
