"""A model as the judge of open-ended answers, through any chat client.

Two modes (``eval.judge.mode``):

- ``score``: the judge reads the rubric, the question, the reference answer
  and one candidate's answer, and replies ``Score: N`` (1 to 10) and
  ``Reason: ...``. The metric ``judge`` is N / 10 (7 → 70 points); the
  reason is kept with the answer.
- ``pairwise``: the judge sees a candidate's answer and the anchor's (the
  ``against`` candidate; by default the few-shot baseline) and replies
  ``Winner: A``, ``B`` or ``tie``. Every pair is asked twice, the answers
  swapped, because judges favour a position: a win counts 1, a tie ½, a
  loss 0, and the item's score is the mean of the two orders. The anchor
  scores ½ against itself.

A judge's reply is never read as a zero. A reply that refuses ("I'm sorry, I
can't…"), one with no score or winner that can be read, and a request that
failed are counted apart, and that item is left out of the candidate's judge
score (the report says how many). A candidate that did not answer scores 0,
as on every metric, and the judge is not asked about it.

The judge's requests are paid for by the evaluation, not by the candidates:
its tokens and cost are summed in a :class:`JudgeSummary` of their own and
never enter a candidate's tokens or cost per request.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from tunekit.evaluate.prices import Price
from tunekit.secrets import get_logger

if TYPE_CHECKING:
    from tunekit.evaluate.candidates import EvalItem
    from tunekit.evaluate.summary import CandidateSummary, ItemResult
    from tunekit.inference.base import ChatClient, ChatResult

__all__ = ["JUDGE_METRIC", "Judge", "JudgeSummary", "parse_verdict"]

logger = get_logger("tunekit.evaluate")

JUDGE_METRIC = "judge"
"""The metric name the judge's scores go under (list it in ``eval.metrics`` to choose its place)."""

Mode = Literal["score", "pairwise"]
Outcome = Literal["ok", "refused", "unparseable", "error"]

_SCORE = re.compile(r"\bscore\s*[:=]\s*\**\s*(\d+(?:\.\d+)?)\s*\**\s*(?:/\s*10\b|out of 10\b)?", re.IGNORECASE)
_WINNER = re.compile(r"\bwinner\s*[:=]\s*\**\s*(A|B|tie)\b", re.IGNORECASE)
_REASON = re.compile(r"\breason\s*[:=]\s*(.+)", re.IGNORECASE | re.DOTALL)
_REFUSAL = re.compile(
    r"\b(I can(?:no|')t|I cannot|I(?:'m| am) (?:sorry|unable|not able)|I won't|I will not|unable to (?:grade|judge|"
    r"evaluate|comply|help))\b",
    re.IGNORECASE,
)

_SYSTEM = "You grade answers strictly by the rubric you are given. You follow the reply format exactly."


@dataclass(frozen=True)
class Verdict:
    """One judge reply, read."""

    outcome: Outcome
    value: float | str | None = None
    """``score``: the 1-10 number; ``pairwise``: "A", "B" or "tie"."""
    reason: str = ""


def parse_verdict(text: str, mode: Mode) -> Verdict:
    """Read a judge's reply: a score from 1 to 10 or a winner, with its reason; else a refusal or unparseable."""
    reason_match = _REASON.search(text)
    reason = " ".join(reason_match.group(1).split()) if reason_match else ""
    if mode == "score":
        found = _SCORE.search(text)
        if found is not None and 1 <= float(found.group(1)) <= 10:
            return Verdict("ok", float(found.group(1)), reason)
    else:
        won = _WINNER.search(text)
        if won is not None:
            choice = won.group(1)
            return Verdict("ok", "tie" if choice.lower() == "tie" else choice.upper(), reason)
    outcome: Outcome = "refused" if _REFUSAL.search(text) else "unparseable"
    return Verdict(outcome, None, " ".join(text.split())[:200])


