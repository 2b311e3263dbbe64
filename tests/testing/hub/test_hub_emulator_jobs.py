"""HF Jobs on the Hub emulator: the real HfApi runs, lists, inspects, cancels and reads logs of emulated containers."""

from __future__ import annotations

import json
import re
import time

import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import BadRequestError, HfHubHTTPError, JobNotFoundError

from tunekit_emulators.hub import HubEmulator

AUTOTRAIN_IMAGE = "huggingface/autotrain-advanced:latest"


def _dataset(api: HfApi, namespace: str, rows: int = 24) -> str:
    repo_id = f"{namespace}/autotrain-data-demo"
    api.create_repo(repo_id, repo_type="dataset", private=True, exist_ok=True)
    lines = "\n".join(json.dumps({"autotrain_text": f"example {i}"}) for i in range(rows))
    api.upload_file(path_or_fileobj=lines.encode(), path_in_repo="train.jsonl", repo_id=repo_id, repo_type="dataset")
    return repo_id


def _autotrain_job(hub: HubEmulator, dataset: str, *, run_id: str = "run-1", **params: object) -> str:
    values = {
        "model": "HuggingFaceTB/SmolLM2-135M-Instruct",
        "project_name": "demo-model",
        "data_path": dataset,
        "trainer": "sft",
        "peft": True,
        "push_to_hub": True,
        "username": hub.namespace,
        "batch_size": 2,
        "gradient_accumulation": 1,
        **params,
    }
    job = hub.api().run_job(
        image=AUTOTRAIN_IMAGE,
        command=["bash", "-c", "autotrain --config params.json"],
        env={"PARAMS": json.dumps(values)},
        secrets={"HF_TOKEN": hub.token},
        flavor="a10g-small",
        labels={"tunekit-run-id": run_id},
        namespace=hub.namespace,
    )
    assert job.status.stage == "SCHEDULING"
    return job.id


@pytest.mark.hub_emulator(lifecycle="manual", log_idle_close_s=0.2)
def test_manual_job_runs_logs_steps_and_pushes_an_adapter(hub_emulator: HubEmulator) -> None:
    api = hub_emulator.api()
    job_id = _autotrain_job(hub_emulator, _dataset(api, hub_emulator.namespace))
    assert api.inspect_job(job_id=job_id, namespace=hub_emulator.namespace).status.stage == "SCHEDULING"

    hub_emulator.advance(job_id)
    hub_emulator.advance(job_id, progress=0.5)
    info = api.inspect_job(job_id=job_id, namespace=hub_emulator.namespace)
    assert info.status.stage == "RUNNING" and info.started_at is not None
    partial = list(api.fetch_job_logs(job_id=job_id, namespace=hub_emulator.namespace))
    assert any("Train data" in line and "num_rows: 24" in line for line in partial)
    assert not any(line.startswith("===== Job started") for line in partial)  # the client drops it
    steps = [int(m.group(1)) for line in partial if (m := re.search(r"\| (\d+)/12 \[", line))]
    assert steps and max(steps) < 12

    hub_emulator.advance(job_id)
    done = api.inspect_job(job_id=job_id, namespace=hub_emulator.namespace)
    assert done.status.stage == "COMPLETED" and done.finished_at is not None
    logs = list(api.fetch_job_logs(job_id=job_id, namespace=hub_emulator.namespace))
    assert any("'loss':" in line for line in logs) and any("| 12/12 [" in line for line in logs)
    assert "Pushing model to hub..." in logs[-1]

    files = set(api.list_repo_files(f"{hub_emulator.namespace}/demo-model"))
    assert {"adapter_config.json", "adapter_model.safetensors", "tokenizer_config.json"} <= files
    adapter = json.loads(hub_emulator.files(f"{hub_emulator.namespace}/demo-model")["adapter_config.json"])
    assert adapter["base_model_name_or_path"] == "HuggingFaceTB/SmolLM2-135M-Instruct" and adapter["r"] == 16
    assert api.model_info(f"{hub_emulator.namespace}/demo-model").private is True
    params = json.loads(hub_emulator.files(f"{hub_emulator.namespace}/demo-model")["training_params.json"])
    assert "token" not in params


