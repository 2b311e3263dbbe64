"""Streaming record readers: JSONL, JSON, CSV/TSV, Parquet, iterables and ``datasets.Dataset``.

Readers yield ``(record, line)`` one at a time and keep at most one record
(and one read chunk) in memory, so memory does not grow with the file. Read
problems (invalid UTF-8, malformed JSON, a stray byte-order mark) become
findings with the line they are on; the reader then moves on to the next line
where it can.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import json
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, cast

from tunekit.data.report import Findings
from tunekit.errors import DataError, DependencyMissingError

__all__ = ["check_encoding", "file_kind", "iter_records", "jsonl_range", "line_starts", "source_name"]

Record = tuple[Any, "int | None"]

_SUFFIXES = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".jsonlines": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_STRUCTURED_CELLS = frozenset(
    {"messages", "conversations", "tools", "functions", "chosen", "rejected", "prompt", "completion", "text"}
)
_CHUNK = 1 << 20


def source_name(source: object) -> str:
    """How findings name a source: its path, or ``<dataset>`` / ``<iterable>``."""
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    if _is_hf_dataset(source):
        return "<dataset>"
    return "<iterable>"


def _is_hf_dataset(source: object) -> bool:
    module = type(source).__module__
    return module.startswith("datasets.") and hasattr(source, "features")


def file_kind(path: Path) -> str:
    """jsonl, json, csv, tsv or parquet, from the suffix (``.gz`` is not supported) or the first byte."""
    suffix = path.suffix.lower()
    if suffix in _SUFFIXES:
        return _SUFFIXES[suffix]
    try:
        with path.open("rb") as handle:
            head = handle.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    except OSError:
        return "jsonl"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"["):
        return "json"
    if head.startswith(b"{"):
        return "jsonl"
    return "tsv" if b"\t" in head.split(b"\n", 1)[0] else "csv"


def iter_records(source: object, f: Findings) -> Iterator[Record]:
    """Records of any supported source, with their 1-based line (or row) numbers."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise DataError("no such file" if not path.exists() else "not a file", file=path)
        kind = file_kind(path)
        if kind == "jsonl":
            yield from _jsonl(path, f)
        elif kind == "json":
            yield from _json(path, f)
        elif kind in ("csv", "tsv"):
            yield from _csv(path, f, "\t" if kind == "tsv" else ",")
        else:
            yield from _parquet(path, f)
    elif _is_hf_dataset(source):
        for i, row in enumerate(cast(Iterable[Any], source)):
            yield row, i + 1
    elif isinstance(source, Mapping):
        yield source, 1
    elif isinstance(source, Iterable) and not isinstance(source, (str, bytes)):
        for i, row in enumerate(source):
            yield row, i + 1
    else:
        raise DataError(f"cannot read examples from a {type(source).__name__}; give a path, rows or a Dataset")


def _bad_utf8(raw: bytes, exc: UnicodeDecodeError, number: int, f: Findings) -> None:
    f.add(
        "invalid_utf8",
        f"byte 0x{raw[exc.start]:02x} at column {exc.start + 1} is not valid UTF-8 (re-save the file as UTF-8)",
        line=number,
    )


def check_encoding(head: bytes, f: Findings) -> bool:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        f.add("not_utf8", "the file is UTF-16 or UTF-32; save it as UTF-8", line=1)
        return False
    return True


def _jsonl(path: Path, f: Findings) -> Iterator[Record]:
    return jsonl_range(path, f)


def jsonl_range(path: Path, f: Findings, start: int = 0, end: int | None = None) -> Iterator[Record]:
    """Records of the lines in bytes ``[start, end)`` of a JSONL file (both on line starts).

    Line numbers count from 1 at ``start``; the caller adds the lines before it.
    """
    loads = json.loads
    with path.open("rb") as handle:
        if start == 0 and not check_encoding(handle.read(4), f):
            return
        handle.seek(start)
        position = start
        for number, raw in enumerate(handle, 1):
            if end is not None:
                if position >= end:
                    return
                position += len(raw)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                _bad_utf8(raw, exc, number, f)
                continue
            if text[:1] == "\ufeff":
                text = text[1:]
                if number > 1 or start > 0:
                    f.add("bom_inside_file", line=number)
            if not text or text.isspace():
                continue
            try:
                record = loads(text)
            except ValueError as exc:
                f.add("invalid_json", _json_message(exc, text), line=number, excerpt=text.strip())
                continue
            except RecursionError:
                f.add("invalid_json", "the JSON is nested too deeply to read", line=number, excerpt=text.strip())
                continue
            if ("\\ud" in text or "\\uD" in text) and lone_surrogate(record, number, f):
                continue
            yield record, number


def lone_surrogate(record: Any, line: int | None, f: Findings) -> bool:
    """Whether a parsed record holds half of a UTF-16 surrogate pair (a ``\\ud800`` escape alone), reported.

    JSON parsers accept such escapes, but the string is not Unicode: no UTF-8 file and no
    provider can carry it. Only records whose text has a ``\\ud`` escape are checked.
    """
    try:
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        f.add(
            "invalid_utf8",
            f"an unpaired surrogate escape \\u{ord(exc.object[exc.start]):04x} is not valid Unicode",
            line=line,
        )
        return True
    return False


