"""A config's reward functions as the grader of an OpenAI (or Azure) reinforcement fine-tuning job.

The same functions score ``tunekit eval`` and local GRPO; here they become the
service's grader, checked before anything is uploaded:

- ``exact_match`` alone is a ``string_check`` (``eq``), which the service runs natively;
- any other reward, or several, is one ``python`` grader built from the rewards' own
  source (:func:`tunekit.plugin.reward_script`, which averages them);
- a reward whose module needs more than the standard library is refused with the reason.

The grader sees a sample's ``output_text`` and the training row (``item``): the
reference answer under ``reference`` and the example's other fields by name, as
written by the ``openai-reinforcement`` data target.
"""

from __future__ import annotations

from typing import Any

from tunekit.plugin import TuneConfig, resolve_rewards, reward_script

__all__ = ["GRADER_NAME", "reward_grader"]

GRADER_NAME = "tunekit rewards"

_GRADE = """

def grade(sample, item):
    fields = {k: v for k, v in item.items() if k != "reference"}
    return tunekit_reward(sample.get("output_text"), item.get("reference"), fields)
"""


def reward_grader(config: TuneConfig) -> dict[str, Any]:
    """The grader for ``config.reward``; a ConfigError names each reward that cannot become one."""
    rewards = resolve_rewards(config.reward)
    if config.reward == ["exact_match"]:
        return {
            "type": "string_check",
            "name": "exact_match",
            "input": "{{sample.output_text}}",
            "reference": "{{item.reference}}",
            "operation": "eq",
        }
    script = reward_script(rewards) + _GRADE
    name = rewards[0].name if len(rewards) == 1 else GRADER_NAME
    return {"type": "python", "name": name, "source": script}
