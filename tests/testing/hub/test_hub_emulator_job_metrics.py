"""HF Jobs metrics: the real ``HfApi.fetch_job_metrics`` reads a running job's resource use, none once it ended."""

from __future__ import annotations

import pytest
from huggingface_hub.errors import HfHubHTTPError

from tunekit_emulators.hub import HubEmulator


@pytest.mark.hub_emulator(lifecycle="manual")
def test_metrics_of_a_running_job_then_none_after_it_ended(hub_emulator: HubEmulator) -> None:
    api = hub_emulator.api()
    job = api.run_job(image="python:3.12", command=["python", "train.py"], flavor="t4-small")
    hub_emulator.advance(job.id)  # SCHEDULING -> RUNNING
    [sample] = list(api.fetch_job_metrics(job_id=job.id))
    assert sample["cpu_millicores"] == 4000 and sample["memory_total_bytes"] == 15 * 1024**3
    assert sample["cpu_usage_pct"] > 0 and 0 < sample["memory_used_bytes"] < sample["memory_total_bytes"]
    [gpu] = sample["gpus"].values()
    assert gpu["memory_total_bytes"] == 16_000_000_000 and gpu["utilization"] > 0

    api.cancel_job(job_id=job.id)
    assert list(api.fetch_job_metrics(job_id=job.id)) == []  # the Hub answers 406; the SDK tolerates it


@pytest.mark.hub_emulator(lifecycle="manual")
def test_metrics_need_a_job_the_caller_can_see(hub_emulator: HubEmulator) -> None:
    with pytest.raises(HfHubHTTPError):
        list(hub_emulator.api().fetch_job_metrics(job_id="0123456789abcdef01234567"))
