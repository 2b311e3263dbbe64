"""The local provider: train on this machine's GPUs (or CPU) with transformers, PEFT and TRL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from tunekit.plugin import (
    Checkpoint,
    ConflictError,
    DataError,
    FineTunedModel,
    JobError,
    JobEvent,
    JobRef,
    JobState,
    JobStatus,
    Limits,
    PreparedData,
    Provider,
    RunContext,
    get_logger,
    price_hours,
)
from tunekit_local import launch
from tunekit_local.options import FLASH_ATTENTION, LocalOptions
from tunekit_local.runfolder import RunFolder, now_iso, read_json, write_json
from tunekit_local.spec import JobSpec

if TYPE_CHECKING:
    from tunekit.plugin import (
        ChatClient,
        CostEstimate,
        DatasetSplits,
        DeployConfig,
        HostingCost,
        TokenStats,
        TuneConfig,
    )

__all__ = ["LocalProvider"]

logger = get_logger("tunekit.local")

STATUS_MAP = {
    "queued": JobStatus.QUEUED,
    "running": JobStatus.RUNNING,
    "succeeded": JobStatus.SUCCEEDED,
    "failed": JobStatus.FAILED,
    "cancelled": JobStatus.CANCELLED,
    "interrupted": JobStatus.FAILED,
}


class LocalProvider(Provider[LocalOptions]):
    """Fine-tune on this machine; training runs in a child process that reports through the run folder."""

    name: ClassVar[str] = "local"
    Options: ClassVar[type[LocalOptions]] = LocalOptions
    spends_money: ClassVar[bool] = False
    runs_here: ClassVar[bool] = True

    # -- limits and cost ------------------------------------------------------------

    @classmethod
    def limits(cls, model: str) -> Limits:
        kinds = {
            "sft": ("chat", "prompt_completion", "text"),
            "dpo": ("preference",),
            "rft": ("chat", "prompt_completion"),
        }
        return Limits(min_examples=1, kinds=kinds)

    @classmethod
    def estimate_cost(cls, config: TuneConfig, stats: TokenStats, estimate: CostEstimate) -> CostEstimate:
        """Memory and (with ``provider_options.gpu``) time on this machine's GPU; no bill."""
        gpu = str(config.provider_options.get("gpu") or "")
        price_hours(config, stats, estimate, hardware=gpu or "this machine", gpu=gpu or None, count=1, per_hour=None)
        estimate.total = 0.0
        estimate.notes.append("local training costs only your own hardware's time")
        return estimate

    # -- before anything runs ----------------------------------------------------

    def check(self, config: TuneConfig) -> list[str]:
        problems = []
        opts = self.options
        hp = config.hyperparameters
        if hp.learning_rate_multiplier != "auto":
            problems.append("hyperparameters.learning_rate_multiplier: the local provider takes learning_rate instead")
        if opts.quantization == "4bit" and config.lora is None:
            problems.append("provider_options.quantization: 4bit (QLoRA) trains an adapter; keep the lora section")
        for name in ("packing", "padding_free"):
            if not getattr(opts, name):
                continue
            if opts.attn_implementation not in ("auto", *FLASH_ATTENTION):
                problems.append(
                    f"provider_options.{name}: needs attn_implementation flash_attention_2 or flash_attention_3 "
                    f"(packed rows must not attend across examples), not {opts.attn_implementation}"
                )
            elif opts.attn_implementation == "auto" and not _installed("flash_attn"):
                problems.append(
                    f"provider_options.{name}: needs FlashAttention (packed rows must not attend across examples), "
                    "and flash-attn is not installed: pip install flash-attn (CUDA GPUs only)"
                )
        if config.method == "dpo" and opts.packing:
            problems.append("provider_options.packing: DPO trains on pairs and cannot pack them")
        if config.method == "rft":
            problems.extend(_reward_problems(config))
        if opts.distributed == "deepspeed-zero3" and not _installed("deepspeed"):
            problems.append("provider_options.distributed: deepspeed-zero3 needs deepspeed: pip install deepspeed")
        if opts.accelerate_config and not Path(opts.accelerate_config).is_file():
            problems.append(f"provider_options.accelerate_config: {opts.accelerate_config} does not exist")
        if config.deploy is not None:  # served on an Inference Endpoint from the repo the run pushes to
            from tunekit.plugin import endpoint_config_problems

            if not opts.push_to_hub:
                problems.append(
                    "deploy: an Inference Endpoint loads the run from the Hub: set provider_options.push_to_hub"
                )
            else:
                problems += endpoint_config_problems(
                    config.deploy, adapter=config.lora is not None, api_url=opts.endpoints_api
                )
        try:
            from tunekit.plugin import resolve_model

            resolve_model(config.model)
        except (ValueError, ImportError) as exc:
            problems.append(str(exc))
        return problems

    def prepare(self, data: DatasetSplits, config: TuneConfig, run: RunContext) -> PreparedData:
        """Write the data as TRL JSONL into the run folder."""
        from tunekit.plugin import content_hash, write_examples

        folder = RunFolder(run.run_dir)
        if config.method == "rft":
            return _prepare_rft(data, config, folder)
        target = _trl_target(data.train, config.method)
        # Weights stay on the messages: the trainer leaves weight-0 assistant turns out of the loss.
        train = write_examples(data.train, folder.data / "train.jsonl", target, weights=True)
        validation = None
        if data.validation:
            validation = write_examples(data.validation, folder.data / "validation.jsonl", target, weights=True)
        digest = content_hash(train)
        return PreparedData(
            train=str(train),
            validation=str(validation) if validation else None,
            train_examples=len(data.train),
            validation_examples=len(data.validation or []),
            content_hash=digest,
            extra={"format": target},
        )

    # -- the job -----------------------------------------------------------------

    def submit(self, prepared: PreparedData, config: TuneConfig, run: RunContext) -> JobRef:
        folder = RunFolder(run.run_dir)
        spec = JobSpec(
            run_id=run.run_id,
            method=config.method,
            reward=list(config.reward),
            model=_absolute_if_local(config.model),
            train_file=prepared.train,
            validation_file=prepared.validation,
            hyperparameters=config.hyperparameters.model_dump(mode="json"),
            lora=config.lora.model_dump(mode="json") if config.lora is not None else None,
            seed=config.seed,
            options=self.options.model_dump(mode="json", exclude={"hub_token"}),
            created_at=now_iso(),
        )
        if run.start_from is not None:
            spec = _continuing(spec, Path(run.start_from), run.run_dir)
        return self.start(spec, folder)

    def starting_point(self, parent: FineTunedModel, config: TuneConfig) -> str:
        """The parent's adapter folder (or checkpoint folder, or full model folder) on this machine."""
        from tunekit_local.init_adapter import check_parent

        return check_parent(parent, config)

    def start(self, spec: JobSpec, folder: RunFolder) -> JobRef:
        """Write job.json and launch the training process (``submit`` without a ledger)."""
        spec.write(folder)
        write_json(
            folder.status, {"status": "queued", "message": "starting the training process", "updated_at": now_iso()}
        )
        info = self._launch(folder, resume=False, attempt=1)
        return _ref(folder, spec.run_id, info)

    def _launch(self, folder: RunFolder, *, resume: bool, attempt: int) -> launch.ProcessInfo:
        command = launch.launch_command(self.options, folder.root, resume=resume, precision=self.options.precision)
        env: dict[str, str] = {}
        if self.options.hub_token is not None:
            env["HF_TOKEN"] = self.options.hub_token.get_secret_value()
        return launch.spawn(command, folder, env=env, attempt=attempt)

    def find(self, run: RunContext) -> JobRef | None:
        folder = RunFolder(run.run_dir)
        spec = JobSpec.read(folder)
        if spec is None:
            return None
        info = launch.ProcessInfo.read(folder)
        if info is None:
            # job.json was written but the launch was never recorded: adopt the process only if it reported in.
            pid = (read_json(folder.status) or {}).get("pid")
            if not isinstance(pid, int) or not _pid_alive(pid):
                return None
        return _ref(folder, spec.run_id, info)

    def status(self, ref: JobRef) -> JobState:
        folder = _folder(ref)
        data = read_json(folder.status) or {"status": "queued"}
        raw = str(data.get("status", "queued"))
        message = data.get("message") or None
        info = launch.ProcessInfo.read(folder)
        alive = info is not None and launch.is_alive(info)
        if raw in ("queued", "running") and not alive and (info is not None or folder.cancel_marker.exists()):
            raw, message = self._ended_early(folder, info)
        return JobState(
            status=STATUS_MAP.get(raw, JobStatus.RUNNING),
            raw_status=raw,
            job_id=ref.job_id,
            message=message,
            step=data.get("step"),
            total_steps=data.get("total_steps"),
            trained_tokens=data.get("trained_tokens"),
            estimated_finish=data.get("estimated_finish") if raw == "running" else None,
            fine_tuned_model=str(folder.adapter) if raw == "succeeded" else None,
        )

    def _ended_early(self, folder: RunFolder, info: launch.ProcessInfo | None) -> tuple[str, str]:
        if folder.cancel_marker.exists():
            return "cancelled", "cancelled"
        code = launch.exit_code(info) if info is not None else None
        last = folder.last_checkpoint()
        where = f"from {last.name}" if last is not None else "from the start (no checkpoint was saved)"
        how = f"exited with status {code}" if code is not None else "stopped without finishing (killed?)"
        return "interrupted", f"the training process {how}; `tunekit resume RUN` continues {where} (log: {folder.log})"

    def events(self, ref: JobRef, after: str | None = None) -> Iterator[JobEvent]:
        folder = _folder(ref)
        for raw in folder.read_events(after):
            yield JobEvent(
                id=str(raw["id"]),
                created_at=_parse_time(raw.get("created_at")),
                level=str(raw.get("level", "info")),
                type=str(raw.get("type", "message")),
                message=str(raw.get("message", "")),
                step=raw.get("step"),
                total_steps=raw.get("total_steps"),
                metrics=raw.get("metrics") or {},
                data=raw.get("data") or ({"status": raw["status"]} if "status" in raw else {}),
            )

    def cancel(self, ref: JobRef) -> None:
        folder = _folder(ref)
        state = self.status(ref)
        if state.is_terminal:
            return
        folder.cancel_marker.write_text(now_iso(), encoding="utf-8")
        info = launch.ProcessInfo.read(folder)
        if info is not None and not launch.terminate(info, timeout=self.options.cancel_timeout):
            raise JobError(f"training process {info.pid} could not be stopped", job_id=ref.job_id)
        data = read_json(folder.status) or {}
        if data.get("status") not in ("cancelled", "succeeded", "failed"):
            write_json(folder.status, {**data, "status": "cancelled", "message": "cancelled", "updated_at": now_iso()})

    def resume(self, ref: JobRef) -> None:
        """Start the training process again; it continues from the last complete checkpoint."""
        folder = _folder(ref)
        info = launch.ProcessInfo.read(folder)
        if info is not None and launch.is_alive(info):
            raise ConflictError(f"run is still training (process {info.pid}); nothing to resume", provider=self.name)
        state = self.status(ref)
        if state.status == JobStatus.SUCCEEDED:
            logger.info("run %s already finished; nothing to resume", ref.job_id)
            return
        folder.cancel_marker.unlink(missing_ok=True)
        last = folder.last_checkpoint()
        message = f"resuming from {last.name}" if last is not None else "restarting (no checkpoint was saved)"
        data = read_json(folder.status) or {}
        write_json(folder.status, {**data, "status": "queued", "message": message, "updated_at": now_iso()})
        attempt = (info.attempt + 1) if info is not None else 1
        self._launch(folder, resume=True, attempt=attempt)

    def checkpoints(self, ref: JobRef) -> list[Checkpoint]:
        folder = _folder(ref)
        found = []
        for path in folder.checkpoint_dirs():
            state = read_json(path / "trainer_state.json") or {}
            history = state.get("log_history") or []
            losses = [h for h in history if "loss" in h]
            metrics = {"train_loss": float(losses[-1]["loss"])} if losses else {}
            step = int(path.name.split("-")[1])
            created = datetime.fromtimestamp(path.stat().st_mtime).astimezone()
            found.append(Checkpoint(id=path.name, step=step, path=str(path), metrics=metrics, created_at=created))
        return found

    def result(self, ref: JobRef) -> FineTunedModel:
        folder = _folder(ref)
        data = read_json(folder.result)
        if data is None:
            raise JobError("the run has no result yet", job_id=ref.job_id)
        metadata = {k: v for k, v in data.items() if k not in ("base_model", "kind", "path")}
        merged = (data.get("merge") or {}).get("path")
        if merged:
            metadata["merged_path"] = merged
        return FineTunedModel(
            provider=self.name,
            model_id=str(data["path"]),
            base_model=str(data["base_model"]),
            kind=data.get("kind", "adapter"),
            path=str(data["path"]),
            metadata=metadata,
        )

    # -- Inference Endpoints, for a run pushed to the Hub ------------------------------------

    @classmethod
    def hosting_cost(cls, model: str, deploy: DeployConfig | None) -> HostingCost | None:
        """Only a deployed run costs by the hour: its Inference Endpoint's instance."""
        from tunekit.plugin import endpoint_hosting_cost

        return endpoint_hosting_cost(deploy) if deploy is not None else None

    def deploy(self, model: FineTunedModel, deploy: DeployConfig, run: RunContext) -> FineTunedModel:
        """Serve the Hub repo the run pushed to (``push_to_hub``) on an Inference Endpoint; it bills by the hour."""
        from tunekit_local.hosting import deploy_pushed, hub_connection

        return deploy_pushed(self.options, hub_connection(self.options), model, deploy, run)

    def undeploy(self, model: FineTunedModel, run: RunContext) -> None:
        from tunekit.plugin import delete_endpoint
        from tunekit_local.hosting import hub_connection

        delete_endpoint(hub_connection(self.options), model, run, api_url=self.options.endpoints_api)

    def pause_deployment(self, model: FineTunedModel, run: RunContext) -> None:
        from tunekit.plugin import pause_endpoint
        from tunekit_local.hosting import hub_connection

        pause_endpoint(hub_connection(self.options), model, run, api_url=self.options.endpoints_api)

    def resume_deployment(self, model: FineTunedModel, run: RunContext) -> FineTunedModel:
        from tunekit.plugin import resume_endpoint
        from tunekit_local.hosting import hub_connection

        opts = self.options
        return resume_endpoint(
            hub_connection(opts),
            model,
            run,
            api_url=opts.endpoints_api,
            wait_timeout=opts.endpoint_wait,
            poll=opts.endpoint_poll_interval,
        )

    def base_client_for(self, model: FineTunedModel) -> ChatClient:
        from tunekit.plugin import endpoint_base_client
        from tunekit_local.hosting import hub_token

        served = endpoint_base_client(model, hub_token(self.options)) if model.deployment else None
        return served or self.base_client(model.base_model)

    def client(self, model: FineTunedModel) -> ChatClient:
        from tunekit.plugin import LocalChatClient, endpoint_client

        if model.deployment:
            from tunekit_local.hosting import hub_token

            deployed = endpoint_client(model, hub_token(self.options))
            if deployed is not None:
                return deployed

        common: dict[str, Any] = {
            "device": self.options.device,
            "precision": self.options.precision,
            "trust_remote_code": self.options.trust_remote_code,
        }
        if model.kind == "adapter":
            return LocalChatClient(
                model.base_model, adapter=model.path or model.model_id, name=model.model_id, **common
            )
        return LocalChatClient(model.path or model.model_id, name=model.model_id, **common)


