"""`tunekit migrate`: dataset → train the target → certify, each step kept so a kill resumes without paying twice.

The migration's folder (``$TUNEKIT_HOME/migrations/ID``) holds the training
set it used (the source run's data, or distilled answers with their
provenance), the held-out items both sides are judged on, the report and the
certificate. Files appear whole or not at all, and the target config points at
them, so a re-run computes the same config hash: the Tuner then resumes the
unfinished target run (or re-uses the finished one) instead of starting another
paid job, and a finished migration answers with its stored certificate.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunekit.errors import ConfigError, DataError, JobError, ProviderError
from tunekit.migration.certificate import CandidateFigures, Certificate
from tunekit.migration.source import MigrationSource, resolve_source
from tunekit.secrets import get_logger

if TYPE_CHECKING:
    from tunekit.config import TuneConfig
    from tunekit.evaluate.candidates import EvalItem
    from tunekit.jobs import Job
    from tunekit.ledger import Ledger
    from tunekit.provider import FineTunedModel
    from tunekit.tuner import Tuner

__all__ = ["load_certificate", "migrate", "migration_folder"]

logger = get_logger("tunekit.migrate")

Confirm = Callable[[str], bool]
"""Asked before a step that bills (training, a deployment); False stops the migration."""
Say = Callable[[str], None]


def migration_folder(source: str, target_hash: str, *, distill: bool, data: str | None) -> Path:
    """Where one migration (this source, this target config, this dataset choice) keeps its files."""
    from tunekit.paths import tunekit_home

    key = json.dumps([source, target_hash, distill, data], sort_keys=True)
    return tunekit_home() / "migrations" / hashlib.sha256(key.encode()).hexdigest()[:16]


def migrate(
    source: str,
    to: str | Path | TuneConfig,
    *,
    provider: str | None = None,
    data: str | Path | None = None,
    distill: bool | None = None,
    eval_data: str | Path | None = None,
    margin: float = 2.0,
    metric: str | None = None,
    max_examples: int | None = None,
    ledger: Ledger | None = None,
    confirm: Confirm | None = None,
    say: Say | None = None,
    poll_interval: float | None = None,
    reevaluate: bool = False,
) -> Certificate:
    """Move a tuned workload to the ``to`` config and certify the result on the same held-out items.

    ``source`` is a run id (tunekit knows its data, config and model) or a
    model id tunekit did not train (``ft:…``, an Azure deployment, a Hub repo)
    served by ``provider``, with ``data`` as the prompts. ``distill`` makes the
    source model answer the training prompts (or ``data``) and trains on its
    answers; the default uses the original training data when there is one.
    ``confirm`` is asked before anything bills; ``say`` hears each step.
    """
    from tunekit.config import load_config
    from tunekit.ledger import Ledger

    ledger = ledger or Ledger()
    say = say or (lambda message: logger.info("%s", message))
    origin = resolve_source(source, provider=provider, ledger=ledger)
    target = to if not isinstance(to, (str, Path)) else load_config(to)
    _refuse_same_model(origin, target)
    use_distill = _choose_distill(origin, distill, data)
    from tunekit.config import config_hash

    folder = migration_folder(origin.label, config_hash(target), distill=use_distill, data=str(data) if data else None)
    folder.mkdir(parents=True, exist_ok=True)
    held_out = _held_out(origin, target, eval_data, folder)
    say(
        f"migrating {origin.label} ({origin.provider.name} {origin.model.model_id}) to {target.provider} "
        f"{target.model}; {len(held_out)} held-out items; files in {folder}"
    )

    train_file, validation = _dataset(origin, target, folder, distill=use_distill, data=data, say=say)
    config = _target_config(target, train_file, validation, folder / "eval.jsonl")
    tuner = _tuner(config, ledger)
    job = _train(tuner, origin, confirm=confirm, say=say, poll_interval=poll_interval)
    model = _serve(tuner, job, confirm=confirm, say=say)
    return _certify(
        origin,
        job,
        model,
        held_out,
        folder,
        target=config,
        margin=margin,
        metric=metric,
        max_examples=max_examples,
        reevaluate=reevaluate,
        say=say,
    )


# -- checks before anything is spent ------------------------------------------------------


def _refuse_same_model(origin: MigrationSource, target: TuneConfig) -> None:
    if target.provider == origin.provider.name and target.model == origin.model.base_model:
        raise ConfigError(
            f"the target config tunes {target.model} on {target.provider}, the source's own provider and base "
            "model: that is re-training, not a migration (use `tunekit run --new`), or point --to at another one"
        )


def _choose_distill(origin: MigrationSource, distill: bool | None, data: str | Path | None) -> bool:
    has_original = origin.config is not None
    if distill is False and not has_original:
        raise ConfigError(
            f"{origin.label} is not a run tunekit trained, so its training data is unknown: distil it "
            "(--distill, with the prompts in --data)"
        )
    if distill or not has_original:
        if data is None and not has_original:
            raise ConfigError("distilling a model tunekit did not train needs the prompts to ask it: --data FILE")
        return True
    return False


def _held_out(
    origin: MigrationSource, target: TuneConfig, eval_data: str | Path | None, folder: Path
) -> list[EvalItem]:
    """The items both sides answer: --eval, else the source run's evaluation split; kept beside the migration."""
    from tunekit.data import read_examples
    from tunekit.evaluate import eval_items, held_out_examples

    kept = folder / "eval.jsonl"
    if eval_data is not None:
        examples = list(read_examples(str(eval_data)))
    elif origin.config is not None:
        try:
            examples, _ = held_out_examples(origin.config)
        except DataError as exc:
            raise ConfigError(f"no held-out data to judge the migration on: {exc}; give --eval FILE") from None
    elif kept.exists():
        examples = list(read_examples(str(kept)))
    else:
        raise ConfigError(
            f"no held-out data to judge the migration on: {origin.label} is not a run tunekit trained; give --eval FILE"
        )
    items = eval_items(examples)
    if not kept.exists():
        _write_jsonl(kept, [{"messages": [*i.prompt, {"role": "assistant", "content": i.reference}]} for i in items])
    return items


