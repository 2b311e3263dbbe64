"""The run's data as AutoTrain (or TRL) reads it: ``train.jsonl`` / ``validation.jsonl`` in a private dataset repo.

Conversion is the shared data layer's (:func:`tunekit.data.write_examples`);
uploading is ``huggingface_hub``'s, whose preupload step skips files the repo
already holds, so sending the same data twice costs no commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunekit.plugin import content_hash
from tunekit_autotrain.hub import HubConnection

if TYPE_CHECKING:
    from tunekit.plugin import DatasetSplits, RunContext

__all__ = ["Uploaded", "upload_splits"]


@dataclass(frozen=True)
class Uploaded:
    repo: str
    sha256: str
    commit: str
    train_rows: int
    validation_rows: int
    columns: dict[str, Any] = field(default_factory=dict)
    """AutoTrain's column parameters for these rows (text_column, prompt_text_column, ..., chat_template)."""


def upload_splits(
    hub: HubConnection,
    data: DatasetSplits,
    run: RunContext,
    *,
    dataset_repo: str,
    target: str,
    chat_template: str | None,
    private: bool,
) -> Uploaded:
    """Write the splits for ``target`` (``autotrain`` or ``trl``) and commit them to ``dataset_repo``."""
    from huggingface_hub import CommitOperationAdd

    from tunekit.plugin import autotrain_params, write_examples

    template: Any = chat_template or "tokenizer"
    kind = str(getattr(data.train[0], "kind", "chat")) if data.train else "chat"
    paths: dict[str, Path] = {}
    for role, examples in (("train", data.train), ("validation", data.validation)):
        if not examples:
            continue
        paths[role] = write_examples(examples, run.run_dir / f"{role}.jsonl", target, chat_template=template)
    digest = content_hash(paths["train"])
    api = hub.api

    run.intent("create_dataset_repo", dataset_repo, repo=dataset_repo, private=private)
    hub.call(api.create_repo, dataset_repo, repo_type="dataset", private=private, exist_ok=True)
    run.outcome("create_dataset_repo", dataset_repo, repo=dataset_repo)

    def commit() -> Any:
        # Operations are single-use in huggingface_hub: a retried attempt builds its own.
        operations = [CommitOperationAdd(f"{role}.jsonl", str(path)) for role, path in paths.items()]
        return api.create_commit(
            dataset_repo,
            operations,
            commit_message=f"tunekit training data (sha256 {digest[:12]})",
            repo_type="dataset",
        )

    run.intent("upload_data", f"{', '.join(f'{r}.jsonl' for r in paths)} sha256 {digest[:12]}", sha256=digest)
    info = hub.call(commit)
    run.outcome("upload_data", info.oid, repo=dataset_repo, commit=info.oid, sha256=digest)
    return Uploaded(
        repo=dataset_repo,
        sha256=digest,
        commit=str(info.oid),
        train_rows=len(data.train),
        validation_rows=len(data.validation or []),
        columns=autotrain_params(kind, template) if target == "autotrain" else {},
    )