def test_list_jobs_filters_by_label_and_stage(hub_emulator: HubEmulator) -> None:
    api = hub_emulator.api()
    dataset = _dataset(api, hub_emulator.namespace)
    first = _autotrain_job(hub_emulator, dataset, run_id="run-a")
    second = _autotrain_job(hub_emulator, dataset, run_id="run-b")
    found = [j.id for j in api.list_jobs(labels={"tunekit-run-id": "run-b"}, namespace=hub_emulator.namespace)]
    assert found == [second]
    everything = [j.id for j in api.list_jobs(namespace=hub_emulator.namespace)]
    assert everything == [second, first]  # newest first
    completed = list(api.list_jobs(status="COMPLETED", namespace=hub_emulator.namespace))
    assert len(completed) == 2  # immediate lifecycle: each job ended on the first look
    assert list(api.list_jobs(status="RUNNING", namespace=hub_emulator.namespace)) == []


def test_list_jobs_follows_pagination_links(hub_emulator: HubEmulator) -> None:
    api = hub_emulator.api()
    ids = {
        api.run_job(image="python:3.12", command=["true"], labels={"batch": "b"}, namespace=hub_emulator.namespace).id
        for _ in range(53)
    }
    assert {j.id for j in api.list_jobs(labels={"batch": "b"}, namespace=hub_emulator.namespace)} == ids


@pytest.mark.hub_emulator(lifecycle="manual")
def test_cancel_stops_a_running_job_and_pushes_nothing(hub_emulator: HubEmulator) -> None:
    api = hub_emulator.api()
    job_id = _autotrain_job(hub_emulator, _dataset(api, hub_emulator.namespace))
    hub_emulator.advance(job_id, to="RUNNING")
    api.cancel_job(job_id=job_id, namespace=hub_emulator.namespace)
    assert api.inspect_job(job_id=job_id, namespace=hub_emulator.namespace).status.stage == "CANCELED"
    hub_emulator.advance(job_id)  # a cancelled job stays cancelled
    assert hub_emulator.job(job_id)["status"]["stage"] == "CANCELED"
    assert hub_emulator.repos("model") == []


def test_no_files_outcome_completes_with_a_swallowed_error_and_an_empty_repo(hub_emulator: HubEmulator) -> None:
    api = hub_emulator.api()
    hub_emulator.set_job_outcome("no_files", message="403 Forbidden: you may not create repos here")
    job_id = _autotrain_job(hub_emulator, _dataset(api, hub_emulator.namespace))
    info = api.inspect_job(job_id=job_id, namespace=hub_emulator.namespace)
    assert info.status.stage == "COMPLETED"
    logs = list(api.fetch_job_logs(job_id=job_id, namespace=hub_emulator.namespace))
    assert any("train has failed due to an exception" in line for line in logs)
    assert logs[-1].endswith("403 Forbidden: you may not create repos here")
    assert hub_emulator.repos("model") == []


def test_error_outcome_and_fail_end_in_error_with_the_message(hub_emulator: HubEmulator) -> None:
    api = hub_emulator.api()
    dataset = _dataset(api, hub_emulator.namespace)
    hub_emulator.set_job_outcome("error")
    job_id = _autotrain_job(hub_emulator, dataset)
    info = api.inspect_job(job_id=job_id, namespace=hub_emulator.namespace)
    assert info.status.stage == "ERROR" and info.status.message == "Job failed with exit code: 1"
    assert any("CUDA out of memory" in line for line in hub_emulator.job_logs(job_id))

    hub_emulator.set_job_outcome("success")
    other = _autotrain_job(hub_emulator, dataset, run_id="run-2")
    assert hub_emulator.job(other)["status"]["stage"] == "COMPLETED"


@pytest.mark.hub_emulator(lifecycle="manual")
def test_fail_with_a_given_message(hub_emulator: HubEmulator) -> None:
    job_id = _autotrain_job(hub_emulator, _dataset(hub_emulator.api(), hub_emulator.namespace))
    assert hub_emulator.fail(job_id, "node lost") == "ERROR"
    info = hub_emulator.api().inspect_job(job_id=job_id, namespace=hub_emulator.namespace)
    assert info.status.message == "node lost"


def test_missing_dataset_fails_quietly_for_autotrain_and_loudly_for_trl(hub_emulator: HubEmulator) -> None:
    api = hub_emulator.api()
    quiet = _autotrain_job(hub_emulator, f"{hub_emulator.namespace}/no-such-data")
    assert hub_emulator.job(quiet)["status"]["stage"] == "COMPLETED"
    assert any("DatasetNotFoundError" in line for line in hub_emulator.job_logs(quiet))

    loud = api.run_job(
        image="huggingface/trl:latest",
        command=[
            *("trl", "sft", "--model_name_or_path", "m/base", "--dataset_name", f"{hub_emulator.namespace}/nope"),
            *("--output_dir", "out", "--push_to_hub", "--hub_model_id", f"{hub_emulator.namespace}/trl-out"),
        ],
        secrets={"HF_TOKEN": hub_emulator.token},
        namespace=hub_emulator.namespace,
    )
    info = api.inspect_job(job_id=loud.id, namespace=hub_emulator.namespace)
    assert info.status.stage == "ERROR"
    assert hub_emulator.repos("model") == []


