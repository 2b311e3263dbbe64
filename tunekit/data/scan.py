"""One pass over a file: parse, check, count tokens, remember digests; in parallel for big JSONL files.

A scan keeps only small numbers per example (token counts, 64-bit digests),
never the examples themselves (unless the caller collects them), so memory
stays flat in the file's size. A large JSONL file is cut into byte ranges on
line boundaries and scanned by forked worker processes: tiktoken's encoding
is most of the work and is CPU-bound, so more cores mean more examples/s.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from array import array
from collections import Counter
from collections.abc import Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunekit.data.examples import (
    ChatExample,
    PreferenceExample,
    PromptCompletionExample,
    Source,
    TextExample,
    example_digest,
    trusted,
)
from tunekit.data.formats import apply_columns, canonical_format, check_columns, detect_record_format, parse_record
from tunekit.data.hooks import DataProfile
from tunekit.data.profile import ANY_PROVIDER_KINDS, Limits
from tunekit.data.readers import check_encoding, file_kind, iter_records, jsonl_range, line_starts, source_name
from tunekit.data.report import Finding, Findings, SplitSummary, TokenStats
from tunekit.data.tokens import HFTokenCounter, TiktokenCounter, TokenCounter, token_counter
from tunekit.secrets import get_logger

__all__ = ["DataCheck", "Scan", "default_workers"]

logger = get_logger("tunekit.data.scan")

AnyExample = ChatExample | PreferenceExample | PromptCompletionExample | TextExample

PARALLEL_MIN_BYTES = 8 << 20
"""Files smaller than this are scanned in-process: starting workers would cost more than it saves."""


def default_workers() -> int:
    """``$TUNEKIT_DATA_WORKERS``, else the CPUs this process may use (at most 8)."""
    configured = os.environ.get("TUNEKIT_DATA_WORKERS")
    if configured and configured.isdigit():
        return max(1, int(configured))
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(8, cpus))


@dataclass
class DataCheck:
    """What to check data against (provider, model, method) and how to read it (format, columns).

    ``profile`` is the provider (a :class:`~tunekit.provider.Provider` class or
    instance): its limits and token counter apply. ``provider`` is only its
    name, for messages.
    """

    provider: str | None = None
    profile: DataProfile | None = None
    model: str | None = None
    method: str = "sft"
    format: str | None = None
    columns: Mapping[str, str] | None = None
    max_seq_length: int | None = None
    tokenizer: Any = None
    counter: TokenCounter | None = None
    count_tokens: bool = True
    min_examples: int | None = None
    workers: int | None = None
    """Processes for large JSONL files; None: :func:`default_workers`."""
    limits: Limits = field(default_factory=lambda: Limits(kinds=dict(ANY_PROVIDER_KINDS)))

    def __post_init__(self) -> None:
        if self.format is not None:
            self.format = canonical_format(self.format)
        if self.columns:
            check_columns(self.columns)
        if self.profile is not None:
            self.provider = self.provider or self.profile.name
            self.limits = self.profile.limits(self.model or "")

    def make_counter(self) -> TokenCounter | None:
        if not self.count_tokens:
            return None
        if self.counter is None:
            self.counter = token_counter(self.model or "gpt-4o-mini", self.profile, tokenizer=self.tokenizer)
        return self.counter

    def token_limit(self) -> int | None:
        """The provider's limit for the model, else the config's max_seq_length, else the tokenizer's."""
        if self.limits.token_limit:
            return self.limits.token_limit
        if self.max_seq_length:
            return self.max_seq_length
        if isinstance(self.counter, HFTokenCounter):
            return self.counter.model_max_length
        return None

    def allowed_kinds(self) -> list[str]:
        return self.limits.allowed_kinds(self.method)


_PLAIN_ROLES = frozenset({"system", "developer", "user", "assistant"})


def _plain_chat(record: Any) -> list[tuple[str, str]] | None:
    """``(role, content)`` pairs of a conversation with nothing to report, else None (the full checks decide).

    Plain: only ``messages``, each exactly a known role and non-blank text, with a
    system and a user message, ending with the assistant's.
    """
    if type(record) is not dict or len(record) != 1:
        return None
    messages = record.get("messages")
    if type(messages) is not list or not messages:
        return None
    pairs = []
    system = user = False
    for m in messages:
        if type(m) is not dict or len(m) != 2:
            return None
        role = m.get("role")
        content = m.get("content")
        if (
            type(role) is not str
            or role not in _PLAIN_ROLES
            or type(content) is not str
            or not content
            or content.isspace()
            or "<|" in content  # a possible control string: the full checks report it
        ):
            return None
        if role == "user":
            user = True
        elif role != "assistant":
            system = True
        pairs.append((role, content))
    if not (system and user) or pairs[-1][0] != "assistant":
        return None
    return pairs