@dataclass
class JudgeSummary:
    """What judging cost, and how many of the judge's replies could not be used."""

    model: str
    mode: Mode
    provider: str = ""
    against: str | None = None
    """The pairwise anchor."""
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    price: Price | None = None
    refused: int = 0
    unparseable: int = 0
    errors: int = 0
    left_out: int = 0
    """Candidate answers without a judge score because a reply was refused, unreadable or failed."""
    samples: list[str] = field(default_factory=list)
    """A few replies that could not be read, to show what the judge said."""

    @property
    def cost(self) -> float | None:
        if self.price is None:
            return None
        return self.price.per_request(self.prompt_tokens, self.completion_tokens)

    def line(self) -> str:
        """One sentence for the report: the judge's own bill, and the replies it could not use."""
        how = f"pairwise against {self.against}, both orders" if self.mode == "pairwise" else "score 1-10"
        cost = f"${self.cost:.4f}" if self.cost is not None else "cost unknown (no price)"
        text = (
            f"Judge {self.model} ({how}): {self.requests:,} requests, {self.prompt_tokens:,} prompt and "
            f"{self.completion_tokens:,} completion tokens, {cost}; not part of any candidate's cost."
        )
        bad = [(self.refused, "refused"), (self.unparseable, "could not be read"), (self.errors, "failed")]
        said = [f"{n} {what}" for n, what in bad if n]
        if said:
            text += (
                f" Of its replies {', '.join(said)}: {self.left_out} answers have no judge score and are left "
                "out of it (never counted as 0)."
            )
        return text

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "cost": self.cost}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JudgeSummary:
        known = set(cls.__dataclass_fields__)
        values = {key: value for key, value in data.items() if key in known}
        if values.get("price"):
            values["price"] = Price(**values["price"])
        return cls(**values)


def _question(item: EvalItem) -> str:
    turns = []
    for message in item.prompt:
        content = message.get("content")
        text = content if isinstance(content, str) else str(content)
        turns.append(f"{message.get('role', 'user')}: {text}")
    return "\n".join(turns)


