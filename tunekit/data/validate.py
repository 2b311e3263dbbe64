"""Validation: every record read, checked, counted and compared, in one streaming pass per file.

``validate_data(config)`` checks a config's training, validation and
evaluation files for its provider, model and method, and returns a
:class:`ValidationReport` with the findings (file, line, field path), the token
distribution and a cost estimate. ``strict=True`` raises :class:`DataError`
instead of returning a report with errors.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tunekit.data.examples import ChatExample, PreferenceExample, PromptCompletionExample, TextExample
from tunekit.data.report import Findings, ValidationReport
from tunekit.data.scan import DataCheck, Scan
from tunekit.data.tokens import TokenCounter
from tunekit.errors import DataError
from tunekit.secrets import get_logger

if TYPE_CHECKING:
    from tunekit.config import TuneConfig
    from tunekit.data.hooks import DataProfile

__all__ = ["DataCheck", "check_from_config", "check_sources", "config_sources", "raise_for_report", "validate_data"]

logger = get_logger("tunekit.data.validate")

AnyExample = ChatExample | PreferenceExample | PromptCompletionExample | TextExample


def check_sources(
    sources: Sequence[tuple[str, object]],
    check: DataCheck,
    *,
    collect: bool = False,
    dedupe: bool = False,
) -> tuple[ValidationReport, dict[str, list[AnyExample]]]:
    """Validate ``(split, source)`` pairs in order (train first); optionally keep the valid examples."""
    findings = Findings("<data>")
    report = ValidationReport(provider=check.provider, model=check.model, method=check.method)
    kept: dict[str, list[AnyExample]] = {}
    train_digests: dict[int, int] | None = None
    for split, source in sources:
        scan = Scan(
            split,
            source,
            check,
            findings,
            compare_to=train_digests if split != "train" else None,
            dedupe=dedupe and split == "train",
        )
        if collect:
            kept[split] = list(scan)
        else:
            scan.run()
        if split == "train":
            train_digests = scan.digests
            _dataset_checks(scan, check)
        report.splits.append(scan.summary())
    report.findings = findings.items
    report.counts = dict(findings.counts)
    report.error_count = findings.severities["error"]
    report.warning_count = findings.severities["warning"]
    return report, kept


def _dataset_checks(scan: Scan, check: DataCheck) -> None:
    _model_check(scan, check)
    minimum = check.min_examples if check.min_examples is not None else check.limits.min_examples
    n = scan.valid
    if minimum and n + scan.invalid > 0 and n < int(minimum):
        scan.f.add(
            "too_few_examples",
            f"{n} valid example(s); {check.provider or 'the provider'} needs at least {minimum}",
        )
    max_bytes = check.limits.max_file_bytes
    if max_bytes and isinstance(scan.source, (str, os.PathLike)):
        size = os.path.getsize(scan.source)
        if size > int(max_bytes):
            scan.f.add("file_too_large", f"{size:,} bytes; the limit is {int(max_bytes):,}")
    counter = check.counter
    if counter is not None and counter.approximate and scan.valid:
        scan.f.add("approximate_tokens", f"no tokenizer for {check.model}: counts use {counter.name}")


def _model_check(scan: Scan, check: DataCheck) -> None:
    """The provider must tune the model; without a provider profile, say which limits were assumed."""
    limits = check.limits
    if check.profile is None:
        if check.provider:
            scan.f.add(
                "unknown_model",
                f"checked without {check.provider}'s limits (pass its provider class as profile=, "
                "or use Tuner.validate): only the rules every provider shares were applied",
                severity="warning",
            )
        return
    if check.model and not limits.tunes(check.model):
        scan.f.add(
            "unknown_model",
            f"{check.provider} does not fine-tune {check.model!r}; it tunes {', '.join(limits.tunable_models or ())} "
            f"(its limits as of {limits.as_of or 'unknown'})",
        )


def check_from_config(
    config: TuneConfig,
    *,
    profile: DataProfile | None = None,
    tokenizer: Any = None,
    counter: TokenCounter | None = None,
) -> DataCheck:
    """The :class:`DataCheck` a config implies, with ``profile``'s (the provider's) limits."""
    seq = config.hyperparameters.max_seq_length
    return DataCheck(
        provider=config.provider,
        profile=profile,
        model=config.model,
        method=config.method,
        format=config.data.format,
        columns=config.data.columns,
        max_seq_length=seq if isinstance(seq, int) else None,
        tokenizer=tokenizer,
        counter=counter,
    )


def config_sources(config: TuneConfig) -> list[tuple[str, object]]:
    sources: list[tuple[str, object]] = [("train", config.data.train)]
    if config.data.validation:
        sources.append(("validation", config.data.validation))
    if config.eval is not None and config.eval.data and config.eval.data != config.data.validation:
        sources.append(("eval", config.eval.data))
    return sources


def raise_for_report(report: ValidationReport) -> None:
    """Raise :class:`DataError` naming the first error's file, line and field, with the report attached."""
    if report.ok:
        return
    first = report.first_error()
    more = report.error_count - 1
    suffix = f" (and {more} more error(s))" if more > 0 else ""
    if first is None:
        raise DataError(f"the data has {report.error_count} error(s)", report=report)
    raise DataError(
        f"{first.message} [{first.code}]{suffix}",
        file=first.file,
        line=first.line,
        field=first.field,
        report=report,
    )


def validate_data(
    config: TuneConfig,
    *,
    profile: DataProfile | None = None,
    strict: bool = False,
    tokenizer: Any = None,
    counter: TokenCounter | None = None,
    estimate: bool = True,
) -> ValidationReport:
    """Validate a config's data for its provider, model and method; count tokens; estimate the cost.

    ``profile`` is the provider (its class or an instance; :meth:`Tuner.validate
    <tunekit.Tuner.validate>` passes it): its limits, token counter and prices
    apply. Without one, only the rules every provider shares are checked.
    Nothing is uploaded or changed. With ``strict``, errors raise
    :class:`DataError` (its ``report`` holds the full report).
    """
    check = check_from_config(config, profile=profile, tokenizer=tokenizer, counter=counter)
    report, _ = check_sources(config_sources(config), check)
    if estimate and report.tokens is not None:
        from tunekit.data.cost import estimate_cost

        report.cost = estimate_cost(config, report.tokens, profile)
    logger.info("validated %s: %d error(s), %d warning(s)", config.data.train, report.error_count, report.warning_count)
    if strict:
        raise_for_report(report)
    return report
