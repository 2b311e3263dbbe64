"""Move a fine-tuning workload between providers, and compare the two side by side.

    python examples/migration/compare.py                                   # openai.yaml -> local.yaml
    python examples/migration/compare.py FROM.yaml TO.yaml --yes --out comparison.md

Both configs train on the same data and are evaluated on the same held-out
split with the same metrics; only the provider (and its model and options)
differ. Each run goes through the ledger, so running the script again resumes
unfinished runs instead of training twice, and re-uses finished ones.

The table it prints answers the migration questions: does the new provider's
tuned model match the old one on quality, and what does a request cost?
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from tunekit import Job, Tuner
from tunekit.evaluate import EvalReport, evaluate_run

RECIPES = Path(__file__).resolve().parents[1] / "recipes"


def finished_job(tuner: Tuner, *, yes: bool, poll_interval: float | None) -> Job:
    """The newest succeeded run of this config, or a new run trained to the end."""
    from tunekit.jobs import JobStatus

    for job in tuner.jobs():
        if job.record.status is JobStatus.SUCCEEDED:
            return job
    report = tuner.validate()
    if not report.ok:
        raise SystemExit(f"{tuner.config.provider}: the data is invalid\n{report.summary()}")
    if tuner.provider.spends_money and not yes:
        raise SystemExit(f"{tuner.config.provider} bills this run: pass --yes to start it")
    job = tuner.submit()
    poll = poll_interval if poll_interval is not None else float(getattr(tuner.provider.options, "poll_interval", 2))
    job.wait(poll_interval=poll)
    return job


def evaluate(config: str, *, yes: bool, poll_interval: float | None, max_examples: int | None) -> EvalReport:
    tuner = Tuner.from_config(config)
    job = finished_job(tuner, yes=yes, poll_interval=poll_interval)
    model = job.result()
    if tuner.config.deploy is not None:
        model = tuner.deploy(job.run_id)
    options: dict[str, Any] = {"max_examples": max_examples} if max_examples else {}
    return evaluate_run(tuner, job, model, **options)


def side_by_side(old: EvalReport, new: EvalReport, old_name: str, new_name: str) -> str:
    """A Markdown table: each candidate of each provider, every metric, tokens and cost."""
    metrics = old.metrics
    header = ["provider", "candidate", "model", *metrics, "prompt tokens", "USD / 1k requests"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for provider, report in ((old_name, old), (new_name, new)):
        for c in report.candidates:
            cost = "" if c.cost_per_1k is None else f"{c.cost_per_1k:.3f}"
            tokens = "" if c.prompt_tokens is None else f"{c.prompt_tokens:.0f}"
            scores = [f"{c.score(m):.1f}" for m in metrics]
            lines.append("| " + " | ".join([provider, c.name, f"`{c.model}`", *scores, tokens, cost]) + " |")
    primary = metrics[0]
    old_tuned, new_tuned = old.candidate("tuned"), new.candidate("tuned")
    if old_tuned is not None and new_tuned is not None:
        delta = new_tuned.score(primary) - old_tuned.score(primary)
        verb = "matches" if abs(delta) < 0.05 else "beats" if delta > 0 else "trails"
        lines += [
            "",
            f"On {len(new.items)} held-out examples, the {new_name} tuned model {verb} the {old_name} one "
            f"({new_tuned.score(primary):.1f} vs {old_tuned.score(primary):.1f} {primary}).",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Compare one workload tuned on two providers.")
    parser.add_argument("old", nargs="?", default=str(RECIPES / "openai.yaml"), help="the config you move from")
    parser.add_argument("new", nargs="?", default=str(RECIPES / "local.yaml"), help="the config you move to")
    parser.add_argument("--yes", action="store_true", help="start runs that bill without asking")
    parser.add_argument("--poll-interval", type=float, default=None, help="seconds between status polls")
    parser.add_argument("--max-examples", type=int, default=None, help="evaluate on at most N held-out examples")
    parser.add_argument("--out", type=Path, default=None, help="also write the table to this Markdown file")
    args = parser.parse_args(argv)

    old = evaluate(args.old, yes=args.yes, poll_interval=args.poll_interval, max_examples=args.max_examples)
    new = evaluate(args.new, yes=args.yes, poll_interval=args.poll_interval, max_examples=args.max_examples)
    old_name = Tuner.from_config(args.old).config.provider
    new_name = Tuner.from_config(args.new).config.provider
    if old.metrics != new.metrics or [i.reference for i in old.items] != [i.reference for i in new.items]:
        print("warning: the two configs are not evaluated on the same data and metrics", file=sys.stderr)
    table = side_by_side(old, new, old_name, new_name)
    print(table)
    if args.out is not None:
        args.out.write_text(table, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
