"""Before paying for training, ask every candidate the evaluation will call one question.

An evaluation that cannot reach its models fails only after the training it
was meant to judge has been paid for, and then every request waits through
its retries. :func:`probe` sends one short request (the first held-out
question, one completion token, two attempts) to each remote candidate and
returns one :class:`ProbeFailure` per candidate that did not answer, naming
where the request went. ``tunekit run`` refuses to train while any fails.

The tuned model does not exist yet, so it cannot be asked; it is usually
served where the base model is (the same API, Inference Endpoint template or
server), which is what the base model's answer shows. When the config's
``deploy:`` section creates an endpoint that serves both (an adapter on its
base model, `Provider.deploy_serves_evaluation`), the baselines are not asked
either: their endpoint does not exist before training. Models that run on this
machine are not probed: loading one is the costly part, not reaching it.

What is known without a request is said first: a base model whose tuned models
the provider serves only on a dedicated deployment (``serves_tuned`` in its
limits table, :meth:`Limits.serving_refusal
<tunekit.data.profile.Limits.serving_refusal>`) with no ``deploy:`` section,
and what :meth:`Provider.evaluation_problems
<tunekit.provider.Provider.evaluation_problems>` names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from tunekit.errors import TunekitError
from tunekit.evaluate.candidates import Candidate, EvalItem, build_candidates, eval_items
from tunekit.inference.client import RemoteChatClient
from tunekit.retry import RetryPolicy

if TYPE_CHECKING:
    from tunekit.config import TuneConfig
    from tunekit.provider import Provider

__all__ = ["ProbeFailure", "check_evaluation", "probe"]

_BASELINES = frozenset({"zero-shot", "few-shot", "retrieval", "rag"})
"""Candidate kinds that ask the base model."""

_PROBE_RETRY = RetryPolicy(max_attempts=2, initial_wait=0.5, max_wait=2.0, deadline=60.0)
"""A probe tells whether a service is there at all: one retry for a blip, not the evaluation's patience."""


@dataclass(frozen=True)
class ProbeFailure:
    """A candidate that did not answer its probe."""

    candidate: str
    model: str
    endpoint: str
    error: str
    no_answer: bool
    """No response came back at all (nothing listens there, or it is unreachable)."""

    def line(self) -> str:
        return f"{self.candidate} ({self.model} at {self.endpoint}): {self.error}"


def probe(candidates: Sequence[Candidate], item: EvalItem, *, retry: RetryPolicy = _PROBE_RETRY) -> list[ProbeFailure]:
    """One request per remote candidate (its own prompt for ``item``, one completion token)."""
    failures = []
    for candidate in candidates:
        client = candidate.client
        if not isinstance(client, RemoteChatClient):
            continue
        params = {k: v for k, v in {**candidate.params, "max_tokens": 1, "temperature": 0.0}.items() if v is not None}
        saved, client.retry = client.retry, replace(retry)
        try:
            client.chat(candidate.render_all([item])[0], **params)
        except TunekitError as exc:
            no_answer = getattr(exc, "status_code", 0) is None
            error = " ".join(str(exc).split())
            failures.append(ProbeFailure(candidate.name, candidate.model, client.endpoint, error, no_answer))
        finally:
            client.retry = saved
    return failures


def check_evaluation(
    config: TuneConfig,
    provider: Provider,
    *,
    examples: Sequence[Any] | None = None,
    train_examples: Sequence[Any] | None = None,
) -> list[str]:
    """Problems that would make the config's evaluation fail, as lines naming candidate, model and URL.

    Empty when every remote candidate that exists before training (the
    baselines and the named models) answered one question.
    """
    from tunekit.config import EvalConfig
    from tunekit.evaluate.metrics import resolve_metrics
    from tunekit.evaluate.runs import close_candidates, held_out_examples

    eval_settings = config.eval or EvalConfig()
    named = [m for m in eval_settings.metrics if m != "judge"]
    # A broken grader file or scorer is said before training, naming the file and the key.
    metrics = resolve_metrics(named, regex=eval_settings.regex) if named else []
    # What the limits table and the provider know is missing, said before the probes: a tuned model the
    # service will not serve without a deployment cannot answer an evaluation right after training.
    unserved = provider.limits(config.model).serving_refusal(config, provider.name, deploys=provider.deploys)
    missing = [*([unserved] if unserved else []), *provider.evaluation_problems(config)]
    if examples is None or train_examples is None:
        held_out, train = held_out_examples(config)
        examples = held_out if examples is None else examples
        train_examples = train if train_examples is None else train_examples
    items = eval_items(examples, limit=eval_settings.max_examples)
    for metric in metrics:  # and a grader's {{item.<field>}} that some held-out example lacks
        metric.check_items(items)
    candidates = build_candidates(config, provider, train_examples=train_examples)
    deployed = config.deploy is not None and provider.deploy_serves_evaluation(config)
    # The deployment `tunekit run` makes after training serves the base model too: nothing to ask before it exists.
    asked = [c for c in candidates if not (deployed and c.kind in _BASELINES)]
    try:
        failures = probe(asked, items[0])
    finally:
        close_candidates(candidates)
    lines = [*missing, *(failure.line() for failure in failures)]
    if any(failure.no_answer for failure in failures):
        settings = _where_settings(provider)
        if settings:
            lines.append(f"where the evaluation sends requests is set by {settings}")
    return lines


def _where_settings(provider: Provider) -> str:
    """The provider options that choose the inference endpoint (their names say so), with the unset ones marked."""
    options = provider.options
    fields = getattr(type(options), "model_fields", {}) if options is not None else {}
    chosen = []
    for name in fields:
        if "url" in name or name.startswith("inference"):
            value = getattr(options, name, None)
            chosen.append(f"provider_options.{name}" + (" (not set)" if value is None else ""))
    return ", ".join(chosen)
