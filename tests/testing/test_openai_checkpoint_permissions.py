"""Sharing a tuned checkpoint with other projects through the SDK's ``fine_tuning.checkpoints.permissions``."""

from __future__ import annotations

import openai
import pytest
from emulator_data import chat_lines

from tunekit_emulators import OpenAIEmulator


def test_grant_list_and_revoke_a_checkpoint_permission(openai_emulator: OpenAIEmulator) -> None:
    client = openai.OpenAI(base_url=openai_emulator.base_url, api_key=openai_emulator.api_key, max_retries=0)
    file = client.files.create(file=("train.jsonl", chat_lines()), purpose="fine-tune")
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=file.id)
    assert client.fine_tuning.jobs.retrieve(job.id).status == "succeeded"
    [checkpoint, *_] = client.fine_tuning.jobs.checkpoints.list(job.id).data
    permissions = client.fine_tuning.checkpoints.permissions

    granted = permissions.create(checkpoint.fine_tuned_model_checkpoint, project_ids=["proj_a", "proj_b"])
    assert sorted(p.project_id for p in granted.data) == ["proj_a", "proj_b"]
    listed = list(permissions.list(checkpoint.fine_tuned_model_checkpoint, project_id="proj_b"))
    assert [p.project_id for p in listed] == ["proj_b"]
    deleted = permissions.delete(listed[0].id, fine_tuned_model_checkpoint=checkpoint.fine_tuned_model_checkpoint)
    assert deleted.deleted is True
    remaining = permissions.list(checkpoint.fine_tuned_model_checkpoint, order="ascending")
    assert [p.project_id for p in remaining] == ["proj_a"]
    with pytest.raises(openai.NotFoundError):
        permissions.create("ft:gpt-4o-mini-2024-07-18:org::nope:ckpt-step-1", project_ids=["proj_a"])
