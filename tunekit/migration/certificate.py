"""Is the target no worse than the source? A paired non-inferiority test on the same held-out items.

The target may replace the source when the one-sided 95% lower confidence
bound of the paired difference (target minus source, in points of the primary
metric) lies above ``-margin``: whatever the noise, the target is at worst
``margin`` points behind. When the upper bound lies below ``-margin`` the
target is worse by more than the margin; in between, the evaluation set is too
small to tell, and the certificate says how many items would decide it if the
observed difference held.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from tunekit.evaluate.report import CandidateSummary

__all__ = ["Z_ONE_SIDED_95", "CandidateFigures", "Certificate", "certify", "items_needed"]

Z_ONE_SIDED_95 = 1.6448536269514722
"""The standard normal quantile of 0.95: one-sided 95% confidence."""

Verdict = Literal["migrate", "not yet", "worse"]


@dataclass(frozen=True)
class CandidateFigures:
    """What one side cost and how fast it answered, beside its score."""

    model: str
    score: float
    """Mean of the primary metric in points (0-100); a failed request scores 0."""
    errors: int
    cost_per_1k: float | None
    latency_p50_s: float | None
    prompt_tokens: float | None


@dataclass(frozen=True)
class Certificate:
    """The outcome of a migration's evaluation: verdict, the numbers behind it, and what they were measured on."""

    source: CandidateFigures
    target: CandidateFigures
    metric: str
    margin: float
    n: int
    difference: float
    """Mean paired difference, target minus source, in points."""
    lower: float
    """One-sided 95% lower confidence bound of the difference."""
    upper: float
    """One-sided 95% upper confidence bound of the difference."""
    verdict: Verdict
    items_needed: int | None = None
    """For "not yet": how many items would decide it if the observed difference and spread held."""
    source_run: str | None = None
    target_run: str | None = None
    eval_data: str | None = None
    issued_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    # -- words ---------------------------------------------------------------------------

    @property
    def sentence(self) -> str:
        """The verdict in one sentence a user can act on."""
        gap = f"{self.difference:+.1f} points of {self.metric} (95% lower bound {self.lower:+.1f})"
        if self.verdict == "migrate":
            return (
                f"migrate: on {self.n} held-out items the target is no worse than the source by more than "
                f"{self.margin:g} points ({gap})."
            )
        if self.verdict == "worse":
            return (
                f"worse: the target trails the source by more than the {self.margin:g}-point margin "
                f"({gap}, upper bound {self.upper:+.1f}); do not migrate to it as it is."
            )
        more = (
            f"about {self.items_needed:,} items would decide it if the difference holds"
            if self.items_needed
            else "more items will not help unless the target improves"
        )
        return f"not yet: {self.n} items cannot rule out a gap wider than {self.margin:g} points ({gap}); {more}."

    # -- renderings ----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["sentence"] = self.sentence
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def _rows(self) -> list[tuple[str, str, str]]:
        def money(value: float | None) -> str:
            return "-" if value is None else f"{value:.4f}"

        def seconds(value: float | None) -> str:
            return "-" if value is None else f"{value:.2f}"

        s, t = self.source, self.target
        return [
            ("model", s.model, t.model),
            (f"{self.metric} (points)", f"{s.score:.1f}", f"{t.score:.1f}"),
            ("failed requests", str(s.errors), str(t.errors)),
            ("USD per 1,000 requests", money(s.cost_per_1k), money(t.cost_per_1k)),
            ("latency p50 (s)", seconds(s.latency_p50_s), seconds(t.latency_p50_s)),
        ]

    def to_markdown(self) -> str:
        lines = [
            "# Migration certificate",
            "",
            f"**{self.sentence}**",
            "",
            "| | source | target |",
            "|---|---|---|",
            *(f"| {label} | {a} | {b} |" for label, a, b in self._rows()),
            "",
            f"Paired difference {self.difference:+.2f} points over {self.n} items; one-sided 95% bounds "
            f"[{self.lower:+.2f}, {self.upper:+.2f}]; non-inferiority margin {self.margin:g} points.",
        ]
        lineage = [f"source run `{self.source_run}`" if self.source_run else "", f"target run `{self.target_run}`"]
        lines += ["", ", ".join(x for x in lineage if x) + f"; issued {self.issued_at}."]
        return "\n".join(lines) + "\n"

    def to_html(self) -> str:
        rows = "".join(
            f"<tr><th>{html.escape(label)}</th><td>{html.escape(a)}</td><td>{html.escape(b)}</td></tr>"
            for label, a, b in self._rows()
        )
        return (
            f"<div class='tunekit-certificate'><p><strong>{html.escape(self.sentence)}</strong></p>"
            f"<table><tr><th></th><th>source</th><th>target</th></tr>{rows}</table>"
            f"<p>Paired difference {self.difference:+.2f} points over {self.n} items; one-sided 95% bounds "
            f"[{self.lower:+.2f}, {self.upper:+.2f}]; margin {self.margin:g} points.</p></div>"
        )

    def _repr_html_(self) -> str:
        return self.to_html()

    def _repr_markdown_(self) -> str:
        return self.to_markdown()


def items_needed(difference: float, sd: float, margin: float) -> int | None:
    """Items for the lower bound to clear ``-margin`` if ``difference`` and ``sd`` held; ``None`` if none would."""
    room = difference + margin
    if room <= 0:
        return None
    if sd == 0:
        return 2
    return max(2, math.ceil((Z_ONE_SIDED_95 * sd / room) ** 2))


def certify(
    source: CandidateSummary,
    target: CandidateSummary,
    metric: str,
    *,
    margin: float = 2.0,
    source_run: str | None = None,
    target_run: str | None = None,
    eval_data: str | None = None,
) -> Certificate:
    """Test, item by item, that ``target`` is not worse than ``source`` by more than ``margin`` points."""
    if source.n != target.n or source.n == 0:
        raise ValueError(f"both sides must answer the same items (source {source.n}, target {target.n})")
    diffs = [
        100 * (t.scores.get(metric, 0.0) - s.scores.get(metric, 0.0))
        for s, t in zip(source.items, target.items, strict=True)
    ]
    n = len(diffs)
    mean = sum(diffs) / n
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1)) if n > 1 else math.inf
    half = Z_ONE_SIDED_95 * sd / math.sqrt(n) if n > 1 else math.inf
    lower, upper = mean - half, mean + half
    verdict: Verdict
    needed = None
    if lower > -margin:
        verdict = "migrate"
    elif upper < -margin:
        verdict = "worse"
    else:
        verdict = "not yet"
        needed = items_needed(mean, sd if math.isfinite(sd) else 0.0, margin)
        if needed is not None and needed <= n:
            needed = n + 1  # exactly on the boundary the formula gives n itself
    return Certificate(
        source=_figures(source, metric),
        target=_figures(target, metric),
        metric=metric,
        margin=margin,
        n=n,
        difference=mean,
        lower=lower,
        upper=upper,
        verdict=verdict,
        items_needed=needed,
        source_run=source_run,
        target_run=target_run,
        eval_data=eval_data,
    )


def _figures(summary: CandidateSummary, metric: str) -> CandidateFigures:
    return CandidateFigures(
        model=summary.model,
        score=summary.score(metric),
        errors=summary.errors,
        cost_per_1k=summary.cost_per_1k,
        latency_p50_s=summary.latency_p50,
        prompt_tokens=summary.prompt_tokens,
    )