def _continuing(spec: JobSpec, start: Path, run_dir: Path) -> JobSpec:
    """The job continuing an earlier run: a copy of its adapter (in its shape) to train, or its full model."""
    from tunekit_local.init_adapter import ADAPTER_CONFIG, adapter_settings, copy_adapter

    if not (start / ADAPTER_CONFIG).is_file():
        return spec.model_copy(update={"model": str(start)})
    shape = adapter_settings(start)
    lora = {**(spec.lora or {}), "r": shape["r"], "alpha": shape["alpha"], "target_modules": shape["target_modules"]}
    return spec.model_copy(update={"init_adapter": str(copy_adapter(start, run_dir)), "lora": lora})


def _absolute_if_local(reference: str) -> str:
    """A model path made absolute (the training process runs in the run folder); other references unchanged."""
    path = Path(reference).expanduser()
    return str(path.resolve()) if path.exists() else reference


def _pid_alive(pid: int) -> bool:
    import psutil

    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _trl_target(examples: list[Any], method: str) -> str:
    if not examples:
        raise DataError("there are no training examples")
    kinds = {getattr(type(ex), "kind", None) for ex in examples}
    if len(kinds) > 1:
        raise DataError(f"the training data mixes example kinds ({', '.join(sorted(str(k) for k in kinds))})")
    kind = kinds.pop()
    if method == "dpo":
        if kind != "preference":
            raise DataError(f"method dpo needs preference examples (prompt, chosen, rejected), not {kind} examples")
        return "trl-preference"
    if kind == "preference":
        raise DataError("preference examples (chosen / rejected) train with method: dpo, not sft")
    return {"chat": "trl-conversational", "prompt_completion": "trl-prompt-completion"}.get(str(kind), "trl-text")