def fast_digest(example: AnyExample) -> int:
    """A 64-bit digest for duplicate checks within one process tree (``hash`` is salted per interpreter).

    Forked workers share the parent's salt, so their digests compare with each other's.
    """
    if type(example) is ChatExample and example.tools is None and example.parallel_tool_calls is None:
        try:
            return hash(("chat", tuple((m.role, m.content, m.name, m.weight) for m in example.messages)))
        except TypeError:  # list content or tool calls: not hashable as is
            pass
    return example_digest(example)


@dataclass(frozen=True)
class _Pass:
    """What every record of one pass is checked with, settled once before the first."""

    counter: TokenCounter | None
    limit: int | None
    allowed: frozenset[str]
    single_turn: bool
    plain_counter: TiktokenCounter | None
    plain_ok: bool


class Scan:
    """One file's pass. Iterate it for the valid examples; then read its counters."""

    def __init__(
        self,
        split: str,
        source: object,
        check: DataCheck,
        findings: Findings,
        *,
        compare_to: dict[int, int] | None = None,
        dedupe: bool = False,
        records: Iterator[tuple[Any, int | None]] | None = None,
        first_kind: str | None = None,
        detect_duplicates: bool = True,
    ) -> None:
        self.split = split
        self.source = source
        self.name = source_name(source)
        self.check = check
        self.f = findings if records is not None else findings.child(self.name, split)
        self.format = check.format
        self.records_in = records
        self.first_kind = first_kind
        self.detect_duplicates = detect_duplicates
        self.records = 0
        self.valid = 0
        self.invalid = 0
        self.dropped = 0
        self.kinds: Counter[str] = Counter()
        self.tokens = array("q")
        self.trained = 0
        self.digests: dict[int, int] = {}
        self.digest_list: tuple[array[int], array[int]] = (array("q"), array("q"))
        self.compare_to = compare_to
        self.dedupe = dedupe
        self.keep_examples = True
        """False when only the counts matter: clean plain conversations then skip building models."""
        self.f.overrides.update(check.limits.severities)

    def __iter__(self) -> Iterator[AnyExample]:
        """Each record in stages: columns, format, the plain fast path or a full parse, kind, dedupe, tokens."""
        p = self._start()
        records = self.records_in if self.records_in is not None else iter_records(self.source, self.f)
        for record, line in records:
            self.records += 1
            try:
                example = self._record(record, line, p)
            except RecursionError:  # a record nested deeper than any check can walk: a finding, not a crash
                self.f.add("invalid_json", "the record is nested too deeply to check", line=line)
                self.invalid += 1
                continue
            if example is not None:
                yield example
        if self.records == 0 and not self.f.counts and self.records_in is None:
            self.f.add("empty_file", line=None)

    def _start(self) -> _Pass:
        check = self.check
        counter = check.make_counter()
        plain_counter = counter if isinstance(counter, TiktokenCounter) else None
        return _Pass(
            counter=counter,
            limit=check.token_limit(),
            allowed=frozenset(check.allowed_kinds()),
            single_turn=check.limits.preference_single_turn,
            plain_counter=plain_counter,
            plain_ok=not self.keep_examples
            and self.format in (None, "openai")
            and (counter is None or plain_counter is not None),
        )

    def _record(self, record: Any, line: int | None, p: _Pass) -> AnyExample | None:
        """The valid example of one record (None when it was invalid, a dropped duplicate, or counted plainly)."""
        if self.check.columns:
            record = apply_columns(record, self.check.columns)
        fmt = self._format(record, line)
        if fmt is None:
            return None
        if p.plain_ok and self.first_kind == "chat" and self._plain(record, line, p):
            return None
        example = parse_record(record, fmt, line, self.f)
        if example is None or not self._kind_ok(example, line, p):
            self.invalid += 1
            return None
        return self._accept(example, line, p)

    def _format(self, record: Any, line: int | None) -> str | None:
        """The file's format, detected from its first record; None (reported) when it cannot be told."""
        if self.format is not None:
            return self.format
        fmt = detect_record_format(record)
        if fmt is None:
            keys = sorted(record)[:8] if isinstance(record, Mapping) else type(record).__name__
            self.f.add(
                "unknown_format",
                f"cannot tell the format from the keys {keys}; pass format= or a columns mapping",
                line=line,
            )
            self.invalid += 1
            return None
        self.format = fmt
        return fmt

    def _plain(self, record: Any, line: int | None, p: _Pass) -> bool:
        """Check and count a clean plain conversation without building models; False when it needs the full parse."""
        pairs = _plain_chat(record)
        if pairs is None:
            return False
        digest = hash(("chat", tuple([(role, text, None, None) for role, text in pairs])))
        if self._seen(digest, line):
            return True
        if p.plain_counter is not None:
            total, trained = p.plain_counter.count_pairs(pairs)
            self._count(total, trained, total, p.limit, line)
        self.kinds["chat"] += 1
        self.valid += 1
        return True

    def _kind_ok(self, example: AnyExample, line: int | None, p: _Pass) -> bool:
        """The first kind sets the file's (and must be one the provider trains); later ones must match it."""
        kind = example.kind
        if self.first_kind is None:
            self.first_kind = kind
            if kind not in p.allowed:
                self._unsupported_kind(kind, line)
        elif kind != self.first_kind:
            self.f.add("mixed_kinds", f"a {kind} example among {self.first_kind} examples", line=line)
            return False
        if (
            p.single_turn
            and type(example) is PreferenceExample
            and (len(example.chosen) != 1 or len(example.rejected) != 1)
        ):
            self.f.add("preference_multi_turn_output", line=line, field="chosen")
            return False
        return True

    def _unsupported_kind(self, kind: str, line: int | None) -> None:
        check = self.check
        allowed = check.allowed_kinds()
        self.f.add(
            "unsupported_kind",
            f"{check.provider or 'the provider'} cannot train {check.method} on {kind} examples "
            f"(it takes {', '.join(sorted(allowed)) or 'none'})",
            line=line,
        )

    def _accept(self, example: AnyExample, line: int | None, p: _Pass) -> AnyExample | None:
        """Locate, dedupe and count a valid example; None when dedupe drops it."""
        example.__dict__["source"] = trusted(Source, {"file": self.name, "line": line}, {"file", "line"})
        if self._seen(fast_digest(example), line):
            return None
        if p.counter is not None:
            total, trained, longest = p.counter.count_example(example)
            self._count(total, trained, longest, p.limit, line)
        self.kinds[example.kind] += 1
        self.valid += 1
        return example

    def _seen(self, digest: int, line: int | None) -> bool:
        """Record an example's digest; True when dedupe drops it as a duplicate."""
        if not self.detect_duplicates:
            self.digest_list[0].append(digest)
            self.digest_list[1].append(line or 0)
            return False
        first = self.digests.get(digest)
        if first is not None:
            if self.dedupe:
                self.dropped += 1
                return True
            self.f.add("duplicate", f"the same example as line {first}", line=line)
        else:
            self.digests[digest] = line or 0
        if self.compare_to is not None and digest in self.compare_to:
            self.f.add(
                "train_validation_overlap", f"also in the training data (line {self.compare_to[digest]})", line=line
            )
        return False

    def _count(self, total: int, trained: int, longest: int, limit: int | None, line: int | None) -> None:
        self.tokens.append(total)
        self.trained += trained
        if limit is not None and longest > limit:
            self.f.add(
                "over_token_limit", f"{longest:,} tokens, over the {limit:,} limit: it will be truncated", line=line
            )

    def run(self) -> None:
        """Scan without keeping examples: in worker processes when the file is large enough."""
        self.keep_examples = False
        if not self._parallel():
            for _ in self:
                pass

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

    # -- parallel ------------------------------------------------------------------

    def _parallel(self) -> bool:
        source = self.source
        if not isinstance(source, (str, os.PathLike)) or self.dedupe:
            return False
        path = Path(source)
        workers = self.check.workers or default_workers()
        if (
            workers < 1 + 1
            or not path.is_file()
            or path.stat().st_size < PARALLEL_MIN_BYTES
            or file_kind(path) != "jsonl"
            or "fork" not in multiprocessing.get_all_start_methods()
            or threading.active_count() > 1  # forking a threaded process can deadlock its children
        ):
            return False
        if not _utf8_head(path, Findings(self.name)):
            return False  # UTF-16 and friends: the sequential pass reports it once
        counter = self.check.make_counter()
        if counter is not None and not isinstance(counter, TiktokenCounter):
            return False  # Hugging Face tokenizers use their own threads; keep them in one process
        self._prime(path)
        ranges = line_starts(path, workers * 4)
        global _WORKER_SCAN
        _WORKER_SCAN = self
        try:
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
                parts = list(pool.map(_scan_range, ranges))
        finally:
            _WORKER_SCAN = None
        self._merge(parts)
        logger.debug("scanned %s with %d workers in %d parts", path, workers, len(ranges))
        return True

    def _prime(self, path: Path) -> None:
        """Settle the format and the expected kind from the first valid record, as the sequential pass would."""
        probe = Findings(self.name)
        for n, (record, line) in enumerate(jsonl_range(path, probe)):
            if n > 1000:
                return
            if self.check.columns:
                record = apply_columns(record, self.check.columns)
            fmt = self.format or detect_record_format(record)
            if fmt is None:
                continue
            example = parse_record(record, fmt, line, Findings(self.name))
            if example is not None:
                self.format = fmt
                self.first_kind = example.kind
                if example.kind not in self.check.allowed_kinds():
                    self._unsupported_kind(example.kind, line)
                return

    def _merge(self, parts: list[_Part]) -> None:
        f = self.f
        offset = 0
        first_kind = self.first_kind
        for part in parts:
            for finding in part.findings:
                if finding.line is not None:
                    finding.line += offset
                f.extend(finding)
            for code, n in part.extra_counts.items():
                f.count_only(code, n)
            self.records += part.records
            self.valid += part.valid
            self.invalid += part.invalid
            self.kinds.update(part.kinds)
            self.tokens.extend(part.tokens)
            self.trained += part.trained
            if first_kind is None and part.first_kind is not None:
                first_kind = part.first_kind
            for digest, line in zip(part.digests, part.lines, strict=True):
                absolute = line + offset
                first = self.digests.get(digest)
                if first is not None:
                    f.add("duplicate", f"the same example as line {first}", line=absolute)
                else:
                    self.digests[digest] = absolute
                if self.compare_to is not None and digest in self.compare_to:
                    f.add(
                        "train_validation_overlap",
                        f"also in the training data (line {self.compare_to[digest]})",
                        line=absolute,
                    )
            offset += part.lines_read
        self.first_kind = first_kind
        if self.records == 0 and not f.counts:
            f.add("empty_file", line=None)


