"""Evaluating what a config describes: its baselines, its tuned model, the models it names.

``evaluate_run`` is what ``tunekit run`` and ``tunekit eval RUN`` call: it
builds the candidates from the config's ``eval`` section, the provider and
the run's tuned model, reads the held-out data (``eval.data``, else the
validation split), takes the loss curve from the run's recorded metrics, and
writes the report into a folder of its own in the run's folder
(``<run_dir>/eval/<UTC time>/``, with ``<run_dir>/eval/latest`` pointing at it;
see :mod:`tunekit.evaluate.store`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunekit.errors import ConfigError, DataError, TunekitError
from tunekit.evaluate.candidates import Candidate, Price, build_candidates, eval_items
from tunekit.evaluate.plots import loss_points
from tunekit.evaluate.report import EvalReport
from tunekit.evaluate.runner import Progress, evaluate
from tunekit.secrets import get_logger

if TYPE_CHECKING:
    from collections.abc import Mapping

    from tunekit.config import TuneConfig
    from tunekit.evaluate.breakeven import Economics
    from tunekit.evaluate.judge import Judge
    from tunekit.evaluate.spend import EvaluationSpend
    from tunekit.inference.base import ChatClient
    from tunekit.jobs import Job
    from tunekit.provider import FineTunedModel, Provider
    from tunekit.tuner import Tuner

__all__ = [
    "build_judge",
    "close_candidates",
    "evaluate_baselines",
    "evaluate_config",
    "evaluate_run",
    "held_out_examples",
    "stored_report",
    "track_evaluation",
]

logger = get_logger("tunekit.evaluate")


def held_out_examples(config: TuneConfig) -> tuple[list[Any], list[Any]]:
    """``(evaluation examples, training examples)`` for a config.

    The evaluation set is ``eval.data`` when given, else the validation file
    or split; the training examples feed the few-shot baseline.
    """
    from tunekit.data import load_splits, read_examples

    splits = load_splits(config)
    if config.eval is not None and config.eval.data:
        held_out = list(read_examples(config.eval.data))
    elif splits.validation:
        held_out = list(splits.validation)
    else:
        raise DataError(
            "nothing to evaluate on: set eval.data, data.validation or data.validation_split in the config",
            file=config.data.train,
        )
    return held_out, list(splits.train)


def evaluate_config(
    config: TuneConfig,
    provider: Provider,
    *,
    model: FineTunedModel | None = None,
    examples: Sequence[Any] | None = None,
    train_examples: Sequence[Any] | None = None,
    metrics: Sequence[str] | None = None,
    max_examples: int | None = None,
    concurrency: int | None = None,
    prices: Mapping[str, Price] | None = None,
    loss: Sequence[Mapping[str, float]] = (),
    loss_image: str | Path | None = None,
    out_dir: str | Path | None = None,
    title: str | None = None,
    progress: Progress | None = None,
    confirm: Callable[[EvaluationSpend], None] | None = None,
    economics: Economics | None = None,
) -> EvalReport:
    """Evaluate the candidates a config asks for; save the report when ``out_dir`` is given.

    ``loss_image`` is a loss plot the run already has (a provider's), shown instead of drawing ``loss``.
    ``confirm`` is called with what the evaluation will bill once every input is checked and before the
    first request; it raises to stop (``tunekit eval`` asks there unless ``--yes``).
    ``economics`` (training cost, hosting fee, traffic) feed the break-even; by default the provider's
    estimate or reported training cost, its hosting fee for ``deploy`` and ``eval.traffic``.
    """
    from tunekit.config import EvalConfig

    settings = config.eval or EvalConfig()
    if examples is None or train_examples is None:
        held_out, train = held_out_examples(config)
        examples = held_out if examples is None else examples
        train_examples = train if train_examples is None else train_examples
    items = eval_items(examples, limit=max_examples or settings.max_examples)
    candidates = build_candidates(config, provider, model=model, train_examples=train_examples, prices=prices)
    judge = build_judge(config, provider, concurrency=concurrency)
    graders = _GraderClients(provider)
    try:
        if confirm is not None:
            from tunekit.evaluate.spend import evaluation_spend

            confirm(evaluation_spend(candidates, items, settings.max_new_tokens, judge=judge))
        report = evaluate(
            candidates,
            items,
            metrics or settings.metrics,
            regex=settings.regex,
            max_examples=max_examples or settings.max_examples,
            max_new_tokens=settings.max_new_tokens,
            concurrency=concurrency,
            loss=loss,
            title=title or _title(config, model),
            progress=progress,
            judge=judge,
            models=graders.client,
            rewards=config.reward,  # a training reward is always reported, after the listed metrics
        )
    finally:
        graders.close()
        close_candidates(candidates)
        if judge is not None:
            judge.client.close()
    if loss_image is not None:
        report.loss_image = str(loss_image)
    if economics is None:
        from tunekit.evaluate.economics import economics_of

        economics = economics_of(config, provider, model)
    report.economics = economics
    if out_dir is not None:
        report.save(out_dir)
        logger.info("evaluation report written to %s", report.paths.get("markdown"))
    return report


def evaluate_baselines(
    tuner: Tuner,
    *,
    out_dir: str | Path | None = None,
    **options: Any,
) -> EvalReport:
    """The baseline ladder before any training: what prompting alone achieves, so training can be skipped.

    Evaluates the config's baselines (zero-shot, few-shot, retrieval, rag) and
    its ``eval.models``, with no tuned model. The report goes into ``out_dir``
    when given, else into a new folder under ``$TUNEKIT_HOME/evals/`` (as
    ``tunekit eval CONFIG`` writes it). ``options`` are
    :func:`evaluate_config`'s (``max_examples``, ``confirm``, ...).
    """
    from tunekit.evaluate.store import report_into_new_folder
    from tunekit.paths import tunekit_home

    def write(folder: str | Path) -> EvalReport:
        return evaluate_config(tuner.config, tuner.provider, out_dir=folder, **options)

    if out_dir is not None:
        return write(out_dir)
    return report_into_new_folder(tunekit_home() / "evals", write)


def build_judge(config: TuneConfig, provider: Provider, *, concurrency: int | None = None) -> Judge | None:
    """The judge ``eval.judge`` asks for: its model through its provider (the config's unless it names one)."""
    settings = config.eval.judge if config.eval is not None else None
    if settings is None:
        return None
    from tunekit.evaluate.candidates import provider_for
    from tunekit.evaluate.judge import Judge
    from tunekit.evaluate.prices import price_for

    if settings.provider is not None and settings.provider != provider.name:
        from tunekit.registry import create_provider

        try:
            judge_provider, model_id = create_provider(settings.provider, {}), settings.model
        except TunekitError as exc:
            raise ConfigError(
                f"eval.judge.provider: the {settings.provider} provider cannot be used with its default options "
                f"(set them through its environment variables): {exc}"
            ) from exc
    else:
        judge_provider, model_id = provider_for(settings.model, provider, what="eval.judge")
    return Judge(
        judge_provider.base_client(model_id),
        settings.rubric,
        mode=settings.mode,
        price=price_for(judge_provider.name, model_id),
        against=settings.against,
        provider=judge_provider.name,
        max_tokens=settings.max_tokens,
        concurrency=concurrency,
    )


class _GraderClients:
    """Chat clients for model graders' ``model`` (``provider:model`` or the config's provider), made once each."""

    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        self.clients: dict[str, ChatClient] = {}

    def client(self, spec: str) -> ChatClient:
        if spec not in self.clients:
            from tunekit.evaluate.candidates import provider_for

            owner, model_id = provider_for(spec, self.provider, what="grader model")
            self.clients[spec] = owner.base_client(model_id)
        return self.clients[spec]

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


def evaluate_run(
    tuner: Tuner,
    job: Job,
    model: FineTunedModel | None = None,
    *,
    out_dir: str | Path | None = None,
    **options: Any,
) -> EvalReport:
    """Evaluate a finished run's tuned model against the config's baselines.

    The report goes into ``out_dir`` when given, else into a new folder under
    the run's ``eval/`` folder, which ``eval/latest`` then points at (earlier
    reports are kept).
    """
    from tunekit.evaluate.store import report_into_new_folder

    model = model if model is not None else job.result()
    loss = loss_points(job.metrics())
    image = loss_image_of(model)

    def write(folder: str | Path) -> EvalReport:
        return evaluate_config(
            tuner.config, tuner.provider, model=model, loss=loss, loss_image=image, out_dir=folder, **options
        )

    report = write(out_dir) if out_dir is not None else report_into_new_folder(job.record.run_dir / "eval", write)
    track_evaluation(job, report)
    return report


def track_evaluation(job: Job, report: EvalReport) -> None:
    """Give the run's tracker (if it has one) every candidate's scores and the report's files."""
    tracking = job.tracking
    if tracking is None or "json" not in report.paths:
        return
    from tunekit.tracking import metric_key

    results = {metric_key("eval", c.name, m): c.score(m) for c in report.candidates for m in report.metrics}
    results.update({metric_key("eval", c.name, "errors"): float(c.errors) for c in report.candidates})
    tracking.log_evaluation(Path(report.paths["json"]).parent, results)


def loss_image_of(model: FineTunedModel | None) -> str | None:
    """The loss plot the provider drew for this model (``metadata["loss_curve"]``), if it exists."""
    found = model.metadata.get("loss_curve") if model is not None else None
    return str(found) if isinstance(found, str) and Path(found).is_file() else None


def stored_report(job: Job) -> EvalReport | None:
    """The run's latest saved evaluation report, if it was evaluated before."""
    from tunekit.evaluate.store import latest_report_folder

    folder = latest_report_folder(job.record.run_dir / "eval")
    return EvalReport.load(folder) if folder is not None else None


def _title(config: TuneConfig, model: FineTunedModel | None) -> str:
    name = config.name or (model.run_id if model is not None and model.run_id else None) or config.model
    return f"Evaluation: {name} ({config.provider})"


def close_candidates(candidates: Sequence[Candidate]) -> None:
    """Close each distinct client once (baselines share one)."""
    seen: set[int] = set()
    for candidate in candidates:
        if id(candidate.client) in seen:
            continue
        seen.add(id(candidate.client))
        try:
            candidate.client.close()
        except Exception as exc:  # closing must not hide the evaluation's own outcome
            logger.debug("closing %s failed: %s", candidate.name, exc)
