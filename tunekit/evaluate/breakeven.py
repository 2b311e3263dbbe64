"""Is fine-tuning worth it? The cheapest candidate as good as the best, and when training pays back.

Quality decides first: the *contenders* are the candidates whose primary
score is within noise of the best one's (the 95% interval of the paired
difference reaches zero, as :func:`~tunekit.evaluate.report.compare`
computes it). Among them the cheapest per request wins; on a tie of cost a
baseline wins, since it needs no training. When that winner is a baseline,
the advice is "do not fine-tune".

The tuned model costs more than its requests: training once (the estimate
before the run, what the provider reports after it) and, where the service
bills a deployment by the hour (Azure, Hugging Face Inference Endpoints),
hosting for every hour it is deployed. Serving it on your own hardware, or
on a service that bills only tokens, has no hourly fee. After ``R``
requests at ``N`` requests a day (``R / N`` days, ``24 R / N`` hours)::

    tuned(R)    = training + hosting_per_hour * 24 * R / N + R * tuned_per_request
    baseline(R) = R * baseline_per_request

so the tuned model becomes cheaper after
``R = training / (baseline_per_request - tuned_per_request - 24 * hosting_per_hour / N)``
requests, and never when that denominator is not positive. Without
``N`` an hourly fee cannot be turned into a cost per request: the report
then gives the traffic the fee needs instead
(``N > 24 * hosting_per_hour / (baseline_per_request - tuned_per_request)``).

The baseline the tuned model is measured against is the cheapest one of
equal or better quality (within noise); when none is that good, the best
baseline, and the sentence says that the tuned model buys quality.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

from tunekit.evaluate.summary import CandidateSummary, compare

__all__ = ["BreakEven", "Decision", "Economics", "break_even", "decide"]

TrainingSource = Literal["estimate", "reported"]

TUNED_KINDS = frozenset({"tuned", "tuned+rag"})
"""Candidates that need the training run (and its hosting)."""


@dataclass(frozen=True)
class Economics:
    """What the tuned model costs besides its requests, and the traffic it will serve."""

    training_cost: float | None = None
    """Currency spent training it once; None when unknown."""
    training_source: TrainingSource = "estimate"
    """``estimate``: priced before the run; ``reported``: the tokens the provider says it trained, at its price."""
    hosting_per_hour: float | None = 0.0
    """Hourly fee of the deployment serving it; 0 when there is none (per-token serving, your own hardware)."""
    hosting_note: str | None = None
    """Where the hourly fee comes from (``azure Standard``, ``own hardware``), for the report."""
    requests_per_day: float | None = None
    currency: str = "USD"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Economics:
        known = set(cls.__dataclass_fields__)
        return cls(**{key: value for key, value in data.items() if key in known})


@dataclass(frozen=True)
class BreakEven:
    """When the tuned model's training (and hosting) is paid back by cheaper requests than ``baseline``'s."""

    baseline: str
    baseline_matches_quality: bool
    """Whether ``baseline`` is as good as the tuned model (within noise); if not, tuning buys quality too."""
    tuned_per_request: float
    """The tuned model's requests, plus its hosting per request at the given traffic."""
    baseline_per_request: float
    requests: float | None
    """Requests after which the tuned model is cheaper; ``math.inf``: never; None: unknown (see ``reason``)."""
    days: float | None
    min_requests_per_day: float | None
    """With an hourly fee and no traffic given: the traffic above which the tuned model can ever pay back."""
    reason: str | None = None

    @property
    def never(self) -> bool:
        return self.requests is not None and math.isinf(self.requests)


@dataclass(frozen=True)
class Decision:
    """The cheapest candidate within noise of the best, and the tuned model's break-even."""

    metric: str
    best: CandidateSummary
    chosen: CandidateSummary
    contenders: list[CandidateSummary]
    basis: Literal["cost", "tokens"]
    """``cost``: ranked by currency per request; ``tokens``: some candidate has no price, so by tokens per request."""
    break_even: BreakEven | None
    economics: Economics

    @property
    def fine_tune(self) -> bool:
        return self.chosen.kind in TUNED_KINDS

    @property
    def sentence(self) -> str:
        return _sentence(self)

    def break_even_line(self) -> str | None:
        """The break-even in a few words, and the costs it rests on (None without a tuned candidate)."""
        be, eco = self.break_even, self.economics
        if be is None:
            return None
        if be.never:
            when = "never (a request to the tuned model costs at least as much)"
        elif be.requests is None:
            when = f"unknown ({be.reason})"
            if be.min_requests_per_day is not None:
                when += f"; needs over {_count(be.min_requests_per_day)} requests/day"
        else:
            when = f"{_count(be.requests)} requests"
            if be.days is not None:
                when += f" = {be.days:,.1f} days at {eco.requests_per_day:,.0f}/day"
        training = (
            f"{_money(eco.training_cost, eco.currency)} ({eco.training_source})"
            if eco.training_cost is not None
            else "unknown"
        )
        if eco.hosting_per_hour is None:
            hosting = "unknown"
        else:
            hosting = f"{_money(eco.hosting_per_hour, eco.currency)}/h"
            hosting += f" ({eco.hosting_note})" if eco.hosting_note else ""
        return f"vs {be.baseline}: {when}; training {training}, hosting {hosting}."

    def to_dict(self) -> dict[str, Any]:
        be = self.break_even
        return {
            "metric": self.metric,
            "best": self.best.name,
            "chosen": self.chosen.name,
            "fine_tune": self.fine_tune,
            "contenders": [c.name for c in self.contenders],
            "basis": self.basis,
            "economics": self.economics.to_dict(),
            "break_even": None
            if be is None
            else {
                **asdict(be),
                # JSON has no infinity: "never" says it, and the numbers are null.
                "requests": None if be.requests is None or be.never else be.requests,
                "days": None if be.days is None or math.isinf(be.days) else be.days,
                "min_requests_per_day": None
                if be.min_requests_per_day is None or math.isinf(be.min_requests_per_day)
                else be.min_requests_per_day,
                "never": be.never,
            },
            "sentence": self.sentence,
        }


