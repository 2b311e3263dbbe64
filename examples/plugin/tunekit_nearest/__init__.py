"""tunekit-nearest: a complete, minimal tunekit provider plugin.

It "fine-tunes" by memorizing: training indexes each example's last user
message with the assistant's reply, and the tuned model answers a question
with the reply of the most similar training question (word overlap). The base
model knows nothing, so its zero-shot answer is empty; in a few-shot prompt it
learns from the solved examples in the conversation, the way an LLM does.

Crude as a model, but a real provider: it converts and stores the data,
starts a job that can be found again after a crash, reports normalized
statuses and events, returns a tuned model and a chat client, and plugs in
through the ``tunekit.providers`` entry point group like the built-ins.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from tunekit.plugin import (
    ChatResult,
    FineTunedModel,
    JobEvent,
    JobRef,
    JobState,
    JobStatus,
    NotFoundError,
    PreparedData,
    Provider,
    RunContext,
    Usage,
    normalize_status,
)

if TYPE_CHECKING:
    from tunekit.plugin import CostEstimate, DatasetSplits, TokenStats, TuneConfig

__all__ = ["NearestClient", "NearestOptions", "NearestProvider"]

JOB_FILE = "nearest-job.json"
MODEL_FILE = "memory.json"

# The raw statuses this provider writes, mapped to tunekit's normalized ones.
STATUSES = {
    "created": JobStatus.QUEUED,
    "indexing": JobStatus.RUNNING,
    "done": JobStatus.SUCCEEDED,
    "error": JobStatus.FAILED,
    "stopped": JobStatus.CANCELLED,
}


class NearestOptions(BaseModel):
    """``provider_options`` of the nearest provider; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")

    lowercase: bool = Field(True, description="Compare questions without case.")
    min_overlap: float = Field(
        0.0, ge=0, le=1, description="Answer nothing when the best match shares less than this fraction of words."
    )


def _words(text: str, lowercase: bool) -> set[str]:
    return set(re.findall(r"\w+", text.lower() if lowercase else text))


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _pairs(messages: Sequence[Any]) -> list[tuple[str, str]]:
    """(question, answer) pairs of a conversation: each user message with the assistant reply after it."""
    pairs: list[tuple[str, str]] = []
    question: str | None = None
    for message in messages:
        role = message["role"] if isinstance(message, dict) else message.role
        content = _text(message["content"] if isinstance(message, dict) else message.content)
        if role == "user":
            question = content
        elif role == "assistant" and question is not None:
            pairs.append((question, content))
            question = None
    return pairs


class NearestClient:
    """A :class:`tunekit.ChatClient` answering from memorized (question, answer) pairs."""

    def __init__(self, model: str, memory: list[tuple[str, str]], *, lowercase: bool = True, min_overlap: float = 0.0):
        self.model = model
        self.lowercase = lowercase
        self.min_overlap = min_overlap
        self._memory = [(_words(q, lowercase), a) for q, a in memory]

    def __repr__(self) -> str:
        return f"NearestClient(model={self.model!r}, pairs={len(self._memory)})"

    def chat(self, messages: Sequence[Any], **params: Any) -> ChatResult:
        start = time.perf_counter()
        history = _pairs(messages)
        question = _text(messages[-1]["content"] if isinstance(messages[-1], dict) else messages[-1].content)
        asked = _words(question, self.lowercase)
        candidates = self._memory + [(_words(q, self.lowercase), a) for q, a in history]
        best, score = "", 0.0
        for words, answer in candidates:
            overlap = len(asked & words) / max(1, len(asked | words))
            if overlap > score:
                best, score = answer, overlap
        if score < self.min_overlap:
            best = ""
        prompt_tokens = sum(len(_text(m["content"] if isinstance(m, dict) else m.content).split()) for m in messages)
        return ChatResult(
            text=best,
            model=self.model,
            finish_reason="stop",
            usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=len(best.split())),
            latency_s=time.perf_counter() - start,
        )

    async def achat(self, messages: Sequence[Any], **params: Any) -> ChatResult:
        return self.chat(messages, **params)

    def stream(self, messages: Sequence[Any], **params: Any) -> Iterator[str]:
        yield self.chat(messages, **params).text

    async def astream(self, messages: Sequence[Any], **params: Any) -> AsyncIterator[str]:
        yield self.chat(messages, **params).text

    def batch(self, requests: Sequence[Sequence[Any]], *, concurrency: int = 8, **params: Any) -> list[ChatResult]:
        return [self.chat(messages, **params) for messages in requests]

    def close(self) -> None:
        self._memory = []


