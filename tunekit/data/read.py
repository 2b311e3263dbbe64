"""``read_examples`` and ``detect_format``: any supported source to canonical examples, streaming."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from itertools import islice

from tunekit.data.examples import ChatExample, PreferenceExample, PromptCompletionExample, Source, TextExample
from tunekit.data.formats import apply_columns, canonical_format, check_columns, detect_record_format, parse_record
from tunekit.data.readers import _is_hf_dataset, iter_records, source_name
from tunekit.data.report import Finding, Findings
from tunekit.errors import DataError

__all__ = ["detect_format", "read_examples"]

AnyExample = ChatExample | PreferenceExample | PromptCompletionExample | TextExample


def _raise(finding: Finding) -> DataError:
    return DataError(f"{finding.message} [{finding.code}]", file=finding.file, line=finding.line, field=finding.field)


def read_examples(
    source: object, *, format: str | None = None, columns: dict[str, str] | None = None
) -> Iterator[AnyExample]:
    """Canonical examples from a path (JSONL, JSON, CSV/TSV, Parquet), an iterable of dicts or a ``datasets.Dataset``.

    Streaming: one record at a time. The format is detected from the first
    record unless given (``openai``, ``openai-preference``, ``prompt-completion``,
    ``alpaca``, ``sharegpt``, ``dpo``, ``autotrain``, ``text`` or an alias such as
    ``trl-conversational``); ``columns`` maps canonical names to the data's
    column names. The first invalid record raises :class:`DataError` naming its
    file, line and field; warnings are not raised (use ``validate_data`` for them).
    """
    fmt = canonical_format(format) if format else None
    if columns:
        check_columns(columns)
    name = source_name(source)
    f = Findings(name)
    seen = 0
    for record, line in iter_records(source, f):
        if f.errors:
            break
        seen += 1
        if columns:
            record = apply_columns(record, columns)
        if fmt is None:
            fmt = detect_record_format(record)
            if fmt is None:
                keys = sorted(record)[:8] if isinstance(record, Mapping) else type(record).__name__
                raise DataError(
                    f"cannot tell the format from the keys {keys}; pass format= or columns=", file=name, line=line
                )
        example = parse_record(record, fmt, line, f)
        if example is None or f.errors:
            break
        example.source = Source.model_construct(file=name, line=line)
        yield example
    errors = [x for x in f.items if x.severity == "error"]
    if errors:
        raise _raise(errors[0])
    if seen == 0 and isinstance(source, (str, os.PathLike)):
        raise DataError("the file has no examples [empty_file]", file=name)


def detect_format(source: object, *, columns: dict[str, str] | None = None) -> str:
    """The format of a record, a list of records, a ``datasets.Dataset`` or a file (from its first record).

    Pass a list or a path, not a one-shot iterator: detection reads the first record.
    """
    if isinstance(source, Mapping):
        first: object = source
        name = "<record>"
    else:
        if not isinstance(source, (str, os.PathLike, list, tuple)) and not _is_hf_dataset(source):
            raise DataError("detect_format needs a path, a record, a list of records or a datasets.Dataset")
        name = source_name(source)
        f = Findings(name)
        records = list(islice(iter_records(source, f), 1))
        if not records:
            problem = next((x for x in f.items if x.severity == "error"), None)
            if problem is not None:
                raise _raise(problem)
            raise DataError("no records to detect a format from [empty_file]", file=name)
        first = records[0][0]
    if columns:
        check_columns(columns)
        first = apply_columns(first, columns)
    fmt = detect_record_format(first)
    if fmt is None:
        keys = sorted(first)[:8] if isinstance(first, Mapping) else type(first).__name__
        raise DataError(f"cannot tell the format from the keys {keys}; pass format= or columns=", file=name, line=1)
    return fmt