def _reward_problems(config: TuneConfig) -> list[str]:
    """Reward functions that cannot be loaded (a missing module, a typo), found before the run starts."""
    from tunekit.plugin import ConfigError, resolve_rewards

    try:
        resolve_rewards(config.reward)
    except ConfigError as exc:
        return [str(exc)]
    return []


def _prepare_rft(data: DatasetSplits, config: TuneConfig, folder: RunFolder) -> PreparedData:
    """GRPO rows (prompt, reference answer, other fields), written once every reward finds its columns."""
    import json

    from tunekit.plugin import check_reward_columns, content_hash, resolve_rewards, reward_items, reward_rows

    kinds = {getattr(type(ex), "kind", None) for ex in data.train}
    if not kinds <= {"chat", "prompt_completion"}:
        raise DataError(f"method rft needs chat or prompt-completion examples, not {', '.join(map(str, kinds))}")
    items = reward_items(data.train)
    check_reward_columns(resolve_rewards(config.reward), items)
    path = folder.data / "train.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for row in reward_rows(items):
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return PreparedData(
        train=str(path),
        validation=None,  # GRPO validates by sampling again; the evaluation after training scores the rewards
        train_examples=len(items),
        validation_examples=0,
        content_hash=content_hash(path),
        extra={"format": "trl-prompt-only"},
    )


def _folder(ref: JobRef) -> RunFolder:
    run_dir = ref.extra.get("run_dir")
    if not run_dir:
        raise JobError("the job reference carries no run folder", job_id=ref.job_id)
    return RunFolder(Path(run_dir))


def _ref(folder: RunFolder, run_id: str, info: launch.ProcessInfo | None) -> JobRef:
    extra: dict[str, Any] = {"run_dir": str(folder.root)}
    if info is not None:
        extra.update(pid=info.pid, started=info.create_time)
    return JobRef(provider="local", job_id=f"local-{run_id}", extra=extra)


def _parse_time(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    return datetime.now().astimezone()
