from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunekit import JobState, JobStatus, Tuner
from tunekit.errors import ConfigError, DataError, InvalidRequestError, JobCancelledError, JobError, JobLostError
from tunekit.ledger import Ledger


def _jobs(state_dir: Path) -> list[dict[str, object]]:
    return [json.loads(p.read_text()) for p in state_dir.glob("memo-*.json")]


def test_submit_watch_result_and_chat(memo_config: Path, tmp_path: Path) -> None:
    tuner = Tuner.from_config(memo_config)
    job = tuner.submit()
    record = job.record
    assert record.status is JobStatus.QUEUED and record.remote["job_id"].startswith("memo-")
    steps = [intent.step for intent in tuner.ledger.events(job.run_id, kinds=["intent"])]
    assert steps == ["prepare", "submit"]

    seen = list(job.watch(poll_interval=0))
    states = [s for s in seen if isinstance(s, JobState)]
    assert states[-1].status is JobStatus.SUCCEEDED
    assert [e.step for e in job.history()] == [1, 2, 3, 4]
    assert job.metrics()[0].metrics["train_loss"] == 1.0

    model = job.result()
    assert model.run_id == job.run_id and model.model_id == f"memo:{job.job_id}"
    assert model.client().chat([{"role": "user", "content": "Country 3?"}]).text == "Capital 3"
    # The result is remembered: a fresh process rebuilds it from the ledger.
    again = Tuner.for_run(job.run_id).job(job.run_id).result()
    assert again.model_id == model.model_id


def test_submit_is_idempotent_for_the_same_config(memo_config: Path, tmp_path: Path) -> None:
    first = Tuner.from_config(memo_config).submit()
    second = Tuner.from_config(memo_config).submit()
    assert first.run_id == second.run_id
    assert len(_jobs(tmp_path / "memo-state")) == 1
    third = Tuner.from_config(memo_config).submit(new=True)
    assert third.run_id != first.run_id
    assert len(_jobs(tmp_path / "memo-state")) == 2


def test_resume_adopts_a_job_created_before_a_crash(memo_config: Path, tmp_path: Path) -> None:
    """The job exists remotely but its id never reached the ledger: submit adopts it."""
    tuner = Tuner.from_config(memo_config)
    job = tuner.submit()
    ledger = Ledger()
    with ledger._write() as conn:  # simulate dying between the create request and recording its id
        conn.execute("UPDATE runs SET remote_json = '{}', status = 'pending' WHERE run_id = ?", (job.run_id,))
        conn.execute("DELETE FROM events WHERE run_id = ? AND kind = 'outcome' AND step = 'submit'", (job.run_id,))
    resumed = Tuner.from_config(memo_config).submit()
    assert resumed.run_id == job.run_id and resumed.job_id == job.job_id
    assert len(_jobs(tmp_path / "memo-state")) == 1
    assert any("adopted" in e.message for e in ledger.events(job.run_id, kinds=["outcome"]))


def test_events_are_recorded_once_across_watchers(memo_config: Path) -> None:
    tuner = Tuner.from_config(memo_config)
    job = tuner.submit()
    job.status()
    job.status()
    assert len(list(job.events())) == 2
    assert list(Tuner.for_run(job.run_id).job(job.run_id).events()) == []
    job.wait(poll_interval=0)
    assert len(job.history()) == 4


def test_cancelled_job_has_no_result(memo_config: Path) -> None:
    job = Tuner.from_config(memo_config).submit()
    job.cancel()
    assert job.wait(poll_interval=0).status is JobStatus.CANCELLED
    with pytest.raises(JobCancelledError, match=job.run_id):
        job.result()
    steps = [e.step for e in job.ledger.events(job.run_id, kinds=["intent", "outcome"])]
    assert steps[-2:] == ["cancel", "cancel"]


def _interrupt(item: object) -> None:
    raise KeyboardInterrupt  # what Ctrl-C does to a script blocked in wait()


def test_ctrl_c_in_wait_leaves_a_remote_job_running(memo_config: Path) -> None:
    job = Tuner.from_config(memo_config).submit()
    with pytest.raises(KeyboardInterrupt):
        job.wait(poll_interval=0, on_event=_interrupt)
    assert not job.status().is_terminal
    assert job.wait(poll_interval=0).status is JobStatus.SUCCEEDED  # a later wait follows it to the end


