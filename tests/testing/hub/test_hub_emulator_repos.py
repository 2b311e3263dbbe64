"""The Hub emulator's accounts and repositories, driven by the real HfApi over loopback HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, hf_hub_download
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from tunekit_emulators.hub import HubEmulator


def test_whoami_names_the_account_and_rejects_a_bad_token(hub_emulator: HubEmulator) -> None:
    assert hub_emulator.api().whoami()["name"] == hub_emulator.namespace
    with pytest.raises(HfHubHTTPError) as info:
        HfApi(endpoint=hub_emulator.endpoint, token="hf_" + "x" * 34).whoami()
    assert info.value.response.status_code == 401


def test_private_dataset_upload_is_deduplicated_and_hidden_from_others(hub_emulator: HubEmulator) -> None:
    api = hub_emulator.api()
    repo_id = f"{hub_emulator.namespace}/autotrain-data-demo"
    url = api.create_repo(repo_id, repo_type="dataset", private=True)
    assert url.repo_id == repo_id and url.repo_type == "dataset"

    where = {"path_in_repo": "train.jsonl", "repo_id": repo_id, "repo_type": "dataset"}
    first = api.upload_file(path_or_fileobj=b'{"a": 1}\n', **where)
    again = api.upload_file(path_or_fileobj=b'{"a": 1}\n', **where)
    assert again.oid == first.oid  # same content: the client skips the commit after preupload
    assert len(api.list_repo_commits(repo_id, repo_type="dataset")) == 2  # initial commit + one upload

    info = api.dataset_info(repo_id)
    assert info.private is True
    assert sorted(api.list_repo_files(repo_id, repo_type="dataset")) == [".gitattributes", "train.jsonl"]
    assert hub_emulator.files(repo_id, "dataset")["train.jsonl"] == b'{"a": 1}\n'

    with pytest.raises(RepositoryNotFoundError):
        HfApi(endpoint=hub_emulator.endpoint, token=False).dataset_info(repo_id)
    hub_emulator.add_user("someone-else", "hf_someoneelse0000000000000000000000")
    with pytest.raises(RepositoryNotFoundError):
        HfApi(endpoint=hub_emulator.endpoint, token="hf_someoneelse0000000000000000000000").dataset_info(repo_id)


def test_create_repo_conflicts_permissions_and_delete(hub_emulator: HubEmulator) -> None:
    api = hub_emulator.api()
    repo_id = f"{hub_emulator.namespace}/model-a"
    api.create_repo(repo_id, private=True)
    with pytest.raises(HfHubHTTPError) as conflict:
        api.create_repo(repo_id)
    assert conflict.value.response.status_code == 409
    assert api.create_repo(repo_id, exist_ok=True).repo_id == repo_id

    with pytest.raises(HfHubHTTPError) as forbidden:
        api.create_repo("another-org/model-b")
    assert forbidden.value.response.status_code == 403

    api.delete_repo(repo_id)
    with pytest.raises(RepositoryNotFoundError):
        api.model_info(repo_id)
    api.delete_repo(repo_id, missing_ok=True)


def test_commit_adds_and_deletes_and_the_tree_reports_last_commits(hub_emulator: HubEmulator) -> None:
    api = hub_emulator.api()
    repo_id = f"{hub_emulator.namespace}/tree-demo"
    api.create_repo(repo_id)
    api.create_commit(
        repo_id,
        [
            CommitOperationAdd("adapter/adapter_config.json", b"{}"),
            CommitOperationAdd("adapter/adapter_model.safetensors", b"\x00" * 16),
            CommitOperationAdd("README.md", b"---\nlicense: mit\n---\n# demo\n"),
        ],
        commit_message="Upload adapter",
    )
    top = {entry.path: type(entry).__name__ for entry in api.list_repo_tree(repo_id)}
    assert top == {"adapter": "RepoFolder", ".gitattributes": "RepoFile", "README.md": "RepoFile"}
    nested = [entry.path for entry in api.list_repo_tree(repo_id, path_in_repo="adapter")]
    assert sorted(nested) == ["adapter/adapter_config.json", "adapter/adapter_model.safetensors"]

    expanded = {entry.path: entry for entry in api.list_repo_tree(repo_id, recursive=True, expand=True)}
    last = expanded["adapter/adapter_model.safetensors"].last_commit  # type: ignore[union-attr]
    assert last is not None and last.title == "Upload adapter"

    api.create_commit(repo_id, [CommitOperationDelete("adapter/")], commit_message="Drop adapter")
    assert "adapter/adapter_config.json" not in api.list_repo_files(repo_id)
    titles = [c.title for c in api.list_repo_commits(repo_id)]
    assert titles == ["Drop adapter", "Upload adapter", "initial commit"]
    assert api.model_info(repo_id).sha == api.list_repo_commits(repo_id)[0].commit_id


def test_files_download_through_hf_hub_download(hub_emulator: HubEmulator, tmp_path: Path) -> None:
    api = hub_emulator.api()
    repo_id = f"{hub_emulator.namespace}/download-demo"
    api.create_repo(repo_id, private=True)
    api.upload_file(path_or_fileobj=b'{"r": 8}', path_in_repo="adapter_config.json", repo_id=repo_id)
    path = hf_hub_download(
        repo_id, "adapter_config.json", endpoint=hub_emulator.endpoint, token=hub_emulator.token, cache_dir=tmp_path
    )
    assert Path(path).read_bytes() == b'{"r": 8}'


def test_unknown_revision_and_missing_folder_are_reported_like_the_hub(hub_emulator: HubEmulator) -> None:
    from huggingface_hub.errors import RemoteEntryNotFoundError, RevisionNotFoundError

    api = hub_emulator.api()
    repo_id = f"{hub_emulator.namespace}/rev-demo"
    api.create_repo(repo_id)
    with pytest.raises(RevisionNotFoundError):
        api.model_info(repo_id, revision="v9")
    with pytest.raises(RemoteEntryNotFoundError):
        list(api.list_repo_tree(repo_id, path_in_repo="nowhere"))