@dataclass
class _Part:
    """What a worker sends back for one byte range (line numbers relative to its start)."""

    findings: list[Finding]
    extra_counts: dict[str, int]
    records: int
    valid: int
    invalid: int
    kinds: Counter[str]
    tokens: array[int]
    trained: int
    digests: array[int]
    lines: array[int]
    lines_read: int
    first_kind: str | None


_WORKER_SCAN: Scan | None = None
"""The scan a forked worker serves (inherited through fork, never pickled)."""


def _utf8_head(path: Path, f: Findings) -> bool:
    with path.open("rb") as handle:
        return check_encoding(handle.read(4), f)


def _count_lines(path: Path, start: int, end: int) -> int:
    """Lines in bytes [start, end), a last line without a newline included; 1 MiB at a time."""
    lines = 0
    last = b"\n"
    with path.open("rb") as handle:
        handle.seek(start)
        remaining = end - start
        while remaining > 0:
            block = handle.read(min(remaining, 1 << 20))
            if not block:
                break
            lines += block.count(b"\n")
            last = block[-1:]
            remaining -= len(block)
    return lines + (last != b"\n")


def _scan_range(bounds: tuple[int, int]) -> _Part:
    parent = _WORKER_SCAN
    assert parent is not None, "a scan worker runs only in a process forked by Scan"
    start, end = bounds
    path = Path(str(parent.source))
    findings = Findings(parent.name, parent.split, keep=parent.f.keep)
    scan = Scan(
        parent.split,
        parent.source,
        parent.check,
        findings,
        records=jsonl_range(path, findings, start, end),
        first_kind=parent.first_kind,
        detect_duplicates=False,
    )
    scan.format = parent.format
    scan.keep_examples = False
    for _ in scan:
        pass
    return _Part(
        findings=findings.items,
        extra_counts={
            code: n - sum(1 for x in findings.items if x.code == code) for code, n in findings.counts.items()
        },
        records=scan.records,
        valid=scan.valid,
        invalid=scan.invalid,
        kinds=scan.kinds,
        tokens=scan.tokens,
        trained=scan.trained,
        digests=scan.digest_list[0],
        lines=scan.digest_list[1],
        lines_read=_count_lines(path, start, end),
        first_kind=scan.first_kind,
    )
