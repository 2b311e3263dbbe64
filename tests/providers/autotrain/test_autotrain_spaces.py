"""backend: spaces: AutoTrain's own Space protocol, for accounts without HF Jobs."""

from __future__ import annotations

import pytest
from autotrain_helpers import TunerFactory

from tunekit.errors import JobCancelledError, ServiceUnavailableError
from tunekit.jobs import JobStatus
from tunekit_emulators import Fault
from tunekit_emulators.hub import HubEmulator


def test_a_space_trains_pushes_pauses_and_the_run_succeeds(hub_emulator: HubEmulator, make_tuner: TunerFactory) -> None:
    job = make_tuner(backend="spaces", flavor="a10g-large").submit()
    space = job.job_id
    assert space == f"{hub_emulator.namespace}/autotrain-{job.ref.extra['project']}"
    api = hub_emulator.api()
    secrets = api.get_space_secrets(space)
    assert {"HF_TOKEN", "AUTOTRAIN_USERNAME", "PROJECT_NAME", "TASK_ID", "PARAMS", "DATA_PATH", "MODEL"} <= set(secrets)
    assert api.space_info(space).private is True and api.get_space_runtime(space).requested_hardware == "a10g-large"
    assert api.get_space_variables(space)["TUNEKIT_RUN_ID"].value == job.run_id

    state = job.wait(poll_interval=0.05, timeout=30)
    assert state.status == JobStatus.SUCCEEDED and state.raw_status == "PAUSED"
    model = job.result()
    assert model.metadata["backend"] == "spaces" and "adapter_config.json" in model.metadata["files"]
    assert any("train_loss" in e.metrics for e in job.metrics())


@pytest.mark.hub_emulator(lifecycle="manual")
def test_cancelling_a_space_pauses_it_and_the_run_is_cancelled(
    hub_emulator: HubEmulator, make_tuner: TunerFactory
) -> None:
    job = make_tuner(backend="spaces", flavor="t4-small").submit()
    assert job.status().status == JobStatus.QUEUED  # building
    hub_emulator.advance(job.job_id)
    assert job.status().status == JobStatus.RUNNING
    job.cancel()
    assert hub_emulator.space_stage(job.job_id) == "PAUSED"
    assert job.status().status == JobStatus.CANCELLED
    with pytest.raises(JobCancelledError):
        job.result()


@pytest.mark.hub_emulator(lifecycle="manual")
def test_a_space_that_pauses_without_a_model_fails(hub_emulator: HubEmulator, make_tuner: TunerFactory) -> None:
    hub_emulator.set_job_outcome("no_files")
    job = make_tuner(backend="spaces", flavor="t4-small").submit()
    hub_emulator.advance(job.job_id)
    hub_emulator.advance(job.job_id)
    state = job.status()
    assert state.status == JobStatus.FAILED and state.raw_status == "PAUSED"
    assert state.message is not None and "Pausing space..." in state.message


def test_a_half_made_space_is_completed_not_duplicated(hub_emulator: HubEmulator, make_tuner: TunerFactory) -> None:
    # The client dies after creating the Space and its secrets but before committing the Dockerfile.
    hub_emulator.inject("POST /api/spaces/*/commit/*", Fault.status(500))
    tuner = make_tuner(backend="spaces", flavor="t4-small", create_attempts=1, max_retries=0)
    with pytest.raises(ServiceUnavailableError):
        tuner.submit()
    (space,) = [r["id"] for r in hub_emulator.repos("space")]
    assert hub_emulator.space_stage(space) == "NO_APP_FILE"
    hub_emulator.clear_faults()

    job = make_tuner(backend="spaces", flavor="t4-small", create_attempts=1, max_retries=0).submit()
    assert job.job_id == space and [r["id"] for r in hub_emulator.repos("space")] == [space]
    assert job.wait(poll_interval=0.05, timeout=30).status == JobStatus.SUCCEEDED


def test_a_later_run_of_the_same_project_rebuilds_the_space(
    hub_emulator: HubEmulator, make_tuner: TunerFactory
) -> None:
    tuner = make_tuner(backend="spaces", flavor="t4-small", project_name="reused")
    first = tuner.submit()
    assert first.wait(poll_interval=0.05, timeout=30).status == JobStatus.SUCCEEDED
    hub_emulator.set_job_outcome("no_files")
    second = tuner.submit(new=True)
    assert second.job_id == first.job_id  # the same Space, rebuilt for the new run
    assert hub_emulator.api().get_space_variables(second.job_id)["TUNEKIT_RUN_ID"].value == second.run_id
    state = second.wait(poll_interval=0.05, timeout=30)
    assert state.status == JobStatus.FAILED  # the first run's adapter does not count for the second
