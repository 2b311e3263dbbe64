"""A config's reward functions as the grader of an OpenAI (or Azure) reinforcement fine-tuning job.

The same functions score ``tunekit eval`` and local GRPO; here they become the
service's grader, checked before anything is uploaded:

- ``exact_match`` alone is a ``string_check`` (``eq``), which the service runs natively;
- any other reward, or several, is one ``python`` grader built from the rewards' own
  source (:func:`tunekit.plugin.portable_source`), averaging them, each in its own
  namespace so two reward modules cannot clash;
- a reward whose module needs more than the standard library is refused with the reason.

The grader sees a sample's ``output_text`` and the training row (``item``): the
reference answer under ``reference`` and the example's other fields by name, as
written by the ``openai-reinforcement`` data target.
"""

from __future__ import annotations

from typing import Any

from tunekit.plugin import ConfigError, TuneConfig, portable_source, resolve_rewards

__all__ = ["GRADER_NAME", "reward_grader"]

GRADER_NAME = "tunekit rewards"

_GRADE = '''

_SCORERS = {}
for _name, _source in _SOURCES.items():
    _namespace = {"__name__": "tunekit_reward_" + _name}
    exec(compile(_source, "<reward " + _name + ">", "exec"), _namespace)
    _SCORERS[_name] = _namespace["tunekit_score"]


def grade(sample, item):
    """The mean of the rewards, each given the output, the reference and the row's other fields."""
    fields = {k: v for k, v in item.items() if k != "reference"}
    output = sample.get("output_text") or ""
    reference = item.get("reference") or ""
    scores = [score(output, reference, fields) for score in _SCORERS.values()]
    return sum(scores) / len(scores)
'''


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
    sources: dict[str, str] = {}
    problems: list[str] = []
    for reward in rewards:
        try:
            sources[reward.name] = portable_source(reward)
        except ConfigError as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigError("a reward cannot run as the service's grader", problems=problems)
    script = f"_SOURCES = {sources!r}\n{_GRADE}"
    name = rewards[0].name if len(rewards) == 1 else GRADER_NAME
    return {"type": "python", "name": name, "source": script}