def test_trl_runner_pushes_to_its_hub_model_id(hub_emulator: HubEmulator) -> None:
    api = hub_emulator.api()
    dataset = _dataset(api, hub_emulator.namespace, rows=40)
    job = api.run_job(
        image="huggingface/trl:latest",
        command=[
            *("trl", "sft", "--model_name_or_path", "m/base", "--dataset_name", dataset, "--use_peft", "--lora_r", "8"),
            *("--output_dir", "out", "--push_to_hub", "--hub_model_id", f"{hub_emulator.namespace}/trl"),
        ],
        secrets={"HF_TOKEN": hub_emulator.token},
        namespace=hub_emulator.namespace,
    )
    assert api.inspect_job(job_id=job.id, namespace=hub_emulator.namespace).status.stage == "COMPLETED"
    adapter = json.loads(hub_emulator.files(f"{hub_emulator.namespace}/trl")["adapter_config.json"])
    assert adapter["r"] == 8
    assert any("'mean_token_accuracy'" in line for line in hub_emulator.job_logs(job.id))


@pytest.mark.hub_emulator(lifecycle="timed", step_seconds=0.3)
def test_timed_jobs_move_on_their_own_and_logs_can_be_followed(hub_emulator: HubEmulator) -> None:
    api = hub_emulator.api()
    job_id = _autotrain_job(hub_emulator, _dataset(api, hub_emulator.namespace))
    followed = list(api.fetch_job_logs(job_id=job_id, namespace=hub_emulator.namespace, follow=True))
    assert any("Pushing model to hub" in line for line in followed)
    assert api.inspect_job(job_id=job_id, namespace=hub_emulator.namespace).status.stage == "COMPLETED"


def test_seeded_losses_appear_in_the_logs(hub_emulator: HubEmulator) -> None:
    hub_emulator.seed_metrics([2.5, 1.25, 0.625])
    job_id = _autotrain_job(hub_emulator, _dataset(hub_emulator.api(), hub_emulator.namespace, rows=6))
    losses = [
        float(m.group(1)) for line in hub_emulator.job_logs(job_id) if (m := re.search(r"'loss': ([\d.]+)", line))
    ]
    assert losses[:3] == [2.5, 1.25, 0.625]


def test_bad_specs_namespaces_and_ids_are_refused(hub_emulator: HubEmulator) -> None:
    api = hub_emulator.api()
    with pytest.raises(BadRequestError):
        api.run_job(image="python:3.12", command=["true"], flavor="tpu-v9", namespace=hub_emulator.namespace)
    with pytest.raises(BadRequestError):
        api.run_job(image="python:3.12", command=["true"], labels={"run id": "x"}, namespace=hub_emulator.namespace)
    with pytest.raises(HfHubHTTPError) as forbidden:
        api.run_job(image="python:3.12", command=["true"], namespace="someone-else")
    assert forbidden.value.response.status_code == 403
    with pytest.raises(JobNotFoundError):
        api.inspect_job(job_id="0" * 24, namespace=hub_emulator.namespace)


def test_same_seed_same_ids_and_losses() -> None:
    def one_run() -> tuple[str, list[str], str]:
        with HubEmulator(seed=7) as hub:
            from tunekit_emulators.hub import loopback_only

            with loopback_only():
                job_id = _autotrain_job(hub, _dataset(hub.api(), hub.namespace))
                losses = [line for line in hub.job_logs(job_id) if "'loss'" in line]
                return job_id, [re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", "", x) for x in losses], hub.token

    assert one_run() == one_run()


def test_jobs_wait_for_scheduling_in_timed_mode() -> None:
    with HubEmulator(lifecycle="timed", step_seconds=5.0) as hub:
        from tunekit_emulators.hub import loopback_only

        with loopback_only():
            job = hub.api().run_job(image="python:3.12", command=["true"], namespace=hub.namespace)
            time.sleep(0.05)
            assert hub.api().inspect_job(job_id=job.id, namespace=hub.namespace).status.stage == "SCHEDULING"
