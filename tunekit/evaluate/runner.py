"""Run held-out items through candidates and score the answers."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from tunekit.errors import ConfigError
from tunekit.evaluate.candidates import Candidate, EvalItem, eval_items
from tunekit.evaluate.graders import ModelClients, Unscored
from tunekit.evaluate.judge import JUDGE_METRIC, Judge
from tunekit.evaluate.metrics import Metric, resolve_metrics
from tunekit.evaluate.report import CandidateSummary, EvalReport, ItemResult
from tunekit.evaluate.rewards import check_reward_columns, resolve_rewards
from tunekit.inference.base import ChatResult
from tunekit.inference.client import RemoteChatClient
from tunekit.secrets import get_logger

__all__ = ["evaluate"]

logger = get_logger("tunekit.evaluate")

Progress = Callable[[str, int, int], None]
"""``progress(candidate_name, done, total)``."""

GIVE_UP_AFTER = 5
"""A remote candidate is no longer asked once this many requests in a row got no answer at all."""


def evaluate(
    candidates: Sequence[Candidate],
    examples: Iterable[Any],
    metrics: Sequence[str | Metric] = ("exact_match",),
    *,
    regex: str | None = None,
    max_examples: int | None = None,
    max_new_tokens: int = 256,
    params: Mapping[str, Any] | None = None,
    concurrency: int | None = None,
    loss: Sequence[Mapping[str, float]] = (),
    title: str = "Evaluation",
    progress: Progress | None = None,
    give_up_after: int | None = GIVE_UP_AFTER,
    judge: Judge | None = None,
    models: ModelClients | None = None,
    rewards: Sequence[str | Metric] = (),
) -> EvalReport:
    """Answer every held-out example with every candidate, score, and report.

    ``examples`` are canonical chat examples (or ``{"messages": [...]}``
    dicts, or :class:`EvalItem` s); the last assistant message of each is the
    reference answer. Requests are greedy (``temperature=0``) unless
    ``params`` says otherwise (a ``None`` value sends no such parameter, for
    models that refuse one). ``loss`` rows (see
    :func:`tunekit.evaluate.plots.loss_points`) give the report its loss curve.
    A remote candidate whose service answers none of ``give_up_after``
    requests in a row is asked nothing more; a candidate that answered
    nothing makes the report's verdict "evaluation failed" (see
    :attr:`EvalReport.failed`). A ``judge`` scores the answers under the
    metric ``judge`` (placed where ``metrics`` lists it, else last) and its
    own bill goes into :attr:`EvalReport.judge`. ``models`` gives model
    graders (``grader:file.json`` of type score_model or label_model) their client.
    ``rewards`` are the training rewards (``reward:``): each one ``metrics`` does not
    already name is scored too, after the listed metrics (the first stays the
    primary one); one that needs a field some held-out example lacks is left out, and
    the report says why.
    """
    if not candidates:
        raise ConfigError("evaluate needs at least one candidate")
    names = [c.name for c in candidates]
    if len(set(names)) != len(names):
        raise ConfigError(f"candidate names repeat: {names}")
    if JUDGE_METRIC in metrics and judge is None:
        raise ConfigError("the judge metric needs a judge (eval.judge: model and rubric)")
    plain = [m for m in metrics if m != JUDGE_METRIC]
    resolved = resolve_metrics(plain, regex=regex, models=models) if plain or judge is None else []
    examples = list(examples)
    if examples and all(isinstance(e, EvalItem) for e in examples):
        items: list[EvalItem] = examples[:max_examples] if max_examples else examples
    else:
        items = eval_items(examples, limit=max_examples)
    for metric in resolved:  # a grader's {{item.<field>}} the data lacks is said before any model is asked
        metric.check_items(items)
    reward_names, left_out = _add_rewards(resolved, rewards, items)
    request_params: dict[str, Any] = {"max_tokens": max_new_tokens, "temperature": 0.0, **(params or {})}

    summaries = []
    for candidate in candidates:
        logger.info("evaluating %s (%s) on %d examples", candidate.name, candidate.model, len(items))
        merged = {k: v for k, v in {**request_params, **candidate.params}.items() if v is not None}
        requests = candidate.render_all(items)
        notes: dict[str, Any] = {}
        if candidate.retrieval is not None:
            notes = {"k": candidate.retrieval.k, "excluded_duplicates": candidate.retrieval.excluded}
        if candidate.rag is not None:
            notes = {**notes, "k": candidate.rag.k, "passages": len(candidate.rag.passages)}
        results = _answer(candidate, requests, merged, concurrency, progress, give_up_after)
        scored = [_score(result, item, resolved) for result, item in zip(results, items, strict=True)]
        summary = CandidateSummary(candidate.name, candidate.kind, candidate.model, scored, candidate.price, notes)
        summaries.append(summary)
    names = [m.name for m in resolved]
    judged = None
    if judge is not None:
        logger.info("judging %d answers with %s (%s)", len(items) * len(summaries), judge.client.model, judge.mode)
        judged = judge.score(summaries, items)
        listed = [m if isinstance(m, str) else m.name for m in metrics]
        names.insert(listed.index(JUDGE_METRIC) if JUDGE_METRIC in listed else len(names), JUDGE_METRIC)
    return EvalReport(
        candidates=summaries,
        metrics=names,
        items=items,
        title=title,
        loss=[dict(row) for row in loss],
        judge=judged,
        rewards=reward_names,
        rewards_left_out=left_out,
    )


def _add_rewards(
    resolved: list[Metric], rewards: Sequence[str | Metric], items: Sequence[EvalItem]
) -> tuple[list[str], list[str]]:
    """Append to ``resolved`` the rewards it lacks; return the rewards' names and why any was left out.

    A reward is loaded as training loads it (:func:`resolve_rewards`). One whose
    name a listed metric already has is that metric. An added reward that needs
    an example field the held-out data lacks is left out rather than failing the
    evaluation: the user listed the metrics, not that one.
    """
    if not rewards:
        return [], []
    listed = {metric.name for metric in resolved} | {JUDGE_METRIC}
    names, left_out = [], []
    for reward in resolve_rewards(rewards):
        if reward.name in listed:
            names.append(reward.name)
            continue
        try:
            check_reward_columns([reward], items)
            reward.check_items(items)  # a grader file's nested {{item.<path>}} too
        except ConfigError as exc:
            why = exc.problems or [str(exc)]
            left_out.extend(why)
            logger.warning("the training reward %s is not scored: %s", reward.name, "; ".join(why))
            continue
        resolved.append(reward)
        names.append(reward.name)
    return names, left_out


def _answer(
    candidate: Candidate,
    requests: list[list[dict[str, Any]]],
    params: dict[str, Any],
    concurrency: int | None,
    progress: Progress | None,
    give_up_after: int | None,
) -> list[ChatResult]:
    total = len(requests)
    kwargs: dict[str, Any] = dict(params)
    if concurrency is not None:
        kwargs["concurrency"] = concurrency
    client = candidate.client
    if isinstance(client, RemoteChatClient):
        kwargs["give_up_after"] = give_up_after
        kwargs["log_failures"] = False  # one line below, naming the candidate too
    if progress is not None and isinstance(client, RemoteChatClient):
        done = 0

        def on_result(index: int, result: ChatResult) -> None:
            nonlocal done
            done += 1
            progress(candidate.name, done, total)

        kwargs["on_result"] = on_result
    results = client.batch(requests, **kwargs)
    if progress is not None and not isinstance(client, RemoteChatClient):
        progress(candidate.name, total, total)
    if len(results) != total:
        raise RuntimeError(f"{candidate.name}: the client returned {len(results)} answers for {total} requests")
    failed = [r for r in results if r.error is not None]
    if failed:
        where = getattr(client, "endpoint", None) or candidate.model
        logger.warning(
            "%s (%s at %s): %d of %d requests failed and count as wrong; first error: %s",
            candidate.name,
            candidate.model,
            where,
            len(failed),
            len(results),
            " ".join((failed[0].error or "").split()),
        )
    return results


def _score(result: ChatResult, item: EvalItem, metrics: list[Metric]) -> ItemResult:
    scores: dict[str, float] = {}
    for metric in metrics:
        if result.error is not None:
            scores[metric.name] = 0.0
            continue
        try:
            scores[metric.name] = metric.score(result.text, item.reference, item.fields)
        except Unscored as exc:  # a model grader's unreadable reply: no score for this answer, not a 0
            logger.warning("%s left example %s without a score: %s", metric.name, item.where, exc)
        except Exception as exc:  # a user's scorer: say which one broke, and on what
            raise ConfigError(f"scorer {metric.name} failed on example {item.where}: {exc}") from exc
    return ItemResult(
        prediction=result.text,
        scores=scores,
        prompt_tokens=result.usage.prompt_tokens,
        completion_tokens=result.usage.completion_tokens,
        latency_s=result.latency_s,
        error=result.error,
        attempts=result.attempts,
    )
