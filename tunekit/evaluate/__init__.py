"""Did the tuned model beat prompt engineering, and did it cut tokens?

::

    from tunekit.evaluate import Candidate, evaluate

    report = evaluate(
        [Candidate("base few-shot", base, "few-shot", shots=few_shot_turns(train, 3)),
         Candidate("tuned", tuned, "tuned")],
        held_out_examples,
        ["exact_match", "token_f1"],
    )
    print(report.verdict)  # "The tuned model beat base few-shot (k=3) by 31.0 points ... at 18% of its prompt tokens."
    report.save("eval/")  # report.md, report.html, report.json, predictions.jsonl, metrics.png, loss.png

:func:`evaluate_run` does all of it for a finished run, as ``tunekit eval`` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tunekit.lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "Decision": "tunekit.evaluate.breakeven",
    "Economics": "tunekit.evaluate.breakeven",
    "decide": "tunekit.evaluate.breakeven",
    "Judge": "tunekit.evaluate.judge",
    "JudgeSummary": "tunekit.evaluate.judge",
    "Candidate": "tunekit.evaluate.candidates",
    "EvalItem": "tunekit.evaluate.candidates",
    "Price": "tunekit.evaluate.candidates",
    "build_candidates": "tunekit.evaluate.candidates",
    "eval_items": "tunekit.evaluate.candidates",
    "few_shot_turns": "tunekit.evaluate.candidates",
    "BUILTIN_METRICS": "tunekit.evaluate.metrics",
    "Metric": "tunekit.evaluate.metrics",
    "load_scorer": "tunekit.evaluate.metrics",
    "resolve_metrics": "tunekit.evaluate.metrics",
    "EvaluationSpend": "tunekit.evaluate.spend",
    "evaluation_spend": "tunekit.evaluate.spend",
    "ProbeFailure": "tunekit.evaluate.preflight",
    "check_evaluation": "tunekit.evaluate.preflight",
    "price_for": "tunekit.evaluate.prices",
    "CandidateSummary": "tunekit.evaluate.report",
    "Comparison": "tunekit.evaluate.report",
    "EvalReport": "tunekit.evaluate.report",
    "evaluate": "tunekit.evaluate.runner",
    "evaluate_baselines": "tunekit.evaluate.runs",
    "evaluate_config": "tunekit.evaluate.runs",
    "evaluate_run": "tunekit.evaluate.runs",
    "held_out_examples": "tunekit.evaluate.runs",
}

__all__ = [
    "BUILTIN_METRICS",
    "Candidate",
    "CandidateSummary",
    "Comparison",
    "Decision",
    "Economics",
    "EvalItem",
    "EvalReport",
    "EvaluationSpend",
    "Judge",
    "JudgeSummary",
    "Metric",
    "Price",
    "ProbeFailure",
    "build_candidates",
    "check_evaluation",
    "decide",
    "eval_items",
    "evaluate",
    "evaluate_baselines",
    "evaluate_config",
    "evaluate_run",
    "evaluation_spend",
    "few_shot_turns",
    "held_out_examples",
    "load_scorer",
    "price_for",
    "resolve_metrics",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)


if TYPE_CHECKING:
    from tunekit.evaluate.breakeven import Decision, Economics, decide
    from tunekit.evaluate.candidates import Candidate, EvalItem, Price, build_candidates, eval_items, few_shot_turns
    from tunekit.evaluate.judge import Judge, JudgeSummary
    from tunekit.evaluate.metrics import BUILTIN_METRICS, Metric, load_scorer, resolve_metrics
    from tunekit.evaluate.preflight import ProbeFailure, check_evaluation
    from tunekit.evaluate.prices import price_for
    from tunekit.evaluate.report import CandidateSummary, Comparison, EvalReport
    from tunekit.evaluate.runner import evaluate
    from tunekit.evaluate.runs import evaluate_baselines, evaluate_config, evaluate_run, held_out_examples
    from tunekit.evaluate.spend import EvaluationSpend, evaluation_spend
