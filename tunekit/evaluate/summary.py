"""What one candidate scored: per-item results, the summary with its intervals, and paired comparisons.

Kept apart from :mod:`tunekit.evaluate.report` so the modules the report
draws on (break-even, judge, renderers) can use these types without importing
the report back.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from tunekit.evaluate.candidates import EvalItem, Price

__all__ = ["CandidateSummary", "Comparison", "ItemResult", "LadderReport", "compare", "percentile"]


def percentile(values: list[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) with linear interpolation, as numpy computes it by default."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class ItemResult:
    """One candidate's answer to one item."""

    prediction: str
    scores: dict[str, float]
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    error: str | None = None
    attempts: int = 1
    judge_reason: str | None = None
    """Why the judge scored this answer as it did (``eval.judge``)."""


@dataclass
class CandidateSummary:
    """How one candidate did over all items."""

    name: str
    kind: str
    model: str
    items: list[ItemResult]
    price: Price | None = None
    notes: dict[str, Any] = field(default_factory=dict)
    """How the candidate was prompted, where it matters (retrieval: ``k``, ``excluded_duplicates``)."""

    @property
    def n(self) -> int:
        return len(self.items)

    @property
    def errors(self) -> int:
        return sum(1 for r in self.items if r.error is not None)

    def scored(self, metric: str) -> list[float]:
        """The answers' scores on ``metric`` (0-1). Failed requests score 0; an answer the judge's reply left
        without a score (refused, unreadable) is not among them."""
        return [r.scores[metric] for r in self.items if metric in r.scores]

    def score(self, metric: str) -> float:
        """Mean score in points (0-100); failed requests count as 0."""
        values = self.scored(metric)
        return 100 * sum(values) / len(values) if values else 0.0

    def interval(self, metric: str, *, clip: bool = True) -> tuple[float, float] | None:
        """The 95% interval of the mean score in points (normal; clipped to 0-100); None under two items."""
        values = [100 * v for v in self.scored(metric)]
        n = len(values)
        if n < 2:
            return None
        mean = sum(values) / n
        half = 1.96 * math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1) / n)
        return (max(0.0, mean - half), min(100.0, mean + half)) if clip else (mean - half, mean + half)

    def _ok(self) -> list[ItemResult]:
        return [r for r in self.items if r.error is None]

    @property
    def prompt_tokens(self) -> float | None:
        """Mean prompt tokens per answered request (``None`` when the server reported none)."""
        ok = [r.prompt_tokens for r in self._ok() if r.prompt_tokens]
        return sum(ok) / len(ok) if ok else None

    @property
    def completion_tokens(self) -> float | None:
        ok = [r.completion_tokens for r in self._ok() if r.prompt_tokens]
        return sum(ok) / len(ok) if ok else None

    @property
    def cost_per_1k(self) -> float | None:
        """USD per 1,000 requests at the mean token counts, when a price is known."""
        if self.price is None or self.prompt_tokens is None:
            return None
        return 1000 * self.price.per_request(self.prompt_tokens, self.completion_tokens or 0.0)

    @property
    def latency_p50(self) -> float | None:
        return percentile([r.latency_s for r in self._ok()], 50)

    @property
    def latency_p95(self) -> float | None:
        return percentile([r.latency_s for r in self._ok()], 95)

    @property
    def retries(self) -> int:
        return sum(max(0, r.attempts - 1) for r in self.items)

    @property
    def answered_nothing(self) -> bool:
        """Every request failed (or was never sent): the candidate was not evaluated at all."""
        return bool(self.items) and self.errors == self.n

    @property
    def first_error(self) -> str | None:
        return next((r.error for r in self.items if r.error is not None), None)

    def summary(self, metrics: list[str]) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "model": self.model,
            "n": self.n,
            "errors": self.errors,
            "answered_nothing": self.answered_nothing,
            "retries": self.retries,
            "scores": {m: round(self.score(m), 4) for m in metrics},
            "prompt_tokens_per_request": self.prompt_tokens,
            "completion_tokens_per_request": self.completion_tokens,
            "cost_per_1k_requests_usd": self.cost_per_1k,
            "latency_p50_s": self.latency_p50,
            "latency_p95_s": self.latency_p95,
            "price": asdict(self.price) if self.price else None,
            "notes": self.notes,
        }


@dataclass(frozen=True)
class Comparison:
    """A candidate against a baseline on one metric, paired item by item."""

    candidate: CandidateSummary
    baseline: CandidateSummary
    metric: str
    difference: float
    """Points (candidate minus baseline)."""
    ci_low: float
    ci_high: float
    token_ratio: float | None
    """Candidate's prompt tokens per request as a fraction of the baseline's."""
    cost_ratio: float | None

    @property
    def significant(self) -> bool:
        """Whether the 95% interval of the paired difference excludes zero."""
        return self.ci_low > 0 or self.ci_high < 0


def compare(candidate: CandidateSummary, baseline: CandidateSummary, metric: str) -> Comparison:
    diffs = [
        100 * (a.scores[metric] - b.scores[metric])
        for a, b in zip(candidate.items, baseline.items, strict=True)
        if metric in a.scores and metric in b.scores  # pairs the judge scored on both sides
    ]
    n = len(diffs)
    mean = sum(diffs) / n if n else 0.0
    if n > 1:
        variance = sum((d - mean) ** 2 for d in diffs) / (n - 1)
        half = 1.96 * math.sqrt(variance / n)
    else:
        half = math.inf
    tokens = (
        candidate.prompt_tokens / baseline.prompt_tokens
        if candidate.prompt_tokens is not None and baseline.prompt_tokens
        else None
    )
    costs = (
        candidate.cost_per_1k / baseline.cost_per_1k
        if candidate.cost_per_1k is not None and baseline.cost_per_1k
        else None
    )
    return Comparison(candidate, baseline, metric, mean, mean - half, mean + half, tokens, costs)


class LadderReport(Protocol):
    """What the text and Markdown renderers read of an :class:`~tunekit.evaluate.report.EvalReport`.

    A protocol rather than the class: the report renders itself with those
    modules, which therefore must not import it back.
    """

    candidates: list[CandidateSummary]
    metrics: list[str]
    items: list[EvalItem]
    title: str
    paths: dict[str, str]

    @property
    def primary_metric(self) -> str: ...
    @property
    def verdict(self) -> str: ...
    def table_rows(self) -> tuple[list[str], list[list[str]]]: ...
    def samples(self, limit: int = 5) -> list[dict[str, Any]]: ...
    def notes(self) -> list[str]: ...
    def legend(self) -> str: ...
    def break_even_line(self) -> str | None: ...
    def judge_line(self) -> str | None: ...
