"""The evaluation report: per-candidate numbers, the verdict, Markdown / HTML / JSON, plots.

Quality is reported in points (mean score × 100). Token counts are what the
service billed (or the local tokenizer counted) per request; cost per 1,000
requests uses the candidate's price; latency percentiles cover the requests
that succeeded. A failed request scores 0 on every metric: a model that
cannot answer has not answered well.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunekit.evaluate.candidates import EvalItem, Price
from tunekit.evaluate.summary import CandidateSummary, Comparison, ItemResult, compare, percentile
from tunekit.secrets import get_logger, redact

if TYPE_CHECKING:
    from tunekit.evaluate.breakeven import Decision, Economics
    from tunekit.evaluate.judge import JudgeSummary

__all__ = ["CandidateSummary", "Comparison", "EvalReport", "ItemResult", "compare", "percentile"]

logger = get_logger("tunekit.evaluate")


@dataclass
class EvalReport:
    """The result of :func:`tunekit.evaluate.evaluate`."""

    candidates: list[CandidateSummary]
    metrics: list[str]
    items: list[EvalItem]
    title: str = "Evaluation"
    loss: list[dict[str, float]] = field(default_factory=list)
    """Training metrics by step (``step``, ``train_loss``, ``valid_loss``, ...) for the loss curve."""
    loss_image: str | None = None
    """A loss plot the run already has (the provider's): shown as the report's loss curve instead of drawing
    a second one."""
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    paths: dict[str, str] = field(default_factory=dict)
    """Files written by :meth:`save`: markdown, html, json, predictions, metrics_png, quality_cost_png, loss_png."""
    economics: Economics | None = None
    """The tuned model's training cost, hosting fee and expected traffic, for the break-even."""
    judge: JudgeSummary | None = None
    """The judge's own requests, tokens and cost, and the replies it could not use (``eval.judge``)."""
    rewards: list[str] = field(default_factory=list)
    """The metrics that are the run's training rewards (``reward:``), in ``metrics`` by these names."""
    rewards_left_out: list[str] = field(default_factory=list)
    """Why a training reward was not scored (it needs a field some held-out example lacks)."""

    @property
    def primary_metric(self) -> str:
        return self.metrics[0]

    @property
    def failed(self) -> list[CandidateSummary]:
        """Candidates that answered none of their requests: with any, the evaluation failed (it is no tie)."""
        return [c for c in self.candidates if c.answered_nothing]

    def candidate(self, name_or_kind: str) -> CandidateSummary | None:
        for c in self.candidates:
            if name_or_kind in (c.name, c.kind):
                return c
        return None

    def comparison(self) -> Comparison | None:
        """The comparison the verdict states: tuned vs the best of retrieval, rag and few-shot (else zero-shot),
        else best vs runner-up."""
        metric = self.primary_metric
        tuned = self.candidate("tuned")
        if tuned is not None:
            prompted = [c for c in map(self.candidate, ("retrieval", "rag", "few-shot")) if c is not None]
            baseline = max(prompted, key=lambda c: c.score(metric)) if prompted else self.candidate("zero-shot")
            others = [c for c in self.candidates if c is not tuned]
            if baseline is None and others:
                baseline = max(others, key=lambda c: c.score(metric))
            return compare(tuned, baseline, metric) if baseline is not None else None
        ranked = sorted(self.candidates, key=lambda c: c.score(metric), reverse=True)
        return compare(ranked[0], ranked[1], metric) if len(ranked) > 1 else None

    def decision(self) -> Decision | None:
        """The cheapest candidate within noise of the best, and when the tuned model pays back its training."""
        from tunekit.evaluate.breakeven import decide

        return None if self.failed else decide(self.candidates, self.primary_metric, self.economics)

    @property
    def verdict(self) -> str:
        """Who won, by how many points, at what share of the prompt tokens — or that it did not; then whether to
        fine-tune: the cheapest candidate as good as the best, and the break-even."""
        decision = self.decision()
        head = self._comparison_sentence()
        return head if decision is None else f"{head} {decision.sentence}"

    def _comparison_sentence(self) -> str:
        metric = self.primary_metric
        if self.failed:
            return _failed_verdict(self.failed)
        comp = self.comparison()
        if comp is None:
            if not self.candidates:
                return "Nothing was evaluated."
            only = self.candidates[0]
            score = f"{only.score(metric):.1f} {metric} points"
            return f"{_label(only, True)} scored {score}; there was nothing to compare it with."
        a, b = comp.candidate, comp.baseline
        subject = _label(a, capital=True)
        other = _label(b)
        scores = f"{a.score(metric):.1f} vs {b.score(metric):.1f} {metric}"
        if abs(comp.difference) < 0.05:
            head = f"{subject} tied with {other} ({scores})"
        elif comp.difference > 0:
            head = f"{subject} beat {other} by {comp.difference:.1f} points ({scores})"
        else:
            not_beat = "did not beat" if a.kind == "tuned" else "trailed"
            head = f"{subject} {not_beat} {other}: {abs(comp.difference):.1f} points lower ({scores})"
        tail = []
        if comp.token_ratio is not None:
            tail.append(f"{100 * comp.token_ratio:.0f}% of its prompt tokens")
        if comp.cost_ratio is not None:
            tail.append(f"{100 * comp.cost_ratio:.0f}% of its cost per 1,000 requests")
        sentence = head + (" at " + " and ".join(tail) if tail else "") + "."
        n = len(self.items)
        if not comp.significant and abs(comp.difference) >= 0.05:
            low, high = comp.ci_low, comp.ci_high
            interval = f"95% CI {low:+.1f} to {high:+.1f} points" if math.isfinite(low) else "one example"
            sentence += f" On {n} examples that difference is within noise ({interval})."
        failed = [c for c in (a, b) if c.errors]
        for c in failed:
            sentence += f" {c.errors} of {c.n} {c.name} requests failed and count as wrong."
        return sentence

    # -- output ----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        comp = self.comparison()
        decision = self.decision()
        return {
            "title": self.title,
            "created_at": self.created_at.isoformat(),
            "examples": len(self.items),
            "metrics": self.metrics,
            "rewards": self.rewards,
            "rewards_left_out": self.rewards_left_out,
            "status": "failed" if self.failed else "ok",
            "verdict": self.verdict,
            "comparison": None
            if comp is None
            else {
                "candidate": comp.candidate.name,
                "baseline": comp.baseline.name,
                "metric": comp.metric,
                "difference_points": comp.difference,
                "ci95_points": [comp.ci_low, comp.ci_high] if math.isfinite(comp.ci_low) else None,
                "prompt_token_ratio": comp.token_ratio,
                "cost_ratio": comp.cost_ratio,
            },
            "candidates": [c.summary(self.metrics) for c in self.candidates],
            "decision": decision.to_dict() if decision is not None else None,
            "economics": self.economics.to_dict() if self.economics is not None else None,
            "judge": self.judge.to_dict() if self.judge is not None else None,
            "loss": self.loss,
            "paths": self.paths,
        }

    def table_rows(self) -> tuple[list[str], list[list[str]]]:
        """Header and rows of the summary table, formatted for people."""
        header = [
            "candidate",
            "model",
            *self.metrics,
            f"{self.primary_metric} 95% CI",
            "mean prompt tok/req",
            "mean completion tok/req",
            "cost / 1k req",
            "p50 latency",
            "p95 latency",
            "errors",
        ]
        rows = []
        for c in self.candidates:
            rows.append(
                [
                    c.name,
                    c.model,
                    *(f"{c.score(m):.1f}" if c.scored(m) else "n/a" for m in self.metrics),
                    _interval(c.interval(self.primary_metric)),
                    _num(c.prompt_tokens),
                    _num(c.completion_tokens),
                    f"${c.cost_per_1k:.4f}" if c.cost_per_1k is not None else "n/a",
                    _seconds(c.latency_p50),
                    _seconds(c.latency_p95),
                    f"{c.errors}/{c.n}",
                ]
            )
        return header, rows

    def samples(self, limit: int = 5) -> list[dict[str, Any]]:
        """Items with each candidate's answer, those where the candidates' scores differ first."""
        metric = self.primary_metric

        def disagree(index: int) -> bool:
            return len({c.items[index].scores.get(metric) for c in self.candidates}) > 1

        indices = list(range(len(self.items)))
        chosen = ([i for i in indices if disagree(i)] + [i for i in indices if not disagree(i)])[:limit]
        out = []
        for index in sorted(chosen):
            item = self.items[index]
            question = next((m.get("content") for m in reversed(item.prompt) if m.get("role") == "user"), "")
            answers = {
                c.name: f"(error: {c.items[index].error})" if c.items[index].error else c.items[index].prediction
                for c in self.candidates
            }
            out.append({"where": item.where, "prompt": question, "reference": item.reference, "answers": answers})
        return out

    def to_markdown(self) -> str:
        from tunekit.evaluate.markdown import render_markdown

        return redact(render_markdown(self))

    def notes(self) -> list[str]:
        """Sentences a reader must know: which metrics are the training rewards, how candidates were prompted."""
        out = []
        if self.rewards:
            out.append(f"Training rewards (reward:): {', '.join(self.rewards)}.")
        out.extend(f"Not scored: {why}." for why in self.rewards_left_out)
        for c in self.candidates:
            if c.notes.get("excluded_duplicates"):  # none excluded: nothing the reader must know
                out.append(
                    f"{c.name}: {c.notes['excluded_duplicates']} training examples were never offered as shots "
                    "because they were the evaluation example itself (or an exact copy)."
                )
        return out

    def legend(self) -> str:
        """What the table's numbers are: which are averages, which percentiles."""
        return (
            f"{len(self.items)} held-out examples. Quality: the mean score × 100 (points); tokens: the mean per "
            "request; cost per 1,000 requests at those mean token counts; latency: the 50th and 95th "
            "percentiles of the answered requests."
        )

    def break_even_line(self) -> str | None:
        """When the tuned model pays back its training and hosting, with where those costs come from."""
        decision = self.decision()
        return decision.break_even_line() if decision is not None else None

    def judge_line(self) -> str | None:
        """What the judge cost (apart from the candidates) and which of its replies could not be used."""
        return self.judge.line() if self.judge is not None else None

    def to_text(self, width: int = 80) -> str:
        """The ladder as plain text no wider than ``width`` columns (terminals, CI logs)."""
        from tunekit.evaluate.text import render_text

        return redact(render_text(self, width=width))

    def to_html(self) -> str:
        from tunekit.evaluate.html import render_html

        return redact(render_html(self))

    # -- notebooks -------------------------------------------------------------------

    def _repr_html_(self) -> str:
        from html import escape

        from tunekit.evaluate.html import render_fragment

        return redact(f"<h3>{escape(self.title)}</h3>" + render_fragment(self, heading="h4"))

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    @classmethod
    def load(cls, directory: str | Path) -> EvalReport:
        """Read back a report :meth:`save` wrote (``report.json`` and ``predictions.jsonl`` in ``directory``)."""
        base = Path(directory)
        data = json.loads((base / "report.json").read_text(encoding="utf-8"))
        rows = [
            json.loads(line) for line in (base / "predictions.jsonl").read_text(encoding="utf-8").splitlines() if line
        ]
        items = [
            EvalItem(prompt=list(row.get("prompt") or []), reference=row["reference"], where=row["where"])
            for row in rows
        ]
        candidates = []
        for summary in data["candidates"]:
            name = summary["name"]
            price = summary.get("price")
            results = [_item_result(row["answers"][name]) for row in rows]
            candidates.append(
                CandidateSummary(
                    name=name,
                    kind=summary["kind"],
                    model=summary["model"],
                    items=results,
                    price=Price(**price) if price else None,
                    notes=dict(summary.get("notes") or {}),
                )
            )
        paths = {key: str(base / Path(value).name) for key, value in (data.get("paths") or {}).items()}
        from tunekit.evaluate.breakeven import Economics
        from tunekit.evaluate.judge import JudgeSummary

        economics = Economics.from_dict(data["economics"]) if data.get("economics") else None
        judge = JudgeSummary.from_dict(data["judge"]) if data.get("judge") else None
        return cls(
            candidates=candidates,
            metrics=list(data["metrics"]),
            items=items,
            title=data.get("title", "Evaluation"),
            loss=list(data.get("loss") or []),
            created_at=datetime.fromisoformat(data["created_at"]),
            paths=paths,
            economics=economics,
            judge=judge,
            rewards=list(data.get("rewards") or []),
            rewards_left_out=list(data.get("rewards_left_out") or []),
        )

    def save(self, directory: str | Path) -> dict[str, str]:
        """Write report.md, report.html, report.json, predictions.jsonl and the PNG plots."""
        from tunekit.evaluate.plots import plot_loss, plot_metrics, plot_quality_cost

        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        paths: dict[str, str] = {}
        if self.loss_image and Path(self.loss_image).is_file():
            # The run already drew its loss curve: the report shows that one, not a second drawing.
            paths["loss_png"] = str(shutil.copyfile(self.loss_image, folder / "loss.png"))
        try:
            paths["metrics_png"] = str(plot_metrics(self, folder / "metrics.png"))
            paths["quality_cost_png"] = str(plot_quality_cost(self, folder / "quality_cost.png"))
            if self.loss and "loss_png" not in paths:
                paths["loss_png"] = str(plot_loss(self.loss, folder / "loss.png"))
        except ImportError as exc:
            logger.warning("no plots (%s); install tunekit[plots] for the PNG charts", exc)
        self.paths = paths
        predictions = folder / "predictions.jsonl"
        with predictions.open("w", encoding="utf-8") as out:
            for index, item in enumerate(self.items):
                row = {
                    "where": item.where,
                    "prompt": item.prompt,
                    "reference": item.reference,
                    "answers": {c.name: asdict(c.items[index]) for c in self.candidates},
                }
                out.write(redact(json.dumps(row, ensure_ascii=False)) + "\n")
        paths["predictions"] = str(predictions)
        paths["markdown"] = str(folder / "report.md")
        paths["html"] = str(folder / "report.html")
        paths["json"] = str(folder / "report.json")
        Path(paths["markdown"]).write_text(self.to_markdown(), encoding="utf-8")
        Path(paths["html"]).write_text(self.to_html(), encoding="utf-8")
        Path(paths["json"]).write_text(redact(json.dumps(self.to_dict(), indent=2, default=str)), encoding="utf-8")
        return dict(paths)


def _failed_verdict(failed: list[CandidateSummary]) -> str:
    parts = [
        f"{c.name} ({c.model}) answered none of its {c.n} requests: {(c.first_error or 'no answer').rstrip('.')}"
        for c in failed
    ]
    return "Evaluation failed: " + "; ".join(parts) + ". No comparison was made."


def _label(c: CandidateSummary, capital: bool = False) -> str:
    text = "the tuned model" if c.kind == "tuned" else c.name
    return text[:1].upper() + text[1:] if capital else text


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.1f}"


def _interval(value: tuple[float, float] | None) -> str:
    return "n/a" if value is None else f"{value[0]:.1f}–{value[1]:.1f}"


def _seconds(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value * 1000:.0f} ms" if value < 10 else f"{value:.1f} s"


def _item_result(raw: dict[str, Any]) -> ItemResult:
    known = set(ItemResult.__dataclass_fields__)
    return ItemResult(**{key: value for key, value in raw.items() if key in known})