def per_request(candidate: CandidateSummary) -> float | None:
    """Currency per request at the candidate's mean token counts, when it has a price."""
    return candidate.cost_per_1k / 1000 if candidate.cost_per_1k is not None else None


def _tokens(candidate: CandidateSummary) -> float:
    return (candidate.prompt_tokens or 0.0) + (candidate.completion_tokens or 0.0)


def _within_noise(candidate: CandidateSummary, best: CandidateSummary, metric: str) -> bool:
    return candidate is best or compare(candidate, best, metric).ci_high >= 0


def _hourly_per_request(economics: Economics) -> float | None:
    """The hosting fee spread over each request at the given traffic (0 without a fee; None: unknown)."""
    fee = economics.hosting_per_hour
    if fee == 0:
        return 0.0
    if fee is None or not economics.requests_per_day:
        return None
    return 24 * fee / economics.requests_per_day


def break_even(
    tuned: CandidateSummary, baseline: CandidateSummary, economics: Economics, *, matches: bool
) -> BreakEven:
    """When ``tuned`` becomes cheaper than ``baseline`` over its training and hosting (see the module's formula)."""
    t_cost, b_cost = per_request(tuned), per_request(baseline)
    if t_cost is None or b_cost is None:
        missing = ", ".join(c.name for c, cost in ((tuned, t_cost), (baseline, b_cost)) if cost is None)
        return BreakEven(
            baseline.name, matches, t_cost or 0.0, b_cost or 0.0, None, None, None, f"no price for {missing}"
        )
    hosting = _hourly_per_request(economics)
    if hosting is None:
        fee = economics.hosting_per_hour
        if fee is None:
            return BreakEven(baseline.name, matches, t_cost, b_cost, None, None, None, "the hosting fee is not known")
        # An hourly fee without traffic: say what traffic it needs to pay back at all.
        saving = b_cost - t_cost
        minimum = 24 * fee / saving if saving > 0 else math.inf
        reason = "set eval.traffic.requests_per_day: the deployment is billed by the hour"
        never = math.inf if saving <= 0 else None
        return BreakEven(baseline.name, matches, t_cost, b_cost, never, None, minimum, reason)
    tuned_total = t_cost + hosting
    saving = b_cost - tuned_total
    rpd = economics.requests_per_day
    if saving <= 0:
        return BreakEven(baseline.name, matches, tuned_total, b_cost, math.inf, math.inf, None)
    if economics.training_cost is None:
        return BreakEven(
            baseline.name, matches, tuned_total, b_cost, None, None, None, "the training cost is not known"
        )
    requests = economics.training_cost / saving
    days = requests / rpd if rpd else None
    return BreakEven(baseline.name, matches, tuned_total, b_cost, requests, days, None)


