"""Fireworks evaluators in the emulator: checked when created, run on a job's rows as the service runs them.

An evaluator made of code snippets (``criteria[].codeSnippets``: ``fileContents``,
``entryFile``, ``entryFunc``; reward-kit's convention, ``main.py`` and ``evaluate``
by default) is built when it is created: a file that does not compile makes it
``BUILD_FAILED``. A reinforcement fine-tuning job then calls the entry function on
each dataset row, with the row's ``messages`` followed by a sampled answer and the
row's other columns by name, and reads the returned ``score`` (0..1). The code runs
alone in a fresh interpreter with only Python's standard library (``-I -S``) and a
time limit, so an evaluator that imports a package the service lacks, raises, or
returns no score fails the job, as on the service.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

__all__ = ["EvaluatorFailed", "build_problem", "run_evaluator", "snippets"]

TIMEOUT_SECONDS = 30.0

# Runs in the child: write the files to a fresh folder, import the entry file, score every row.
_RUNNER = r"""
import importlib.util, json, os, sys, tempfile
job = json.load(sys.stdin)
folder = tempfile.mkdtemp(prefix="evaluator-")
for name, text in job["files"].items():
    path = os.path.join(folder, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
sys.path.insert(0, folder)
try:
    spec = importlib.util.spec_from_file_location("evaluator_entry", os.path.join(folder, job["entry_file"]))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    evaluate = getattr(module, job["entry_func"])
except Exception as exc:
    sys.exit(f"loading {job['entry_file']}: {type(exc).__name__}: {exc}")
scores = []
for number, (row, answer) in enumerate(zip(job["rows"], job["answers"]), start=1):
    fields = {k: v for k, v in row.items() if k != "messages"}
    messages = [*row.get("messages", []), {"role": "assistant", "content": answer}]
    try:
        result = evaluate(messages=messages, **fields)
        score = result.get("score") if isinstance(result, dict) else getattr(result, "score", None)
    except Exception as exc:
        sys.exit(f"row {number}: {type(exc).__name__}: {exc}")
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0.0 <= score <= 1.0:
        sys.exit(f"row {number}: the evaluator returned no score in [0, 1] (got {result!r})")
    scores.append(float(score))
print(json.dumps(scores))
"""


class EvaluatorFailed(Exception):
    """The evaluator could not score the rows; the message says where and why."""


def snippets(evaluator: dict[str, Any]) -> tuple[dict[str, str], str, str]:
    """(files, entry file, entry function) of an evaluator's first code-snippets criterion."""
    for criterion in evaluator.get("criteria") or []:
        code = criterion.get("codeSnippets") or {}
        if criterion.get("type") == "CODE_SNIPPETS" or code:
            files = {str(k): str(v) for k, v in (code.get("fileContents") or {}).items()}
            return files, str(code.get("entryFile") or "main.py"), str(code.get("entryFunc") or "evaluate")
    return {}, "main.py", "evaluate"


def build_problem(evaluator: dict[str, Any]) -> str | None:
    """Why building the evaluator fails (no code, no entry file, a file that does not compile), or None."""
    files, entry_file, _entry_func = snippets(evaluator)
    if not files:
        return "the evaluator has no CODE_SNIPPETS criterion with fileContents"
    if entry_file not in files:
        return f"entryFile {entry_file!r} is not among fileContents ({', '.join(sorted(files))})"
    for name, text in files.items():
        if name.endswith(".py"):
            try:
                compile(text, name, "exec")
            except SyntaxError as exc:
                return f"{name}:{exc.lineno}: {exc.msg}"
    return None


def run_evaluator(
    evaluator: dict[str, Any], rows: list[dict[str, Any]], answers: list[str], *, timeout: float = TIMEOUT_SECONDS
) -> list[float]:
    """Each row's score for its answer; EvaluatorFailed names the row and the reason."""
    files, entry_file, entry_func = snippets(evaluator)
    job = {"files": files, "entry_file": entry_file, "entry_func": entry_func, "rows": rows, "answers": answers}
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-S", "-c", _RUNNER],
            input=json.dumps(job),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise EvaluatorFailed(f"the evaluator ran past {timeout:g} s") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise EvaluatorFailed(last)
    return [float(s) for s in json.loads(done.stdout)]