def test_ctrl_c_in_wait_stops_a_job_that_runs_here(memo_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from .memo_provider import MemoProvider

    monkeypatch.setattr(MemoProvider, "runs_here", True)
    job = Tuner.from_config(memo_config).submit()
    with pytest.raises(KeyboardInterrupt):
        job.wait(poll_interval=0, on_event=_interrupt)
    assert job.status().status is JobStatus.CANCELLED


def test_result_before_the_end_says_to_wait(memo_config: Path) -> None:
    job = Tuner.from_config(memo_config).submit()
    with pytest.raises(JobError, match="still running"):
        job.result()


def test_jobs_lists_runs_of_this_config(memo_config: Path) -> None:
    tuner = Tuner.from_config(memo_config)
    a = tuner.submit()
    b = tuner.submit(new=True)
    assert [j.run_id for j in tuner.jobs()] == [b.run_id, a.run_id]


def test_keyword_constructor(tmp_path: Path, chat_file: Path) -> None:
    tuner = Tuner(
        provider="memo", model="memo-base", data=str(chat_file), provider_options={"state_dir": str(tmp_path / "s")}
    )
    assert tuner.config.data.train == str(chat_file)
    with pytest.raises(ConfigError):
        Tuner()


def test_bad_data_fails_before_any_side_effect(memo_config: Path, chat_file: Path, tmp_path: Path) -> None:
    chat_file.write_text('{"messages": [{"role": "user", "content": "hi"}]}\n{"messages": oops\n')
    with pytest.raises(ValueError) as info:
        Tuner.from_config(memo_config).submit()
    assert "train.jsonl" in str(info.value)
    assert _jobs(tmp_path / "memo-state") == []


# -- one paid job per intent -------------------------------------------------------------


def test_submit_after_success_returns_the_finished_run(memo_config: Path, tmp_path: Path) -> None:
    """Running the same script again after the job succeeded trains nothing: the finished run comes back."""
    first = Tuner.from_config(memo_config).submit()
    assert first.wait(poll_interval=0).status is JobStatus.SUCCEEDED
    again = Tuner.from_config(memo_config).submit()
    assert again.run_id == first.run_id and again.result().model_id == first.result().model_id
    assert len(_jobs(tmp_path / "memo-state")) == 1
    fresh = Tuner.from_config(memo_config).submit(new=True)
    assert fresh.run_id != first.run_id
    assert len(_jobs(tmp_path / "memo-state")) == 2


def test_the_run_key_is_what_determines_the_job(memo_config: Path, chat_file: Path, tmp_path: Path) -> None:
    first = Tuner.from_config(memo_config).submit()
    first.wait(poll_interval=0)
    # A name, an evaluation section or a poll interval do not change what is trained.
    renamed = Tuner.from_config(memo_config, name="renamed", eval={"max_examples": 3})
    assert renamed.submit().run_id == first.run_id
    # Other data in the same file is another job: it is trained, not answered with the old model.
    chat_file.write_text(chat_file.read_text().replace("Capital 3", "Capital three"))
    edited = Tuner.from_config(memo_config).submit()
    assert edited.run_id != first.run_id
    assert len(_jobs(tmp_path / "memo-state")) == 2


def test_a_missing_data_file_creates_no_run(memo_config: Path, chat_file: Path) -> None:
    chat_file.unlink()
    with pytest.raises(DataError, match=r"train\.jsonl"):
        Tuner.from_config(memo_config).submit()
    assert Ledger().runs() == []


def test_bad_data_creates_no_run(memo_config: Path, chat_file: Path) -> None:
    chat_file.write_text('{"messages": oops\n')
    with pytest.raises(DataError, match=r"train\.jsonl:1"):
        Tuner.from_config(memo_config).submit()
    assert Ledger().runs() == []


def test_a_refused_submit_is_a_failed_run_not_a_pending_one(memo_config: Path, tmp_path: Path) -> None:
    refused = Tuner.from_config(memo_config, provider_options={"state_dir": str(tmp_path / "s"), "refuse": "no"})
    with pytest.raises(InvalidRequestError):
        refused.submit()
    [run] = Ledger().runs()
    assert run.status is JobStatus.FAILED and run.error is not None and "no" in run.error
    # The same job, now accepted, is a fresh run: the refused one is not resumed.
    accepted = Tuner.from_config(memo_config, provider_options={"state_dir": str(tmp_path / "s")})
    job = accepted.submit()
    assert job.run_id != run.run_id and job.record.status is JobStatus.QUEUED


def test_a_job_gone_from_the_provider_is_said_not_followed(memo_config: Path, tmp_path: Path) -> None:
    job = Tuner.from_config(memo_config).submit()
    (tmp_path / "memo-state" / f"{job.job_id}.json").unlink()  # deleted at the provider, or another account
    with pytest.raises(JobLostError, match=r"no longer exists.*new=True"):
        Tuner.from_config(memo_config).submit()
    record = job.record
    assert record.status is JobStatus.FAILED and "no longer exists" in (record.error or "")
    assert _jobs(tmp_path / "memo-state") == []


def test_the_provider_check_comes_before_any_network_call(memo_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from .memo_provider import MemoProvider

    calls: list[str] = []
    monkeypatch.setattr(MemoProvider, "check", lambda self, config: ["suffix: too long"])
    monkeypatch.setattr(MemoProvider, "find", lambda self, run: calls.append("find"))
    with pytest.raises(ConfigError, match="suffix: too long"):
        Tuner.from_config(memo_config).submit()
    assert calls == [] and Ledger().runs() == []


def test_submit_and_reattach_settle_the_job_in_one_ledger_transaction(memo_config: Path) -> None:
    job = Tuner.from_config(memo_config).submit()
    ledger = Ledger()
    submits = [e for e in ledger.events(job.run_id, kinds=["outcome"]) if e.step == "submit"]
    assert len(submits) == 1 and submits[0].data["job_id"] == job.job_id
    # A client that kept the job id (the provider remembered it) and died before the outcome:
    with ledger._write() as conn:
        conn.execute("DELETE FROM events WHERE run_id = ? AND kind = 'outcome' AND step = 'submit'", (job.run_id,))
        conn.execute("UPDATE runs SET status = 'pending' WHERE run_id = ?", (job.run_id,))
    again = Tuner.for_run(job.run_id).reattach(job.run_id)
    assert again.job_id == job.job_id and again.record.status is JobStatus.QUEUED
    submits = [e for e in ledger.events(job.run_id, kinds=["outcome"]) if e.step == "submit"]
    assert [e.message for e in submits] == [f"job {job.job_id} (recorded on resume)"]
    assert not ledger.settle_submit(job.run_id, {"job_id": job.job_id}, "again")  # idempotent


def test_one_checkpoint_selector(memo_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tunekit.provider import Checkpoint

    from .memo_provider import MemoProvider

    saved = [Checkpoint(id="ckpt-1", step=1, model_id="memo:ckpt-1"), Checkpoint(id="ckpt-2", step=2, path="/x")]
    monkeypatch.setattr(MemoProvider, "checkpoints", lambda self, ref: saved)
    job = Tuner.from_config(memo_config).submit()
    assert job.checkpoint(1).id == "ckpt-1" and job.checkpoint("ckpt-2").step == 2
    assert job.checkpoint_model("1").model_id == "memo:ckpt-1"
    assert job.use_checkpoint(2).kind == "adapter"
    with pytest.raises(JobError, match="no usable checkpoint '3'"):
        job.checkpoint(3)


def test_init_from_on_a_provider_that_cannot_continue_a_run_is_refused_before_a_run(
    memo_config: Path, tmp_path: Path
) -> None:
    first = Tuner.from_config(memo_config).submit()
    assert first.wait(poll_interval=0).status is JobStatus.SUCCEEDED
    stage_two = Tuner.from_config(memo_config, init_from=first.run_id[:12])  # a prefix, as on the command line
    with pytest.raises(ConfigError, match=r"init_from: provider 'memo' does not support starting from an earlier run"):
        stage_two.submit()
    with pytest.raises(ConfigError, match="init_from: "):
        stage_two.validate()
    assert [r.run_id for r in Ledger().runs()] == [first.run_id]
    assert len(_jobs(tmp_path / "memo-state")) == 1