# -- step 1: the dataset ------------------------------------------------------------------


def _dataset(
    origin: MigrationSource,
    target: TuneConfig,
    folder: Path,
    *,
    distill: bool,
    data: str | Path | None,
    say: Say,
) -> tuple[str, str | None]:
    """The training file (and validation file) the target trains on."""
    if not distill:
        assert origin.config is not None  # _choose_distill guarantees it
        say(f"dataset: the source run's training data ({origin.config.data.train})")
        return origin.config.data.train, origin.config.data.validation
    out = folder / "distilled.jsonl"
    if out.exists():
        say(f"dataset: distilled answers already kept in {out}")
        return str(out), None
    from tunekit.evaluate.candidates import EvalItem
    from tunekit.migration.distill import distill as run_distill
    from tunekit.migration.prompts import read_prompts

    if data is not None:
        prompts = read_prompts(Path(data))
    else:
        from tunekit.data import read_examples
        from tunekit.evaluate import eval_items

        assert origin.config is not None
        prompts = [(i.prompt, i.where) for i in eval_items(read_examples(origin.config.data.train))]
    items = [EvalItem(prompt=p, reference="", where=where) for p, where in prompts]
    say(f"dataset: distilling {len(items)} prompts through {origin.model.model_id}")
    client = origin.client()
    try:
        result = run_distill(client, items, out, source_model=origin.model.model_id, check=_row_check(target, folder))
    except ProviderError as exc:
        if exc.provider == "migrate":
            raise
        raise ProviderError(
            f"the source model {origin.model.model_id} refused the distillation requests ({exc}); nothing was trained",
            provider=origin.provider.name,
            status_code=exc.status_code,
        ) from exc
    finally:
        client.close()
    dropped = ", ".join(f"{n} {reason}" for reason, n in result.dropped.items())
    say(f"dataset: {result.kept} answers kept" + (f"; dropped {dropped}" if dropped else ""))
    return str(out), None


def _row_check(target: TuneConfig, folder: Path) -> Callable[[list[dict[str, Any]]], dict[int, str]]:
    """Validate the distilled rows as the target would, so no failing row is ever uploaded."""
    from tunekit.data import validate_data

    def check(rows: list[dict[str, Any]]) -> dict[int, str]:
        failing: dict[int, str] = {}
        probe = folder / "distilled.check.jsonl"
        # The report keeps the first findings of each kind: drop those lines and look again until none is left.
        for _ in range(len(rows)):
            remaining = [i for i in range(len(rows)) if i not in failing]
            if not remaining:
                break
            _write_jsonl(probe, [rows[i] for i in remaining])
            data = target.data.model_copy(update={"train": str(probe), "validation": None, "validation_split": None})
            report = validate_data(target.model_copy(update={"data": data}), estimate=False)
            found = {f.line: f.message for f in report.errors if f.line is not None}
            if report.ok or not found:
                break
            for line, message in found.items():
                failing[remaining[line - 1]] = f"fails validation: {message}"
        probe.unlink(missing_ok=True)
        return failing

    return check


def _target_config(target: TuneConfig, train: str, validation: str | None, eval_file: Path) -> TuneConfig:
    from tunekit.config import EvalConfig

    data = target.data.model_copy(
        update={
            "train": train,
            "validation": validation,
            "validation_split": None if validation else target.data.validation_split,
        }
    )
    settings = (target.eval or EvalConfig()).model_copy(update={"data": str(eval_file)})
    return target.model_copy(update={"data": data, "eval": settings})


# -- step 2: train ------------------------------------------------------------------------


