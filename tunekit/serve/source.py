"""What a run's tuned model is made of on this machine: the run, its result, its files, its merged copy.

``tunekit serve`` and ``tunekit export`` start from a run id or a config
file (its newest succeeded run). A run that has not succeeded, or whose
model lives only at a vendor, is refused here, before anything starts.
Engines that cannot load a PEFT adapter get a merged copy, made once per
run (with the merge's agreement check) and kept under
``$TUNEKIT_HOME/cache/merged/``.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunekit.errors import ServingError
from tunekit.secrets import get_logger

if TYPE_CHECKING:
    from tunekit.ledger import Ledger
    from tunekit.provider import FineTunedModel, Provider

__all__ = ["ModelFiles", "merged_folder", "resolve_run"]

logger = get_logger("tunekit.serve")

CHECK_PROMPTS: list[list[dict[str, Any]]] = [
    [{"role": "user", "content": "Hello! What can you do?"}],
    [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Name a colour."}],
    [{"role": "user", "content": "Write one sentence about the sea."}],
]
"""Prompts on which a merged copy must agree with base + adapter before it is written."""


@dataclass(frozen=True)
class ModelFiles:
    """A succeeded run's tuned model and the folder on this machine that holds it."""

    run_id: str
    model: FineTunedModel
    folder: Path
    """The adapter folder (``adapter_config.json``) or the full model folder."""
    base_model: str
    provider: Provider
    ledger: Ledger

    @property
    def is_adapter(self) -> bool:
        return (self.folder / "adapter_config.json").is_file()


def resolve_run(target: str, *, ledger: Ledger | None = None) -> ModelFiles:
    """The tuned model of ``target``: a run id, or a config file (its newest succeeded run).

    Raises :class:`ServingError` for a run that has not succeeded, and
    :class:`~tunekit.errors.UnsupportedOperationError` for a model only its vendor serves.
    """
    from tunekit.tuner import Tuner

    path = Path(target).expanduser()
    if path.is_file():
        tuner = Tuner.from_config(path, ledger=ledger)
        jobs = tuner.jobs()
        done = [job for job in jobs if job.record.result is not None or job.record.status.value == "succeeded"]
        if not done:
            seen = f"its newest run {jobs[0].run_id} is {jobs[0].record.status.value}" if jobs else "it has no run"
            raise ServingError(f"{path}: no succeeded run to serve ({seen}); train it first: tunekit run {path}")
        job = done[0]
    elif path.suffix.lower() in {".yaml", ".yml", ".json"}:
        raise ServingError(f"no such config file: {path}")
    else:
        tuner = Tuner.for_run(target, ledger=ledger)
        job = tuner.job(target)
    if job.record.result is None:
        state = job.status()
        if state.status.value != "succeeded":
            hint = "; wait for it: tunekit watch " + job.run_id if not state.is_terminal else ""
            raise ServingError(f"run {job.run_id} has not succeeded (it is {state.status.value}){hint}")
    model = job.result()
    folder = job.provider.local_files(model)
    base = job.provider.local_base_model(model, folder)
    if (folder / "adapter_config.json").is_file():
        from tunekit.inference.loading import adapter_base_model

        base = base or adapter_base_model(folder)
    return ModelFiles(job.run_id, model, folder, base, job.provider, tuner.ledger)


def merged_folder(files: ModelFiles) -> Path:
    """A full model folder for ``files``: the model itself, the run's own merged copy, or one merged now (once)."""
    if not files.is_adapter:
        return files.folder
    own = files.model.metadata.get("merged_path")
    if isinstance(own, str) and (Path(own) / "config.json").is_file():
        return Path(own)
    from tunekit.paths import tunekit_home

    target = tunekit_home() / "cache" / "merged" / files.run_id
    if (target / "config.json").is_file():
        return target
    import filelock

    target.parent.mkdir(parents=True, exist_ok=True)
    with filelock.FileLock(str(target) + ".lock"):
        if (target / "config.json").is_file():
            return target
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        report = merge_into(files, partial)
        (partial / "tunekit_merge.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
        os.replace(partial, target)
    return target


def merge_into(files: ModelFiles, output: Path) -> dict[str, Any]:
    """Merge the run's adapter into its base weights at ``output``, checked on :data:`CHECK_PROMPTS`."""
    from tunekit.inference.loading import ModelSource, load_tokenizer, prepare_cpu_threads
    from tunekit.inference.merge import merge_adapter

    prepare_cpu_threads()
    # The adapter folder carries the tokenizer and chat template it was trained with.
    if (files.folder / "tokenizer_config.json").is_file():
        tokenizer = load_tokenizer(ModelSource(str(files.folder), "directory", str(files.folder)))
    else:
        tokenizer = load_tokenizer(files.base_model)
    if not getattr(tokenizer, "chat_template", None):
        raise ServingError(
            f"run {files.run_id}: the tokenizer of {files.base_model} has no chat template, so a served or exported "
            "model could not format chats; train on an instruct model that has one"
        )
    logger.info("merging the adapter of run %s into %s", files.run_id, files.base_model)
    report = merge_adapter(files.base_model, files.folder, output, tokenizer, CHECK_PROMPTS)
    report.update(run_id=files.run_id, base_model=files.base_model, adapter=str(files.folder))
    return report