def decide(candidates: list[CandidateSummary], metric: str, economics: Economics | None = None) -> Decision | None:
    """The cheapest candidate within noise of the best on ``metric``, and the tuned model's break-even.

    None when fewer than two candidates answered anything.
    """
    economics = economics or Economics()
    # A candidate with no score on the metric (every judge reply about it unusable) cannot be ranked on it.
    answered = [c for c in candidates if not c.answered_nothing and c.scored(metric)]
    if len(answered) < 2:
        return None
    best = max(answered, key=lambda c: c.score(metric))
    contenders = [c for c in answered if _within_noise(c, best, metric)]
    tuned_ones = [c for c in answered if c.kind in TUNED_KINDS]
    priced = all(per_request(c) is not None for c in contenders)

    def rank(c: CandidateSummary) -> tuple[float, int, float]:
        # Cheapest first (the tuned model's hourly fee, spread over the traffic, is part of each of its requests);
        # on equal cost a baseline before the tuned model (it needs no training), then quality.
        cost = _effective(c, economics) if priced else _tokens(c)
        return (round(cost, 12), int(c.kind in TUNED_KINDS), -c.score(metric))

    chosen = min(contenders, key=rank)
    result = None
    # The break-even of the tuned candidate chosen, else of the best one (the cheaper on a tie).
    tuned = (
        chosen
        if chosen.kind in TUNED_KINDS
        else min(tuned_ones, key=lambda c: (-c.score(metric), rank(c)), default=None)
    )
    if tuned is not None:
        baselines = [c for c in answered if c.kind not in TUNED_KINDS]
        as_good = [c for c in baselines if _within_noise(c, tuned, metric)]
        if as_good:
            reference = min(as_good, key=lambda c: (per_request(c) is None, per_request(c) or 0.0, -c.score(metric)))
            result = break_even(tuned, reference, economics, matches=True)
        elif baselines:
            reference = max(baselines, key=lambda c: c.score(metric))
            result = break_even(tuned, reference, economics, matches=False)
    return Decision(metric, best, chosen, contenders, "cost" if priced else "tokens", result, economics)


# -- the sentence ------------------------------------------------------------------------


def _money(value: float, currency: str) -> str:
    symbol = "$" if currency == "USD" else f"{currency} "
    if value == 0:
        return f"{symbol}0"
    return f"{symbol}{value:,.2f}" if value >= 1 else f"{symbol}{value:.4g}"


def _count(value: float) -> str:
    return f"{math.ceil(value):,}"


def _name(c: CandidateSummary) -> str:
    return "the tuned model" if c.kind == "tuned" else c.name


def _effective(c: CandidateSummary, economics: Economics) -> float:
    """Per request, with the tuned model's hourly fee spread over the traffic (when both are known)."""
    extra = (_hourly_per_request(economics) or 0.0) if c.kind in TUNED_KINDS else 0.0
    return (per_request(c) or 0.0) + extra


def _cost_of(c: CandidateSummary, d: Decision) -> str:
    if d.basis == "tokens":
        return f"{_tokens(c):,.0f} tokens per request"
    hosted = (
        " with hosting"
        if c.kind in TUNED_KINDS and d.economics.hosting_per_hour and _hourly_per_request(d.economics)
        else ""
    )
    return f"{_money(1000 * _effective(c, d.economics), d.economics.currency)} per 1,000 requests{hosted}"


def _sentence(d: Decision) -> str:
    chosen, best, m = d.chosen, d.best, d.metric
    standing = (
        f"scores best on {m} ({best.score(m):.1f})"
        if chosen.score(m) >= best.score(m)
        else f"is within noise of the best on {m} ({chosen.score(m):.1f} vs {best.score(m):.1f} for {_name(best)})"
    )
    others = [c for c in d.contenders if c is not chosen]
    cheaper = ""
    if others:
        versus = min(others, key=lambda c: _tokens(c) if d.basis == "tokens" else _effective(c, d.economics))
        cheaper = (
            f" and is the cheapest such candidate ({_cost_of(chosen, d)} vs {_cost_of(versus, d)} for {_name(versus)})"
        )
    elif d.basis == "cost":
        cheaper = f" ({_cost_of(chosen, d)})"
    basis = " No prices are known, so cost is compared by tokens per request." if d.basis == "tokens" else ""
    head = "Fine-tune" if d.fine_tune else "Do not fine-tune"
    sentence = f"{head}: {_name(chosen)} {standing}{cheaper}.{basis}"
    return sentence + _break_even_sentence(d)


def _break_even_sentence(d: Decision) -> str:
    be, eco = d.break_even, d.economics
    if be is None:
        return ""
    currency = eco.currency
    training = (
        f"{_money(eco.training_cost, currency)} training ({eco.training_source})"
        if eco.training_cost is not None
        else "its training"
    )
    hosting = f" and {_money(eco.hosting_per_hour, currency)}/h hosting" if eco.hosting_per_hour else ""
    if be.baseline_matches_quality:
        against = f" Break-even against {be.baseline}:"
    else:
        against = f" Against {be.baseline}, the best baseline (which it beats on quality), the break-even:"
    if be.never:
        why = "a request to the tuned model costs at least as much"
        if be.min_requests_per_day is None and eco.hosting_per_hour and eco.requests_per_day:
            why += f" once hosting is spread over {eco.requests_per_day:,.0f} requests/day"
        return f"{against} never; {why}."
    if be.requests is None:
        if be.min_requests_per_day is not None:
            return (
                f"{against} {be.reason}; hosting pays back only above {_count(be.min_requests_per_day)} requests/day."
            )
        return f"{against} unknown ({be.reason})."
    when = f"{_count(be.requests)} requests"
    if be.days is not None:
        when += f" ({be.days:,.1f} days at {eco.requests_per_day:,.0f} requests/day)"
    return f"{against} {training}{hosting} is paid back after {when}."