def _tuner(config: TuneConfig, ledger: Ledger) -> Tuner:
    from tunekit.tuner import Tuner

    return Tuner(config, ledger=ledger)


def _train(
    tuner: Tuner, origin: MigrationSource, *, confirm: Confirm | None, say: Say, poll_interval: float | None
) -> Job:
    from tunekit.states import JobStatus

    existing = tuner.existing_run()  # the run submit would pick up: same job (config and data content)
    if existing is not None and existing.status is JobStatus.SUCCEEDED:
        say(f"train: run {existing.run_id} of this target already succeeded; re-using it")
        return tuner.job(existing.run_id)
    if existing is None:
        report = tuner.validate(strict=True)  # bad data stops here: nothing uploaded, nothing spent
        if tuner.provider.spends_money and confirm is not None:
            cost = report.cost
            estimate = f" (estimated {cost.total:.2f} {cost.currency})" if cost and cost.total is not None else ""
            if not confirm(f"Train {tuner.config.model} on {tuner.config.provider}{estimate}?"):
                raise ConfigError("the migration stopped before training: nothing was spent")
    job = tuner.submit()
    tuner.ledger.update(
        job.run_id, remote={"migrated_from": origin.label, "migrated_from_model": origin.model.model_id}
    )
    say(f"train: run {job.run_id} (job {job.job_id})")
    interval = poll_interval if poll_interval is not None else tuner.provider.poll_interval
    job.wait(poll_interval=interval)
    if job.record.status is not JobStatus.SUCCEEDED:
        raise JobError(f"the target run ended {job.record.status.value}; nothing to certify", run_id=job.run_id)
    return job


def _serve(tuner: Tuner, job: Job, *, confirm: Confirm | None, say: Say) -> FineTunedModel:
    model = job.result()
    if tuner.config.deploy is None or model.deployment:
        return model
    if confirm is not None and not confirm(f"Deploy {model.model_id} (it may bill by the hour until removed)?"):
        raise ConfigError(f"the migration stopped before deploying; the target run is {job.run_id}")
    deployed = tuner.deploy(job.run_id)
    say(f"serve: deployed as {deployed.deployment} (`tunekit undeploy {job.run_id}` removes it)")
    return deployed


# -- step 3: certify ----------------------------------------------------------------------


def _certify(
    origin: MigrationSource,
    job: Job,
    model: FineTunedModel,
    items: list[EvalItem],
    folder: Path,
    *,
    target: TuneConfig,
    margin: float,
    metric: str | None,
    max_examples: int | None,
    reevaluate: bool,
    say: Say,
) -> Certificate:
    from tunekit.config import EvalConfig
    from tunekit.evaluate import Candidate, evaluate, price_for
    from tunekit.migration.certificate import certify

    stored = folder / "certificate.json"
    if stored.exists() and not reevaluate:
        certificate = load_certificate(stored)
        if certificate.target_run == job.run_id and certificate.margin == margin:
            say(f"certify: the stored certificate of run {job.run_id} (pass reevaluate to judge again)")
            return certificate
    settings = target.eval or EvalConfig()
    chosen = metric or settings.metrics[0]
    source_client, target_client = origin.client(), model.bind(job.provider).client()
    candidates = [
        Candidate(
            "source", source_client, "tuned", price=price_for(origin.provider.name, origin.model.model_id, tuned=True)
        ),
        Candidate("target", target_client, "tuned", price=price_for(target.provider, model.model_id, tuned=True)),
    ]
    say(f"certify: both models answer {min(len(items), max_examples or len(items))} held-out items")
    try:
        report = evaluate(
            candidates,
            items,
            [chosen, *(m for m in settings.metrics if m != chosen)],
            regex=settings.regex,
            max_examples=max_examples,
            max_new_tokens=settings.max_new_tokens,
            title=f"Migration: {origin.label} → {job.run_id}",
        )
    finally:
        source_client.close()
        target_client.close()
    source_side, target_side = report.candidates
    for side in (source_side, target_side):
        if side.errors == side.n:
            raise JobError(f"the {side.name} model ({side.model}) answered none of the held-out items; no verdict")
    certificate = certify(
        source_side,
        target_side,
        chosen,
        margin=margin,
        source_run=origin.run_id,
        target_run=job.run_id,
        eval_data=str(folder / "eval.jsonl"),
    )
    report.save(folder / "report")
    _write_text(stored, certificate.to_json())
    _write_text(folder / "certificate.md", certificate.to_markdown())
    job.ledger.record(
        job.run_id,
        "outcome",
        step="certify",
        message=certificate.sentence,
        data={"verdict": certificate.verdict, "folder": str(folder)},
    )
    return certificate


def load_certificate(path: Path) -> Certificate:
    data = json.loads(path.read_text(encoding="utf-8"))
    data.pop("sentence", None)
    data["source"] = CandidateFigures(**data["source"])
    data["target"] = CandidateFigures(**data["target"])
    return Certificate(**data)


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    _write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
