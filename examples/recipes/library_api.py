"""The recipe assistant through the Python API: what `tunekit run` does, step by step.

    python examples/recipes/library_api.py                          # local.yaml: SmolLM2 on this machine
    python examples/recipes/library_api.py examples/recipes/openai.yaml --yes

Each step is one call: load and check the config, validate the data (and see
the cost), submit, wait with progress, get the tuned model, chat with it, and
evaluate it against the base model zero-shot and few-shot on the held-out split.

Running the script again trains nothing twice: ``submit`` returns the run of
the same job (same config and data) that succeeded, resumes one that is still
going, and asks only when it would start a job that bills.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tunekit import JobEvent, JobState, Tuner
from tunekit.evaluate import evaluate_run

HERE = Path(__file__).resolve().parent
QUESTION = "1 (14 oz) can diced tomatoes, drained\n2 cups finely chopped fresh basil leaves\n3 cloves garlic, minced"


def show(item: JobEvent | JobState) -> None:
    """Print progress as the job reports it."""
    if isinstance(item, JobState):
        step = f" step {item.step}/{item.total_steps}" if item.step is not None and item.total_steps else ""
        print(f"  status: {item.status.value}{step}")
    elif item.metrics:
        metrics = ", ".join(f"{k}={v:.4g}" for k, v in sorted(item.metrics.items()))
        print(f"  step {item.step}: {metrics}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Tune, chat with and evaluate the recipe assistant.")
    parser.add_argument("config", nargs="?", default=str(HERE / "local.yaml"), help="a tunekit config")
    parser.add_argument("--yes", action="store_true", help="spend money without asking (paid providers)")
    parser.add_argument("--poll-interval", type=float, default=None, help="seconds between status polls")
    args = parser.parse_args(argv)

    # 1. Load the config: unknown keys, bad values and provider_options are checked here.
    tuner = Tuner.from_config(args.config)
    print(f"{tuner.config.name}: {tuner.config.model} on {tuner.config.provider}")

    # 2. Validate the data and estimate the cost, before anything is uploaded or spent.
    report = tuner.validate()
    print(report.summary())
    if not report.ok:
        return 3
    existing = tuner.existing_run()  # the run submit() returns instead of training again, if any
    starts_a_job = existing is None or not existing.has_job
    if starts_a_job and tuner.provider.spends_money and not args.yes:
        answer = input("This run spends money. Start it? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            return 1

    # 3. Submit: one job per config and data. A run that succeeded is returned, one still going resumed.
    job = tuner.submit()
    print(f"run {job.run_id}: job {job.job_id}")

    # 4. Wait, printing statuses and metrics as they come.
    poll = args.poll_interval
    if poll is None:
        poll = float(getattr(tuner.provider.options, "poll_interval", 2.0))
    state = job.wait(poll_interval=poll, on_event=show)
    print(f"finished: {state.status.value}")

    # 5. The tuned model, and a chat client for it (the same API for every provider).
    model = job.result()
    if tuner.config.deploy is not None:
        model = tuner.deploy(job.run_id)  # Azure serves a tuned model only once deployed
    print(f"tuned model: {model.model_id}")
    chat = model.client()
    system = "List the generic ingredients as a JSON array of lowercase singular names."
    reply = chat.chat([{"role": "system", "content": system}, {"role": "user", "content": QUESTION}])
    print(f"Q: {QUESTION!r}\nA: {reply.text}  ({reply.usage.total_tokens} tokens)")
    chat.close()

    # 6. Evaluate: base zero-shot, base few-shot and the tuned model on the held-out split.
    evaluation = evaluate_run(tuner, job, model)
    print(evaluation.to_markdown())
    print(evaluation.verdict)
    print(f"report: {evaluation.paths.get('markdown')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
