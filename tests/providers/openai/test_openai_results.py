"""Reading what OpenAI returns: statuses (unknown ones kept raw), events, results.csv by header name."""

from __future__ import annotations

import base64

import pytest
from openai.types.fine_tuning import FineTuningJob, FineTuningJobEvent

from tunekit import JobStatus
from tunekit.jobs import JobEvent
from tunekit_openai.results import decode_result_file, parse_results_csv, plot_loss_curve, rows_from_events
from tunekit_openai.states import to_event, to_state


def _job(status: str, **fields: object) -> FineTuningJob:
    base = {
        "id": "ftjob-1",
        "created_at": 1,
        "hyperparameters": {},
        "model": "gpt-4o-mini-2024-07-18",
        "object": "fine_tuning.job",
        "organization_id": "org",
        "result_files": [],
        "seed": 1,
        "training_file": "file-1",
    }
    # Built the way the SDK builds a response (without validation), so an unknown status gets through as it would.
    return FineTuningJob.construct(**{**base, "status": status, **fields})


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("validating_files", JobStatus.VALIDATING),
        ("queued", JobStatus.QUEUED),
        ("running", JobStatus.RUNNING),
        ("paused", JobStatus.PAUSED),
        ("succeeded", JobStatus.SUCCEEDED),
        ("failed", JobStatus.FAILED),
        ("cancelled", JobStatus.CANCELLED),
        ("migrating_weights", JobStatus.RUNNING),  # unknown: polled on, never terminal, raw value kept
    ],
)
def test_statuses(raw: str, status: JobStatus) -> None:
    state = to_state(_job(raw, estimated_finish=1_900_000_000))
    assert (state.status, state.raw_status) == (status, raw)
    assert state.estimated_finish is not None and state.estimated_finish.year == 2030


def test_failed_job_message_keeps_the_api_words() -> None:
    error = {"code": "invalid_training_file", "message": "Line 4 is not JSON.", "param": "training_file"}
    job = _job("failed", error=error)
    assert to_state(job).message == "Line 4 is not JSON. (code invalid_training_file, param training_file)"


def test_metrics_event() -> None:
    raw = FineTuningJobEvent.model_validate(
        {
            "id": "ftevent-9",
            "created_at": 1_700_000_000,
            "level": "info",
            "message": "Step 9/30: training loss=0.61",
            "object": "fine_tuning.job.event",
            "type": "metrics",
            "data": {"step": 9, "total_steps": 30, "train_loss": 0.61, "train_mean_token_accuracy": 0.8, "other": "x"},
        }
    )
    event = to_event(raw)
    assert (event.id, event.type, event.step, event.total_steps) == ("ftevent-9", "metrics", 9, 30)
    assert event.metrics == {"train_loss": 0.61, "train_mean_token_accuracy": 0.8}


CSV = (
    "step,valid_loss,train_accuracy,train_loss,full_valid_loss,extra\n"
    "1,1.9,0.5,2.0,,a\n"
    "2,,0.6,1.5,,b\n"
    "3,1.1,0.7,1.0,1.05,c\n"
)


def test_results_csv_is_read_by_header_name() -> None:
    rows = parse_results_csv(CSV)
    assert rows == [
        {"step": 1.0, "valid_loss": 1.9, "train_mean_token_accuracy": 0.5, "train_loss": 2.0},
        {"step": 2.0, "train_mean_token_accuracy": 0.6, "train_loss": 1.5},
        {"step": 3.0, "valid_loss": 1.1, "train_mean_token_accuracy": 0.7, "train_loss": 1.0, "full_valid_loss": 1.05},
    ]
    assert parse_results_csv("loss,acc\n1,2\n") == []  # no step column: nothing to plot, no crash


def test_result_file_may_be_base64() -> None:
    assert decode_result_file(base64.b64encode(CSV.encode())) == CSV.strip()
    assert decode_result_file(CSV.encode()) == CSV.strip()


def test_rows_from_events_and_loss_curve(tmp_path) -> None:  # type: ignore[no-untyped-def]
    events = [
        JobEvent(id="a", step=1, metrics={"train_loss": 2.0}),
        JobEvent(id="b", message="hello"),
        JobEvent(id="c", step=2, metrics={"train_loss": 1.0, "valid_loss": 1.2}),
    ]
    rows = rows_from_events(events)
    assert rows == [{"step": 1.0, "train_loss": 2.0}, {"step": 2.0, "train_loss": 1.0, "valid_loss": 1.2}]
    png = plot_loss_curve(rows, tmp_path / "curve.png")
    assert png is not None and png.read_bytes().startswith(b"\x89PNG")
    assert plot_loss_curve([{"step": 1.0}], tmp_path / "none.png") is None
