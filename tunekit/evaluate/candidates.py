"""What is evaluated (candidates) and on what (held-out items).

An :class:`EvalItem` is one held-out conversation cut before its last
assistant message: the prompt, and that message as the reference answer.

A :class:`Candidate` is a chat client plus how it is prompted. The
prompt-engineering baseline is the base model *few-shot*: ``k`` training
conversations placed before the question as prior user/assistant turns
(after any system message), which is what the tuned model has to beat to
be worth its training and hosting.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from tunekit.errors import ConfigError, DataError, TunekitError
from tunekit.evaluate.prices import Price, price_for
from tunekit.inference.client import normalize_messages

if TYPE_CHECKING:
    from tunekit.config import EvalConfig, TuneConfig
    from tunekit.evaluate.rag import DocumentIndex
    from tunekit.evaluate.retrieval import Retrieval
    from tunekit.inference.base import ChatClient
    from tunekit.provider import FineTunedModel, Provider

__all__ = [
    "Candidate",
    "CandidateKind",
    "EvalItem",
    "Price",
    "build_candidates",
    "conversation_of",
    "eval_items",
    "few_shot_turns",
    "fields_of",
    "provider_for",
    "split_model",
]

CandidateKind = Literal["zero-shot", "few-shot", "retrieval", "rag", "tuned", "tuned+rag", "model"]


@dataclass(frozen=True)
class EvalItem:
    """A held-out prompt and the answer expected of it."""

    prompt: list[dict[str, Any]]
    reference: str
    where: str = "?"
    fields: Mapping[str, Any] = field(default_factory=dict)
    """The example's other fields (columns beside the conversation), passed by name to scorers that ask for them."""


def _messages_of(example: Any) -> tuple[list[dict[str, Any]], str]:
    where = example.where() if hasattr(example, "where") else "?"
    if isinstance(example, Mapping):
        raw = example.get("messages")
        if raw is None:
            raise DataError("an evaluation example needs 'messages'", file=where)
        return normalize_messages(raw), where
    if hasattr(example, "to_messages"):
        return normalize_messages(example.to_messages()), where
    if hasattr(example, "messages"):
        return normalize_messages(example.messages), where
    kind = getattr(example, "kind", type(example).__name__)
    raise DataError(f"a {kind} example cannot be evaluated as a chat; use chat or prompt-completion data", file=where)


def conversation_of(example: Any) -> list[dict[str, Any]]:
    """An example's messages as plain dicts (canonical examples, ``{"messages": [...]}`` dicts)."""
    return _messages_of(example)[0]


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, Mapping))
    return ""


def eval_items(examples: Iterable[Any], *, limit: int | None = None) -> list[EvalItem]:
    """Held-out items from canonical examples (or ``{"messages": [...]}`` dicts)."""
    items: list[EvalItem] = []
    for example in examples:
        if limit is not None and len(items) >= limit:
            break
        messages, where = _messages_of(example)
        last = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=None)
        if last is None or last == 0:
            raise DataError("an evaluation example needs a prompt and an assistant answer", file=where)
        prompt = [_strip(m) for m in messages[:last]]
        reference = _text(messages[last].get("content"))
        items.append(EvalItem(prompt=prompt, reference=reference, where=where, fields=fields_of(example)))
    if not items:
        raise DataError("no evaluation examples")
    return items


def fields_of(example: Any) -> dict[str, Any]:
    """An example's fields beside its conversation (a canonical example's ``fields``, a dict's other keys)."""
    if isinstance(example, Mapping):
        return {str(k): v for k, v in example.items() if k not in ("messages", "tools", "parallel_tool_calls")}
    return dict(getattr(example, "fields", None) or {})


def _strip(message: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if k != "weight"}


def few_shot_turns(examples: Sequence[Any], k: int, *, seed: int = 0) -> list[dict[str, Any]]:
    """``k`` training conversations (seeded choice) as prior turns, without their system messages."""
    if k <= 0:
        return []
    pool = list(examples)
    if not pool:
        raise DataError("few-shot needs training examples, and there are none")
    chosen = random.Random(seed).sample(pool, min(k, len(pool)))
    turns: list[dict[str, Any]] = []
    for example in chosen:
        messages, _ = _messages_of(example)
        turns.extend(_strip(m) for m in messages if m.get("role") not in ("system", "developer"))
    return turns


@dataclass
class Candidate:
    """A model and how it is prompted, under a display name."""

    name: str
    client: ChatClient
    kind: CandidateKind = "model"
    shots: list[dict[str, Any]] = field(default_factory=list)
    """Prior turns placed after the prompt's system messages (the few-shot examples)."""
    price: Price | None = None
    params: dict[str, Any] = field(default_factory=dict)
    """Request parameters for this candidate only."""
    spends_money: bool = False
    """Whether asking this candidate bills someone (its provider's ``spends_money``)."""
    retrieval: Retrieval | None = None
    """Chooses each question's shots (the retrieval baseline) instead of the fixed ``shots``."""
    rag: DocumentIndex | None = None
    """Puts passages from the user's documents into each question (the rag and tuned+rag candidates)."""

    @property
    def model(self) -> str:
        return self.client.model

    def render_all(self, items: Sequence[EvalItem]) -> list[list[dict[str, Any]]]:
        """The messages this candidate is sent for each item (shots and passages retrieved for all at once)."""
        prompts = [item.prompt for item in items]
        if self.rag is not None:
            prompts = self.rag.render_all(prompts)
        if self.retrieval is None:
            return [self.render(prompt) for prompt in prompts]
        shots = self.retrieval.shots_for(items)
        return [self.render(prompt, shots=s) for prompt, s in zip(prompts, shots, strict=True)]

    def render(
        self, prompt: Sequence[Mapping[str, Any]], *, shots: Sequence[Mapping[str, Any]] | None = None
    ) -> list[dict[str, Any]]:
        """The messages this candidate is sent for ``prompt`` (with ``shots``, else its own)."""
        messages = [dict(m) for m in prompt]
        shots = self.shots if shots is None else shots
        if not shots:
            return messages
        head = 0
        while head < len(messages) and messages[head].get("role") in ("system", "developer"):
            head += 1
        return messages[:head] + [dict(m) for m in shots] + messages[head:]


