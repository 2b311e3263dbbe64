"""Validation: every record read, checked, counted and compared, in one streaming pass per file.

``validate_data(config)`` checks a config's training, validation and
evaluation files for its provider, model and method, and returns a
:class:`ValidationReport` with the findings (file, line, field path), the token
distribution and a cost estimate. ``strict=True`` raises :class:`DataError`
instead of returning a report with errors.
"""

from __future__ import annotations

import hashlib
import os
from array import array
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tunekit.data.examples import ChatExample, PreferenceExample, PromptCompletionExample, Source, TextExample
from tunekit.data.formats import apply_columns, canonical_format, check_columns, detect_record_format, parse_record
from tunekit.data.readers import iter_records, source_name
from tunekit.data.report import Findings, SplitSummary, TokenStats, ValidationReport
from tunekit.data.tables import model_limits, provider_limits
from tunekit.data.tokens import HFTokenCounter, TokenCounter, token_counter
from tunekit.errors import DataError
from tunekit.secrets import get_logger

if TYPE_CHECKING:
    from tunekit.config import TuneConfig

__all__ = ["DataCheck", "check_sources", "raise_for_report", "validate_data"]

logger = get_logger("tunekit.data.validate")

AnyExample = ChatExample | PreferenceExample | PromptCompletionExample | TextExample

_DEFAULT_KINDS = {"sft": ["chat", "prompt_completion", "text"], "dpo": ["preference"]}


@dataclass
class DataCheck:
    """What to check data against: the provider, model and method, and how to read it."""

    provider: str | None = None
    model: str | None = None
    method: str = "sft"
    format: str | None = None
    columns: Mapping[str, str] | None = None
    max_seq_length: int | None = None
    tokenizer: Any = None
    counter: TokenCounter | None = None
    count_tokens: bool = True
    min_examples: int | None = None
    limits: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.format is not None:
            self.format = canonical_format(self.format)
        if self.columns:
            check_columns(self.columns)
        if self.provider:
            self.limits = provider_limits(self.provider)

    def make_counter(self) -> TokenCounter | None:
        if not self.count_tokens:
            return None
        if self.counter is None:
            self.counter = token_counter(self.model or "gpt-4o-mini", self.provider, tokenizer=self.tokenizer)
        return self.counter

    def token_limit(self) -> int | None:
        if self.provider and self.model and self.provider in ("openai", "azure"):
            limit = model_limits(self.provider, self.model).get("token_limit") or self.limits.get("default_token_limit")
            return int(limit) if limit else None
        if self.max_seq_length:
            return self.max_seq_length
        if isinstance(self.counter, HFTokenCounter):
            return self.counter.model_max_length
        return None

    def allowed_kinds(self) -> list[str]:
        kinds = self.limits.get("kinds") or _DEFAULT_KINDS
        return list(kinds.get(self.method, _DEFAULT_KINDS.get(self.method, [])))


def _digest(example: AnyExample) -> int:
    payload = example.__pydantic_serializer__.to_json(example)
    return int.from_bytes(hashlib.blake2b(payload, digest_size=8, person=example.kind.encode()[:16]).digest(), "big")


