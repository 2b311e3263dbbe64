"""init_from on AutoTrain: the job starts from the earlier run's Hub repo, which must hold a full model."""

from __future__ import annotations

import json

import pytest
from autotrain_helpers import BASE_MODEL, TunerFactory, emulator_options

from tunekit.errors import ConfigError
from tunekit.jobs import Job, JobStatus
from tunekit.ledger import Ledger
from tunekit.tuner import Tuner
from tunekit_emulators.hub import HubEmulator


def _succeeded(job: Job) -> Job:
    assert job.wait(poll_interval=0.05, timeout=30).status == JobStatus.SUCCEEDED
    return job


def _child(hub: HubEmulator, tuner: Tuner, parent: str) -> Tuner:
    data = tuner.config.data.train
    return Tuner(
        provider="autotrain",
        model=BASE_MODEL,
        data={"train": data},
        init_from=parent,
        provider_options=emulator_options(hub),
    )


def test_a_run_continues_the_merged_model_of_an_earlier_run(
    hub_emulator: HubEmulator, make_tuner: TunerFactory
) -> None:
    stage_one = make_tuner(params={"merge_adapter": True})
    parent = _succeeded(stage_one.submit())
    parent_repo = parent.result().model_id

    child = _child(hub_emulator, stage_one, parent.run_id)
    job = child.submit()
    params = json.loads(hub_emulator.job(job.job_id)["environment"]["PARAMS"])
    assert params["model"] == parent_repo and params["repo_id"] != parent_repo
    model = _succeeded(job).result()
    assert model.base_model == parent_repo  # the child's adapter sits on the parent's model
    assert job.record.parent is not None and job.record.parent.start == parent_repo
    assert child.submit().run_id == job.run_id and len(hub_emulator.jobs()) == 2
    with pytest.raises(ConfigError, match=r"init_from: run .*: provider 'autotrain' does not support checkpoints"):
        _child(hub_emulator, stage_one, f"{parent.run_id}@1").submit()


def test_an_adapter_repo_is_refused_before_any_upload(hub_emulator: HubEmulator, make_tuner: TunerFactory) -> None:
    stage_one = make_tuner()  # an adapter, not merged
    parent = _succeeded(stage_one.submit())
    repos, runs = len(hub_emulator.repos()), len(Ledger().runs())
    with pytest.raises(ConfigError, match=r"init_from: .* holds a LoRA adapter.*merge_adapter: true"):
        _child(hub_emulator, stage_one, parent.run_id).submit()
    assert len(hub_emulator.repos()) == repos and len(Ledger().runs()) == runs and len(hub_emulator.jobs()) == 1