class NearestProvider(Provider[NearestOptions]):
    """Memorize the training conversations; answer with the nearest one's reply."""

    name: ClassVar[str] = "nearest"
    Options: ClassVar[type[BaseModel]] = NearestOptions
    spends_money: ClassVar[bool] = False

    def check(self, config: TuneConfig) -> list[str]:
        if config.method != "sft":
            return [f"method: the nearest provider only does sft, not {config.method}"]
        return []

    @classmethod
    def estimate_cost(cls, config: TuneConfig, stats: TokenStats, estimate: CostEstimate) -> CostEstimate:
        # Memorizing runs here in seconds: nothing to pay but this machine's time.
        estimate.prices_as_of = "2026-12-03"
        estimate.prices_source = "tunekit-nearest: runs on this machine"
        estimate.hardware = "this CPU"
        estimate.training_cost = estimate.total = 0.0
        estimate.notes.append(f"memorizes {estimate.examples} conversations here, free")
        return estimate

    def prepare(self, data: DatasetSplits, config: TuneConfig, run: RunContext) -> PreparedData:
        pairs = [pair for example in data.train for pair in _pairs(example.to_messages())]
        payload = json.dumps(pairs, ensure_ascii=False).encode()
        path = run.run_dir / "train-pairs.json"
        path.write_bytes(payload)
        validation = data.validation or []
        return PreparedData(
            train=str(path),
            train_examples=len(data.train),
            validation_examples=len(validation),
            content_hash=hashlib.sha256(payload).hexdigest(),
        )

    def submit(self, prepared: PreparedData, config: TuneConfig, run: RunContext) -> JobRef:
        job_dir = run.run_dir
        ref = JobRef(provider=self.name, job_id=f"nearest-{run.run_id}", extra={"dir": str(job_dir)})
        job = {"id": ref.job_id, "status": "created", "base_model": config.model, "events": []}
        self._save(job_dir, job, "job created")
        run.remember(job_dir=str(job_dir))
        # Training is a few milliseconds, so it runs here; a real backend would start it elsewhere.
        job["status"] = "indexing"
        self._save(job_dir, job, "indexing the training conversations")
        pairs = json.loads(Path(prepared.train).read_text(encoding="utf-8"))
        (job_dir / MODEL_FILE).write_text(json.dumps({"base_model": config.model, "pairs": pairs}), encoding="utf-8")
        job["status"] = "done"
        self._save(job_dir, job, f"memorized {len(pairs)} question-answer pairs", metrics={"pairs": len(pairs)})
        return ref

    def find(self, run: RunContext) -> JobRef | None:
        path = run.run_dir / JOB_FILE
        if not path.exists():
            return None
        job = json.loads(path.read_text(encoding="utf-8"))
        return JobRef(provider=self.name, job_id=job["id"], extra={"dir": str(run.run_dir)})

    def status(self, ref: JobRef) -> JobState:
        job = self._load(ref)
        raw = job["status"]
        return JobState(
            status=normalize_status(raw, STATUSES, provider=self.name),
            raw_status=raw,
            job_id=ref.job_id,
            fine_tuned_model=str(Path(ref.extra["dir"]) / MODEL_FILE) if raw == "done" else None,
        )

    def events(self, ref: JobRef, after: str | None = None) -> Iterator[JobEvent]:
        events = [JobEvent.model_validate(e) for e in self._load(ref)["events"]]
        ids = [e.id for e in events]
        start = ids.index(after) + 1 if after in ids else 0
        yield from events[start:]

    def cancel(self, ref: JobRef) -> None:
        job = self._load(ref)
        if job["status"] not in ("done", "error", "stopped"):
            job["status"] = "stopped"
            self._save(Path(ref.extra["dir"]), job, "cancelled")

    def result(self, ref: JobRef) -> FineTunedModel:
        job = self._load(ref)
        path = Path(ref.extra["dir"]) / MODEL_FILE
        return FineTunedModel(
            provider=self.name, model_id=str(path), base_model=job["base_model"], kind="model_dir", path=str(path)
        )

    def client(self, model: FineTunedModel) -> NearestClient:
        pairs: list[tuple[str, str]] = []
        if model.path is not None:
            stored = json.loads(Path(model.path).read_text(encoding="utf-8"))["pairs"]
            pairs = [(question, answer) for question, answer in stored]
        return NearestClient(
            model.model_id, pairs, lowercase=self.options.lowercase, min_overlap=self.options.min_overlap
        )

    # -- the job file ---------------------------------------------------------

    def _load(self, ref: JobRef) -> dict[str, Any]:
        path = Path(ref.extra["dir"]) / JOB_FILE
        if not path.exists():
            raise NotFoundError(f"job {ref.job_id} not found at {path}", provider=self.name)
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data

    def _save(self, job_dir: Path, job: dict[str, Any], message: str, metrics: dict[str, float] | None = None) -> None:
        event = JobEvent(
            id=f"{job['id']}-{len(job['events']) + 1}",
            created_at=datetime.now(timezone.utc),
            type="metrics" if metrics else "status",
            message=message,
            metrics=metrics or {},
            data={"status": job["status"]},
        )
        job["events"].append(event.model_dump(mode="json"))
        tmp = job_dir / (JOB_FILE + ".tmp")
        tmp.write_text(json.dumps(job), encoding="utf-8")
        tmp.replace(job_dir / JOB_FILE)  # atomic: a crash never leaves half a job file
