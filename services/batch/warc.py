"""Reading WARC archives as a stream of plain values, with bounded memory and no surprises.

`read_archive(path, start=offset)` yields one `WarcEntry` per record (WARC/1.0 and 1.1,
`.warc` or `.warc.gz` with one gzip member per record as Common Crawl writes them), in file
order, each with the offset it starts at: a resumed run seeks straight to it. The reader is
FastWARC (measured against warcio in bench/bench_backfill.py: several times faster here).

Bounded: a payload is read up to `max_payload` bytes plus one; a larger one is marked
`oversize` and its body is not kept. Nothing else of a record is held after it was yielded.

Broken input never ends the stream silently and never raises:
- a record whose payload is shorter than its Content-Length (a file cut short) is yielded
  with `broken="record-truncated"`;
- an HTTP block that cannot be parsed → `broken="http-unreadable"`;
- a damaged gzip member or WARC header in the middle of a file → one `BrokenRegion`, then
  reading goes on at the next record that starts cleanly (the next gzip member that opens
  with `WARC/`, or the next `WARC/1.x` line in an uncompressed file);
- a file that cannot be opened raises OSError (the caller names the file).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from fastwarc.warc import ArchiveIterator, WarcRecordType

_SCAN_CHUNK = 1 << 20


@dataclass
class WarcEntry:
    """One record as plain values (picklable: it goes to a worker process as it is)."""

    offset: int
    record_type: str
    """response | revisit | request | resource | metadata | warcinfo | conversion | continuation | unknown"""
    url: str | None
    date: datetime | None
    warc_headers: dict[str, str] = field(default_factory=dict)
    status: int | None = None
    http_headers: dict[str, str] = field(default_factory=dict)
    """HTTP response headers, names lower-cased (repeated headers joined with ', ')."""
    payload: bytes = b""
    """The HTTP body as stored (transfer-decoded; still content-encoded when the header says so)."""
    oversize: bool = False
    broken: str | None = None
    detail: str = ""


@dataclass
class BrokenRegion:
    """Bytes from `offset` that are not a readable record; reading resumed at `resumed_at`."""

    offset: int
    detail: str
    resumed_at: int | None


def parse_warc_date(value: str | None) -> datetime | None:
    """WARC-Date (W3C-ISO8601: seconds, or fractions in WARC/1.1) → aware UTC datetime, or None."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


_TYPE_NAMES = {int(getattr(WarcRecordType, name)): name for name in (
    "warcinfo", "response", "resource", "request", "metadata", "revisit", "conversion", "continuation")}


def _type_name(record_type: WarcRecordType) -> str:
    return _TYPE_NAMES.get(int(record_type), "unknown")


def _headers(pairs: tuple[tuple[str, str], ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in pairs:
        key = name.strip().lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def _entry(record, max_payload: int) -> WarcEntry:  # type: ignore[no-untyped-def]
    kind = _type_name(record.record_type)
    warc_headers = dict(record.headers.items())
    entry = WarcEntry(
        offset=record.stream_pos, record_type=kind, url=(record.headers.get("WARC-Target-URI") or "").strip("<> ") or None,
        date=parse_warc_date(record.headers.get("WARC-Date")), warc_headers=warc_headers,
    )
    if kind not in ("response", "revisit"):
        return entry  # bodies of requests, metadata, resources are never needed
    try:
        record.parse_http(auto_decode="transfer")
    except (OSError, ValueError) as exc:
        entry.broken, entry.detail = "http-unreadable", f"the HTTP block cannot be parsed: {exc}"
        return entry
    http = record.http_headers
    if http is None:
        entry.broken, entry.detail = "http-unreadable", "the record has no HTTP block"
        return entry
    entry.status = http.status_code
    if not entry.status:
        entry.broken, entry.detail = "http-unreadable", "the HTTP block has no status line"
        return entry
    entry.http_headers = _headers(http.items())
    if kind == "revisit":
        return entry
    expected = record.content_length
    entry.payload = record.reader.read(max_payload + 1)
    if len(entry.payload) > max_payload:
        entry.payload, entry.oversize = b"", True
        return entry
    if len(entry.payload) < expected and "transfer-encoding" not in entry.http_headers:
        entry.broken = "record-truncated"
        entry.detail = f"the payload ends after {len(entry.payload)} of {expected} bytes (the file is cut short)"
    return entry


def read_archive(path: Path, *, start: int = 0, max_payload: int = 5 * 1024 * 1024) -> Iterator[WarcEntry | BrokenRegion]:
    """Every record of `path` from offset `start` (see the module doc)."""
    position = start
    gzipped = _is_gzip(path)
    while True:
        last = None
        in_record = False
        try:
            with open(path, "rb") as stream:
                stream.seek(position)
                for record in ArchiveIterator(stream, parse_http=False, auto_decode="none", stream_detect=True):
                    last, in_record = record.stream_pos, True
                    entry = _entry(record, max_payload)
                    in_record = False
                    yield entry
            return
        except OSError as exc:
            if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError)):
                raise
            # Failing inside a record: that record is the damaged one. Failing between records
            # (FastWARC reads a record's header when it moves on): the next one after the last good.
            if last is None:
                damaged: int | None = position
            elif in_record:
                damaged = last
            else:
                damaged = _next_record_start(path, last + 1, gzipped)
            resume = _next_record_start(path, (damaged if damaged is not None else position) + 1, gzipped)
            if last is not None or position == start:
                yield BrokenRegion(damaged if damaged is not None else position, f"unreadable data: {exc}", resume)
            if resume is None:
                return
            position = resume


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as stream:
        return stream.read(2) == b"\x1f\x8b"


def _next_record_start(path: Path, after: int, gzipped: bool) -> int | None:
    """The offset of the next clean record start at or after `after`, or None."""
    marker = b"\x1f\x8b\x08" if gzipped else b"WARC/1."
    with open(path, "rb") as stream:
        position = after
        while True:
            stream.seek(position)
            block = stream.read(_SCAN_CHUNK + 64)
            if not block:
                return None
            index = block.find(marker)
            while index != -1:
                candidate = position + index
                if _starts_record(stream, candidate, gzipped):
                    return candidate
                index = block.find(marker, index + 1)
            if len(block) <= 64:
                return None
            position += _SCAN_CHUNK


def _starts_record(stream, offset: int, gzipped: bool) -> bool:  # type: ignore[no-untyped-def]
    stream.seek(offset)
    head = stream.read(4096)
    if not gzipped:
        return offset == 0 or _preceded_by_newline(stream, offset)
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 16).startswith(b"WARC/")
    except zlib.error:
        return False


def _preceded_by_newline(stream, offset: int) -> bool:  # type: ignore[no-untyped-def]
    stream.seek(offset - 1)
    return stream.read(1) == b"\n"


def is_warc(path: Path) -> bool:
    """A WARC file by its name: `.warc` or `.warc.gz`."""
    name = path.name.lower()
    return name.endswith((".warc", ".warc.gz"))