def _json_message(exc: ValueError, text: str) -> str:
    if isinstance(exc, json.JSONDecodeError):
        if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
            return f"the JSON ends early (truncated line?): {exc.msg}"
        return f"invalid JSON at column {exc.colno}: {exc.msg}"
    return f"invalid JSON: {exc}"


def _json(path: Path, f: Findings) -> Iterator[Record]:
    """A JSON array (or a stream of JSON values), parsed one element at a time."""
    decoder = json.JSONDecoder()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as handle:
        head = handle.read(4)
        if not check_encoding(head, f):
            return
        handle.seek(3 if head.startswith(codecs.BOM_UTF8) else 0)
        buffer = ""
        line = 1  # the line at buffer[pos]
        pos = 0
        eof = False
        in_array: bool | None = None
        chunk = _CHUNK

        def more() -> bool:
            nonlocal buffer, pos, eof
            if eof:
                return False
            raw = handle.read(chunk)
            try:
                text = utf8.decode(raw, final=not raw)
            except UnicodeDecodeError as exc:
                bad_line = line + buffer.count("\n", pos) + raw[: exc.start].count(b"\n")
                f.add("invalid_utf8", "the file is not valid UTF-8 here (re-save it as UTF-8)", line=bad_line)
                eof = True
                return False
            buffer = buffer[pos:] + text
            pos = 0
            eof = not raw
            return bool(raw)

        def skip(chars: str) -> None:
            nonlocal pos, line
            while True:
                start = pos
                while pos < len(buffer) and buffer[pos] in chars:
                    pos += 1
                line += buffer.count("\n", start, pos)
                if pos < len(buffer) or not more():
                    return

        skip(" \t\r\n")
        if pos >= len(buffer):
            return
        in_array = buffer[pos] == "["
        if in_array:
            pos += 1
        while True:
            skip(" \t\r\n," if in_array else " \t\r\n")
            if pos >= len(buffer):
                if in_array:
                    f.add("invalid_json", "the JSON array is not closed (truncated file?)", line=line)
                return
            if in_array and buffer[pos] == "]":
                return
            while True:
                try:
                    value, end = decoder.raw_decode(buffer, pos)
                    if end < len(buffer) or eof:
                        break
                except json.JSONDecodeError as exc:
                    if eof:
                        where = line + buffer.count("\n", pos, exc.pos)
                        f.add("invalid_json", _json_message(exc, buffer[pos:]), line=where)
                        return
                except RecursionError:  # the rest of the array cannot be found past an element this deep
                    f.add("invalid_json", "an element is nested too deeply to read", line=line)
                    return
                # An element that spans the end of the buffer: read on (doubling, so huge ones stay linear).
                chunk = min(chunk * 2, 1 << 26)
                more()
            text = buffer[pos:end]
            if ("\\ud" not in text and "\\uD" not in text) or not lone_surrogate(value, line, f):
                yield value, line
            line += buffer.count("\n", pos, end)
            pos = end
            chunk = _CHUNK


def _csv(path: Path, f: Findings, delimiter: str) -> Iterator[Record]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    try:
        with path.open("r", encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle, delimiter=delimiter)
            line = reader.line_num + 1
            for row in reader:
                if None in row or None in row.values():
                    more = None in row
                    f.add(
                        "wrong_type",
                        f"the row has {'more' if more else 'fewer'} cells than the header"
                        + ("" if more else " (an unclosed quote?)"),
                        line=line,
                    )
                    line = reader.line_num + 1
                    continue
                record: dict[str, Any] = {}
                for key, value in row.items():
                    if key in _STRUCTURED_CELLS and isinstance(value, str) and value[:1] in ("[", "{"):
                        try:
                            record[key] = json.loads(value)
                            continue
                        except ValueError:
                            pass
                    record[key] = value
                if not any(isinstance(v, str) and ("\\ud" in v or "\\uD" in v) for v in row.values()) or (
                    not lone_surrogate(record, line, f)
                ):
                    yield record, line
                line = reader.line_num + 1
    except UnicodeDecodeError as exc:
        f.add("invalid_utf8", f"the file is not valid UTF-8 ({exc.reason} at byte {exc.start})", line=None)
    except csv.Error as exc:
        f.add("invalid_json", f"malformed CSV: {exc}", line=None)


def _parquet(path: Path, f: Findings) -> Iterator[Record]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DependencyMissingError("reading Parquet", "tunekit[parquet]") from None
    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises its own ArrowInvalid for a damaged file
        f.add("unreadable", f"not a readable Parquet file: {exc}", line=None)
        return
    row = 0
    for batch in parquet.iter_batches(batch_size=1024):
        for record in batch.to_pylist():
            row += 1
            yield record, row


def line_starts(path: Path, parts: int) -> list[tuple[int, int]]:
    """About ``parts`` byte ranges of a file, each starting at the beginning of a line."""
    size = path.stat().st_size
    bounds = [0]
    with path.open("rb") as handle:
        for i in range(1, parts):
            target = size * i // parts
            if target <= bounds[-1]:
                continue
            handle.seek(target - 1)
            handle.readline()  # to the end of the line that holds target - 1
            position = handle.tell()
            if bounds[-1] < position < size:
                bounds.append(position)
    bounds.append(size)
    return list(itertools.pairwise(bounds))
