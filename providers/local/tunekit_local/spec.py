"""What the training process is asked to do: job.json, written by submit, read by the worker."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tunekit_local.options import LocalOptions
from tunekit_local.runfolder import RunFolder, read_json, write_json

__all__ = ["JobSpec"]


class JobSpec(BaseModel):
    """A training job, free of secrets (tokens reach the worker through its environment)."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    method: Literal["sft", "dpo", "rft"] = "sft"
    reward: list[str] = Field(default_factory=list)
    """RFT: the reward functions (metric names or ``module:function``), loaded by the training process."""
    model: str
    train_file: str
    validation_file: str | None = None
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    lora: dict[str, Any] | None = None
    seed: int = 42
    init_adapter: str | None = None
    """A copy of an earlier run's adapter to train further (``init_from``), in this run's folder."""
    options: dict[str, Any] = Field(default_factory=dict)
    created_at: str = ""

    def local_options(self) -> LocalOptions:
        return LocalOptions.model_validate(self.options)

    def write(self, folder: RunFolder) -> None:
        write_json(folder.job, self.model_dump(mode="json"))

    @classmethod
    def read(cls, folder: RunFolder) -> JobSpec | None:
        data = read_json(folder.job)
        return None if data is None else cls.model_validate(data)