class _Scan:
    """One file's pass: parse, check, count; keeps only small per-example numbers."""

    def __init__(
        self,
        split: str,
        source: object,
        check: DataCheck,
        findings: Findings,
        *,
        compare_to: dict[int, int] | None,
        dedupe: bool,
    ) -> None:
        self.split = split
        self.source = source
        self.name = source_name(source)
        self.check = check
        self.f = findings.child(self.name, split)
        self.format = check.format
        self.records = 0
        self.valid = 0
        self.invalid = 0
        self.dropped = 0
        self.kinds: Counter[str] = Counter()
        self.tokens = array("q")
        self.trained = 0
        self.digests: dict[int, int] = {}
        self.compare_to = compare_to
        self.dedupe = dedupe

    def __iter__(self) -> Iterator[AnyExample]:
        f = self.f
        check = self.check
        columns = check.columns
        counter = check.make_counter()
        limit = check.token_limit()
        allowed = set(check.allowed_kinds())
        first_kind: str | None = None
        fmt = self.format
        for record, line in iter_records(self.source, f):
            self.records += 1
            if columns:
                record = apply_columns(record, columns)
            if fmt is None:
                fmt = detect_record_format(record)
                if fmt is None:
                    keys = sorted(record)[:8] if isinstance(record, Mapping) else type(record).__name__
                    f.add(
                        "unknown_format",
                        f"cannot tell the format from the keys {keys}; pass format= or a columns mapping",
                        line=line,
                    )
                    self.invalid += 1
                    continue
                self.format = fmt
            example = parse_record(record, fmt, line, f)
            if example is None:
                self.invalid += 1
                continue
            kind = example.kind
            if first_kind is None:
                first_kind = kind
                if kind not in allowed:
                    f.add(
                        "unsupported_kind",
                        f"{check.provider or 'the provider'} cannot train {check.method} on {kind} examples "
                        f"(it takes {', '.join(sorted(allowed)) or 'none'})",
                        line=line,
                    )
            elif kind != first_kind:
                f.add("mixed_kinds", f"a {kind} example among {first_kind} examples", line=line)
                self.invalid += 1
                continue
            if (
                kind == "preference"
                and check.limits.get("preference_single_turn")
                and isinstance(example, PreferenceExample)
                and (len(example.chosen) != 1 or len(example.rejected) != 1)
            ):
                f.add("preference_multi_turn_output", line=line, field="chosen")
                self.invalid += 1
                continue
            example.source = _source(self.name, line)
            digest = _digest(example)
            first = self.digests.get(digest)
            if first is not None:
                if self.dedupe:
                    self.dropped += 1
                    continue
                f.add("duplicate", f"the same example as line {first}", line=line)
            else:
                self.digests[digest] = line or 0
            if self.compare_to is not None and digest in self.compare_to:
                f.add(
                    "train_validation_overlap",
                    f"also in the training data (line {self.compare_to[digest]})",
                    line=line,
                )
            if counter is not None:
                total, trained, longest = counter.count_example(example)
                self.tokens.append(total)
                self.trained += trained
                if limit is not None and longest > limit:
                    f.add(
                        "over_token_limit",
                        f"{longest:,} tokens, over the {limit:,} limit: it will be truncated",
                        line=line,
                    )
            self.kinds[kind] += 1
            self.valid += 1
            yield example
        if self.records == 0 and not f.counts:
            f.add("empty_file", line=None)

    def summary(self) -> SplitSummary:
        counter = self.check.counter
        stats = None
        if counter is not None:
            stats = TokenStats.from_counts(
                self.tokens,
                counter=counter.name,
                approximate=counter.approximate,
                trained_total=self.trained,
                limit=self.check.token_limit(),
            )
        return SplitSummary(
            split=self.split,
            file=self.name,
            format=self.format,
            examples=self.valid,
            invalid=self.invalid,
            kinds=dict(self.kinds),
            tokens=stats,
        )


def _source(name: str, line: int | None) -> Source:
    return Source.model_construct(file=name, line=line)


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
        scan = _Scan(
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
            for _ in scan:
                pass
        if split == "train":
            train_digests = scan.digests
            _dataset_checks(scan, check)
        report.splits.append(scan.summary())
    report.findings = findings.items
    report.counts = dict(findings.counts)
    report.error_count = findings.severities["error"]
    report.warning_count = findings.severities["warning"]
    return report, kept


def _dataset_checks(scan: _Scan, check: DataCheck) -> None:
    minimum = check.min_examples if check.min_examples is not None else check.limits.get("min_examples")
    n = scan.valid
    if minimum and n + scan.invalid > 0 and n < int(minimum):
        scan.f.add(
            "too_few_examples",
            f"{n} valid example(s); {check.provider or 'the provider'} needs at least {minimum}",
        )
    max_bytes = check.limits.get("max_file_bytes")
    if max_bytes and isinstance(scan.source, (str, os.PathLike)):
        size = os.path.getsize(scan.source)
        if size > int(max_bytes):
            scan.f.add("file_too_large", f"{size:,} bytes; the limit is {int(max_bytes):,}")
    counter = check.counter
    if counter is not None and counter.approximate and scan.valid:
        scan.f.add("approximate_tokens", f"no tokenizer for {check.model}: counts use {counter.name}")


def check_from_config(config: TuneConfig, *, tokenizer: Any = None, counter: TokenCounter | None = None) -> DataCheck:
    """The :class:`DataCheck` a config implies."""
    seq = config.hyperparameters.max_seq_length
    return DataCheck(
        provider=config.provider,
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
    strict: bool = False,
    tokenizer: Any = None,
    counter: TokenCounter | None = None,
    estimate: bool = True,
) -> ValidationReport:
    """Validate a config's data for its provider, model and method; count tokens; estimate the cost.

    Nothing is uploaded or changed. With ``strict``, errors raise
    :class:`DataError` (its ``report`` holds the full report).
    """
    check = check_from_config(config, tokenizer=tokenizer, counter=counter)
    report, _ = check_sources(config_sources(config), check)
    if estimate and report.tokens is not None:
        from tunekit.data.cost import estimate_cost

        report.cost = estimate_cost(config, report.tokens)
    logger.info("validated %s: %d error(s), %d warning(s)", config.data.train, report.error_count, report.warning_count)
    if strict:
        raise_for_report(report)
    return report