class Judge:
    """Scores every candidate's answers with a judge model (see the module's description)."""

    def __init__(
        self,
        client: ChatClient,
        rubric: str,
        *,
        mode: Mode = "score",
        price: Price | None = None,
        against: str | None = None,
        provider: str = "",
        max_tokens: int = 256,
        concurrency: int | None = None,
    ) -> None:
        self.client = client
        self.rubric = rubric.strip()
        self.mode: Mode = mode
        self.price = price
        self.against = against
        self.provider = provider
        self.max_tokens = max_tokens
        self.concurrency = concurrency

    # -- prompts -------------------------------------------------------------------------

    def _messages(self, body: str) -> list[dict[str, Any]]:
        # The rubric comes first: it is what the judge must apply to everything after it.
        return [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": f"{self.rubric}\n\n{body}"}]

    def score_prompt(self, item: EvalItem, answer: str) -> list[dict[str, Any]]:
        return self._messages(
            f"Question:\n{_question(item)}\n\nReference answer:\n{item.reference}\n\nAnswer to grade:\n{answer}\n\n"
            "Reply with one line 'Score: N', N an integer from 1 (worst) to 10 (best) under the rubric, then one "
            "line 'Reason: ' and why."
        )

    def pairwise_prompt(self, item: EvalItem, first: str, second: str) -> list[dict[str, Any]]:
        return self._messages(
            f"Question:\n{_question(item)}\n\nReference answer:\n{item.reference}\n\nAnswer A:\n{first}\n\n"
            f"Answer B:\n{second}\n\nWhich answer is better under the rubric? Reply with one line 'Winner: A', "
            "'Winner: B' or 'Winner: tie', then one line 'Reason: ' and why."
        )

    # -- scoring -------------------------------------------------------------------------

    def score(self, candidates: Sequence[CandidateSummary], items: Sequence[EvalItem]) -> JudgeSummary:
        """Add the ``judge`` score (and reason) to every answer of every candidate; return the judge's bill."""
        summary = JudgeSummary(self.client.model, self.mode, self.provider, price=self.price)
        if self.mode == "pairwise":
            anchor = self._anchor(candidates)
            summary.against = anchor.name
            self._pairwise(candidates, anchor, items, summary)
        else:
            self._scores(candidates, items, summary)
        return summary

    def _anchor(self, candidates: Sequence[CandidateSummary]) -> CandidateSummary:
        from tunekit.errors import ConfigError

        if self.against is not None:
            for c in candidates:
                if self.against in (c.name, c.kind):
                    return c
            names = ", ".join(c.name for c in candidates)
            raise ConfigError(f"eval.judge.against: no candidate {self.against!r} (candidates: {names})")
        return next((c for c in candidates if c.kind == "few-shot"), candidates[0])

    def _ask(self, requests: list[list[dict[str, Any]]], summary: JudgeSummary) -> list[Verdict]:
        if not requests:
            return []
        params: dict[str, Any] = {"max_tokens": self.max_tokens, "temperature": 0.0}
        if self.concurrency is not None:
            params["concurrency"] = self.concurrency
        results: list[ChatResult] = self.client.batch(requests, **params)
        verdicts = []
        for result in results:
            summary.requests += 1
            summary.prompt_tokens += result.usage.prompt_tokens
            summary.completion_tokens += result.usage.completion_tokens
            if result.error is not None:
                summary.errors += 1
                verdicts.append(Verdict("error", None, result.error))
                continue
            verdict = parse_verdict(result.text, self.mode)
            if verdict.outcome == "refused":
                summary.refused += 1
            elif verdict.outcome == "unparseable":
                summary.unparseable += 1
            if verdict.outcome != "ok" and len(summary.samples) < 3:
                summary.samples.append(" ".join(result.text.split())[:200])
            verdicts.append(verdict)
        if summary.refused or summary.unparseable or summary.errors:
            logger.warning(
                "judge %s: %d refused, %d unreadable, %d failed of %d replies; those answers have no judge score",
                self.client.model,
                summary.refused,
                summary.unparseable,
                summary.errors,
                summary.requests,
            )
        return verdicts

    def _scores(self, candidates: Sequence[CandidateSummary], items: Sequence[EvalItem], summary: JudgeSummary) -> None:
        asked = [(c, i) for c in candidates for i, r in enumerate(c.items) if r.error is None]
        verdicts = self._ask([self.score_prompt(items[i], c.items[i].prediction) for c, i in asked], summary)
        found = {(id(c), i): v for (c, i), v in zip(asked, verdicts, strict=True)}
        for c in candidates:
            new = []
            for i, result in enumerate(c.items):
                verdict = found.get((id(c), i))
                if verdict is None:  # the candidate did not answer: 0, as on every metric
                    new.append(_with(result, 0.0, "no answer"))
                elif verdict.outcome == "ok" and isinstance(verdict.value, float):
                    new.append(_with(result, verdict.value / 10, verdict.reason))
                else:
                    summary.left_out += 1
                    new.append(_with(result, None, f"judge {verdict.outcome}: {verdict.reason}"))
            c.items = new

    def _pairwise(
        self,
        candidates: Sequence[CandidateSummary],
        anchor: CandidateSummary,
        items: Sequence[EvalItem],
        summary: JudgeSummary,
    ) -> None:
        asked = [
            (c, i)
            for c in candidates
            if c is not anchor
            for i, r in enumerate(c.items)
            if r.error is None and anchor.items[i].error is None
        ]
        requests = []
        for c, i in asked:
            mine, theirs = c.items[i].prediction, anchor.items[i].prediction
            requests.append(self.pairwise_prompt(items[i], mine, theirs))  # the candidate as A
            requests.append(self.pairwise_prompt(items[i], theirs, mine))  # then as B
        verdicts = self._ask(requests, summary)
        found = {(id(c), i): (verdicts[2 * n], verdicts[2 * n + 1]) for n, (c, i) in enumerate(asked)}
        anchor.items = [
            _with(r, 0.0 if r.error else 0.5, "no answer" if r.error else "the anchor ties with itself")
            for r in anchor.items
        ]
        for c in candidates:
            if c is anchor:
                continue
            new = []
            for i, result in enumerate(c.items):
                pair = found.get((id(c), i))
                if pair is None:  # one side did not answer: the side that did wins
                    value = 0.0 if result.error else 1.0
                    new.append(_with(result, value, "no answer" if result.error else f"{anchor.name} did not answer"))
                    continue
                first, second = pair
                if first.outcome != "ok" or second.outcome != "ok":
                    bad = first if first.outcome != "ok" else second
                    summary.left_out += 1
                    new.append(_with(result, None, f"judge {bad.outcome}: {bad.reason}"))
                    continue
                points = {"A": 1.0, "tie": 0.5, "B": 0.0}
                value = (points[str(first.value)] + (1.0 - points[str(second.value)])) / 2
                reason = f"as A: {first.value} ({first.reason}); as B: {second.value} ({second.reason})"
                new.append(_with(result, value, reason))
            c.items = new


def _with(result: ItemResult, value: float | None, reason: str) -> ItemResult:
    """The answer with its judge score (none when the judge's reply was unusable) and the judge's reason."""
    scores = {k: v for k, v in result.scores.items() if k != JUDGE_METRIC}
    if value is not None:
        scores[JUDGE_METRIC] = value
    return replace(result, scores=scores, judge_reason=reason)
