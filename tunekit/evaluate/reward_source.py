"""A reward function as self-contained Python source, for a service that runs graders in its own sandbox.

A hosted reinforcement fine-tuning job cannot import the user's module: it runs
a script it is given. :func:`portable_source` turns a metric into such a script:
the built-ins from their own definitions here, a ``module:function`` reward from
its module's source, refused (ConfigError naming why) when that module needs
anything beyond the standard library, or when the function is not a plain
top-level function whose source can be read.

The script defines ``tunekit_score(prediction, reference, fields)``, which calls
the function exactly as the evaluation does: the example's other fields passed
by name (see :class:`tunekit.evaluate.metrics.Metric`). :func:`reward_script`
joins a config's rewards into one script whose ``tunekit_reward`` is their mean;
a provider appends the few lines of its service's entry point (OpenAI's
``grade(sample, item)``, Fireworks' ``evaluate(messages, ground_truth, ...)``).
"""

from __future__ import annotations

import ast
import inspect
import sys
from collections.abc import Sequence

from tunekit.errors import ConfigError
from tunekit.evaluate import metrics as _metrics
from tunekit.evaluate.metrics import BUILTIN_METRICS, Metric, scorer_columns

__all__ = ["MAX_SOURCE_BYTES", "portable_source", "reward_script"]

MAX_SOURCE_BYTES = 256 * 1024
"""OpenAI's limit on a python grader's source."""

# What the built-in metrics need around them; the functions themselves are read from tunekit.evaluate.metrics,
# so a grader always scores as `tunekit eval` does.
_BUILTIN_PRELUDE = f"""import json
import re
import string
from collections import Counter

_ARTICLES = re.compile({_metrics._ARTICLES.pattern!r}, {int(_metrics._ARTICLES.flags)})
_PUNCTUATION = str.maketrans("", "", string.punctuation)
"""
_BUILTIN_HELPERS = (_metrics.normalize_answer, _metrics._parse_json)


# Each reward runs in its own namespace, so two reward modules cannot clash.
_MEAN = '''

_SCORERS = {}
for _name, _source in _SOURCES.items():
    _namespace = {"__name__": "tunekit_reward_" + _name}
    exec(compile(_source, "<reward " + _name + ">", "exec"), _namespace)
    _SCORERS[_name] = _namespace["tunekit_score"]


def tunekit_reward(prediction, reference, fields):
    """The mean of the rewards, each given the output, the reference and the row's other fields."""
    scores = [score(prediction or "", reference or "", fields) for score in _SCORERS.values()]
    return sum(scores) / len(scores)
'''


def reward_script(rewards: Sequence[Metric]) -> str:
    """One self-contained script defining ``tunekit_reward(prediction, reference, fields)``, the rewards' mean.

    A ConfigError lists every reward that cannot be sent (``problems``), each named with the reason.
    """
    sources: dict[str, str] = {}
    problems: list[str] = []
    for reward in rewards:
        try:
            sources[reward.name] = portable_source(reward)
        except ConfigError as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigError("a reward cannot run as the service's grader", problems=problems)
    return f"_SOURCES = {sources!r}\n{_MEAN}"


def portable_source(metric: Metric) -> str:
    """Python source defining ``tunekit_score(prediction, reference, fields) -> float`` for ``metric``."""
    scorer = metric.scorer
    if BUILTIN_METRICS.get(metric.name) is scorer:
        body = "\n\n".join(inspect.getsource(f) for f in (*_BUILTIN_HELPERS, scorer))
        source = f"{_BUILTIN_PRELUDE}\n\n{body}"
    else:
        source = _module_source(metric)
    required, optional, takes_all = scorer_columns(scorer)
    if takes_all:
        pick = "fields"
    else:
        names = (*required, *optional)
        pick = f"{{k: fields[k] for k in {names!r} if k in fields}}"
    source += (
        f"\n\ndef tunekit_score(prediction, reference, fields):\n"
        f"    return float({scorer.__name__}(prediction, reference, **{pick}))\n"
    )
    if len(source.encode()) > MAX_SOURCE_BYTES:
        raise ConfigError(
            f"reward {metric.name}: its module's source is over {MAX_SOURCE_BYTES // 1024} KiB, more than a hosted "
            "grader takes; move the function to a smaller module"
        )
    return source


def _module_source(metric: Metric) -> str:
    scorer = metric.scorer
    name = getattr(scorer, "__name__", "")
    qualname = getattr(scorer, "__qualname__", "")
    if not inspect.isfunction(scorer) or qualname != name or name == "<lambda>":
        raise ConfigError(
            f"reward {metric.name}: only a plain top-level function can run as a hosted grader (this is "
            f"{type(scorer).__name__} {qualname or name!r})"
        )
    module = inspect.getmodule(scorer)
    try:
        source = inspect.getsource(module) if module is not None else ""
    except (OSError, TypeError):
        source = ""
    if not source:
        raise ConfigError(f"reward {metric.name}: the source of its module cannot be read, so it cannot be sent")
    foreign = sorted(_foreign_imports(source))
    if foreign:
        raise ConfigError(
            f"reward {metric.name}: its module imports {', '.join(foreign)}; a hosted grader runs the module alone "
            "with only Python's standard library, so keep the reward's module to the standard library"
        )
    return source


def _foreign_imports(source: str) -> set[str]:
    """Modules the source imports from outside the standard library (relative imports included)."""
    foreign: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            tops = [alias.name.partition(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                foreign.add("." * node.level + (node.module or ""))
                continue
            tops = [(node.module or "").partition(".")[0]]
        else:
            continue
        foreign.update(top for top in tops if top != "__future__" and top not in sys.stdlib_module_names)
    return foreign