def build_candidates(
    config: TuneConfig,
    provider: Provider,
    *,
    model: FineTunedModel | None = None,
    train_examples: Sequence[Any] = (),
    prices: Mapping[str, Price] | None = None,
) -> list[Candidate]:
    """The candidates a config asks for: base zero-shot and few-shot, the tuned model, named models.

    Clients come from the provider (``base_client`` for base and named
    models, ``client`` for the tuned one). Prices come from ``prices`` (by
    model id), else the price table (see :func:`tunekit.evaluate.prices.price_for`).
    """
    from tunekit.config import EvalConfig

    settings = config.eval or EvalConfig()

    def price(model_id: str, *, tuned: bool = False) -> Price | None:
        if prices is not None and model_id in prices:
            return prices[model_id]
        return price_for(provider.name, model_id, tuned=tuned)

    candidates: list[Candidate] = []
    base_model = model.base_model if model is not None else config.model
    bills = provider.spends_money
    rag = _document_index(settings, provider, base_model)  # its input errors come before any client is made
    needs_base = bool(settings.baselines) or rag is not None
    base = None
    if needs_base:
        base = provider.base_client_for(model) if model is not None else provider.base_client(base_model)

    def add(name: str, client: ChatClient, kind: CandidateKind, model_id: str, **fields: Any) -> None:
        tuned = kind in ("tuned", "tuned+rag")
        candidates.append(
            Candidate(name, client, kind, price=price(model_id, tuned=tuned), spends_money=bills, **fields)
        )

    if base is not None and "zero-shot" in settings.baselines:
        add("base zero-shot", base, "zero-shot", base_model)
    if base is not None and "few-shot" in settings.baselines and settings.few_shot > 0:
        shots = few_shot_turns(train_examples, settings.few_shot, seed=config.seed)
        add(f"base few-shot (k={settings.few_shot})", base, "few-shot", base_model, shots=shots)
    if base is not None and "retrieval" in settings.baselines and settings.few_shot > 0:  # k=0: no shots at all
        from tunekit.evaluate.retrieval import Retrieval

        k = settings.few_shot
        retrieval = Retrieval([conversation_of(example) for example in train_examples], k)
        add(f"base retrieval (k={k})", base, "retrieval", base_model, retrieval=retrieval)
    if base is not None and rag is not None:
        add(f"base rag (k={rag.k})", base, "rag", base_model, rag=rag)
    if model is not None:
        tuned = model.client()
        add("tuned", tuned, "tuned", model.model_id)
        if rag is not None and rag.settings.tuned:
            add(f"tuned+rag (k={rag.k})", tuned, "tuned+rag", model.model_id, rag=rag)
    for spec in settings.models:
        other, other_model = provider_for(spec, provider)
        try:
            client = other.base_client(other_model)
        except TunekitError as exc:
            if other is provider:
                raise
            raise ConfigError(
                f"eval.models: {spec}: the {other.name} provider cannot reach this model with its default "
                f"options (set them through its environment variables): {exc}"
            ) from exc
        other_price = price(other_model) if other is provider else price_for(other.name, other_model)
        candidates.append(Candidate(spec, client, "model", price=other_price, spends_money=other.spends_money))
    return candidates


def _document_index(settings: EvalConfig, provider: Provider, base_model: str) -> DocumentIndex | None:
    if settings.rag is None:
        return None
    from tunekit.evaluate.rag import DocumentIndex

    counter = None
    if settings.rag.chunk_tokens is not None or settings.rag.context_tokens is not None:
        from tunekit.data.tokens import token_counter

        # The base model's tokenizer: the rag and tuned+rag candidates are sent the same passages.
        counter = token_counter(base_model, provider)
    return DocumentIndex(settings.rag, counter=counter)


def split_model(spec: str, default: str) -> tuple[str, str]:
    """``(provider, model)`` of an ``eval.models`` entry: ``provider:model`` names an installed provider,
    anything else (``gpt-4.1``, ``ft:gpt-4o-mini:org::id``, ``llama3:8b``) is a model of ``default``."""
    from tunekit import entrypoints

    head, sep, rest = spec.partition(":")
    if sep and rest and (head in entrypoints.registered() or head in entrypoints.entry_points()):
        return head, rest
    return default, spec


def provider_for(spec: str, provider: Provider, *, what: str = "eval.models") -> tuple[Provider, str]:
    """The provider that serves an ``eval.models`` (or judge) entry: another one with its default options, or
    ``provider``; and the model."""
    from tunekit.registry import create_provider

    name, model_id = split_model(spec, provider.name)
    if name == provider.name:
        return provider, model_id
    try:
        return create_provider(name, {}), model_id
    except TunekitError as exc:
        raise ConfigError(
            f"{what}: {spec}: the {name} provider cannot be used with its default options "
            f"(set them through its environment variables): {exc}"
        ) from exc
