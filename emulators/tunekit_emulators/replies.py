"""The answer every OpenAI-compatible emulated chat route gives: deterministic, cheap, and naming its model.

A model "answers" with its own short name and the last word of the conversation, so a test can
tell which model (base, tuned, deployed) replied without any weights; a tuned model given the
replies its training data memorized (:func:`tunekit_emulators.openai.training.parse_training_file`)
answers a trained prompt with its trained reply, so tuned-vs-base evaluations show a real gap.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tunekit_emulators.base import IdFactory
from tunekit_emulators.openai.training import normalize_prompt, sampled_form

__all__ = ["echo_completion"]


def echo_completion(
    model: str,
    messages: list[Any],
    *,
    ids: IdFactory,
    created: float,
    replies: Mapping[str, str] | None = None,
    draw: int | None = None,
) -> dict[str, Any]:
    """A ``chat.completion`` body for ``messages``, answered by ``model`` (usage counted in words).

    ``draw`` (a request sampled at a temperature above 0) picks one of a few variants of an untuned answer,
    as :func:`tunekit_emulators.openai.training.sampled_base_answer` does.
    """
    turns = [m for m in messages if isinstance(m, dict)]
    prompt = " ".join(str(m.get("content", "")) for m in turns)
    last_user = next((str(m.get("content", "")) for m in reversed(turns) if m.get("role") == "user"), "")
    words = prompt.split()
    memorized = (replies or {}).get(normalize_prompt(last_user))
    text = memorized or f"{model.split('#')[0].rsplit('/', 1)[-1]} answers: {words[-1] if words else ''}"
    if memorized is None and draw is not None:
        text = sampled_form(text, draw)
    usage = {"prompt_tokens": len(words), "completion_tokens": len(text.split())}
    return {
        "id": ids.new("chatcmpl-", 24),
        "object": "chat.completion",
        "created": int(created),
        "model": model,
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
        "usage": {**usage, "total_tokens": sum(usage.values())},
    }
