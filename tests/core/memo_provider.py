"""A small but complete provider used to test the Tuner and ledger contract.

It "trains" by memorizing the training replies into a JSON job file in its
state folder, so jobs outlive the process that created them, exactly what
the crash-and-resume tests need.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, SecretStr

from tunekit.config import TuneConfig
from tunekit.data.splits import DatasetSplits
from tunekit.errors import InvalidRequestError, NotFoundError
from tunekit.inference.base import ChatResult, Message
from tunekit.jobs import JobEvent, JobState, JobStatus, normalize_status
from tunekit.provider import FineTunedModel, JobRef, PreparedData, Provider, RunContext


class MemoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state_dir: str
    api_key: SecretStr | None = None
    steps: int = 3
    refuse: str | None = None
    """A reason the service gives for refusing every new job (like an invalid-request 400)."""


class MemoProvider(Provider):
    name: ClassVar[str] = "memo"
    Options: ClassVar[type[BaseModel]] = MemoOptions
    spends_money: ClassVar[bool] = False

    @property
    def _dir(self) -> Path:
        assert isinstance(self.options, MemoOptions)
        path = Path(self.options.state_dir)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _load(self, job_id: str) -> dict[str, Any]:
        path = self._dir / f"{job_id}.json"
        if not path.exists():
            raise NotFoundError(f"no job {job_id}", provider=self.name, status_code=404)
        return json.loads(path.read_text())

    def _save(self, job: dict[str, Any]) -> None:
        (self._dir / f"{job['id']}.json").write_text(json.dumps(job))

    def prepare(self, data: DatasetSplits, config: TuneConfig, run: RunContext) -> PreparedData:
        path = run.run_dir / "train.json"
        rows = [e.model_dump(mode="json") if isinstance(e, BaseModel) else e for e in data.train]
        path.write_text(json.dumps(rows))
        return PreparedData(train=str(path), train_examples=len(data.train))

    def submit(self, prepared: PreparedData, config: TuneConfig, run: RunContext) -> JobRef:
        assert isinstance(self.options, MemoOptions)
        if self.options.refuse:
            raise InvalidRequestError(self.options.refuse, provider=self.name, status_code=400)
        job = {"id": f"memo-{uuid.uuid4().hex[:8]}", "run_id": run.run_id, "train": prepared.train, "polls": 0}
        self._save(job)
        return JobRef(provider=self.name, job_id=job["id"])

    def find(self, run: RunContext) -> JobRef | None:
        for path in self._dir.glob("memo-*.json"):
            job = json.loads(path.read_text())
            if job["run_id"] == run.run_id:
                return JobRef(provider=self.name, job_id=job["id"])
        return None

    def status(self, ref: JobRef) -> JobState:
        job = self._load(ref.job_id)
        assert isinstance(self.options, MemoOptions)
        if job.get("cancelled"):
            raw = "stopped"
        else:
            job["polls"] += 1
            self._save(job)
            raw = "done" if job["polls"] > self.options.steps else "training"
        status = normalize_status(
            raw, {"training": JobStatus.RUNNING, "done": JobStatus.SUCCEEDED, "stopped": JobStatus.CANCELLED}
        )
        return JobState(status=status, raw_status=raw, job_id=ref.job_id, step=min(job["polls"], self.options.steps))

    def events(self, ref: JobRef, after: str | None = None) -> Iterator[JobEvent]:
        polls = self._load(ref.job_id)["polls"]
        start = int(after.rsplit("-", 1)[1]) + 1 if after else 1
        for step in range(start, polls + 1):
            yield JobEvent(id=f"{ref.job_id}-{step}", type="metrics", step=step, metrics={"train_loss": 1.0 / step})

    def cancel(self, ref: JobRef) -> None:
        job = self._load(ref.job_id)
        job["cancelled"] = True
        self._save(job)

    def result(self, ref: JobRef) -> FineTunedModel:
        return FineTunedModel(provider=self.name, model_id=f"memo:{ref.job_id}", base_model="memo-base")

    def client(self, model: FineTunedModel) -> MemoClient:
        answers: dict[str, str] = {}
        if model.model_id.startswith("memo:"):
            job = self._load(model.model_id.removeprefix("memo:"))
            for example in json.loads(Path(job["train"]).read_text()):
                messages = example["messages"]
                answers[_content(messages[-2])] = _content(messages[-1])
        return MemoClient(model.model_id, answers)


def _content(message: Any) -> str:
    return str(message["content"] if isinstance(message, dict) else message.content)


class MemoClient:
    def __init__(self, model: str, answers: dict[str, str]) -> None:
        self.model = model
        self.answers = answers

    def chat(self, messages: Sequence[Message], **params: Any) -> ChatResult:
        return ChatResult(text=self.answers.get(str(messages[-1]["content"]), "?"), model=self.model)
