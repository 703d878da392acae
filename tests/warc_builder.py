"""Small WARC files made on the spot, the way Common Crawl writes them (one gzip member per record).

Used by the backfill and batch tests and by the backfill benchmark: nothing is downloaded,
every archive is built from pages the test has (the bundled sample site, generated pages).
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter


@dataclass
class Response:
    """An HTTP response record: the HTTP block is written as given (status line, headers, body)."""

    url: str
    body: bytes
    date: datetime = field(default_factory=lambda: datetime(2025, 10, 20, 9, 0, tzinfo=timezone.utc))
    status: str = "200 OK"
    headers: list[tuple[str, str]] = field(default_factory=lambda: [("Content-Type", "text/html; charset=utf-8")])
    warc_headers: dict[str, str] = field(default_factory=dict)
    """Extra WARC headers, e.g. {"WARC-Truncated": "length"}."""


@dataclass
class Revisit:
    url: str
    refers_to_date: datetime
    date: datetime = field(default_factory=lambda: datetime(2025, 10, 21, 9, 0, tzinfo=timezone.utc))


@dataclass
class Resource:
    """A non-HTTP record (resource, metadata or request) carrying `body` with `content_type`."""

    url: str
    body: bytes
    kind: str = "resource"
    content_type: str = "application/octet-stream"


Record = Response | Revisit | Resource


def _warc_date(when: datetime, version: str) -> str:
    when = when.astimezone(timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z" if version == "WARC/1.1" else when.strftime("%Y-%m-%dT%H:%M:%SZ")


def record_bytes(record: Record, *, gzipped: bool = True, version: str = "WARC/1.0") -> bytes:
    """One record, serialised (one gzip member when `gzipped`)."""
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=gzipped, warc_version=version)
    if isinstance(record, Response):
        http = StatusAndHeaders(record.status, record.headers, protocol="HTTP/1.1")
        warc = {"WARC-Date": _warc_date(record.date, version), **record.warc_headers}
        built = writer.create_warc_record(record.url, "response", payload=io.BytesIO(record.body),
                                          length=len(record.body), http_headers=http, warc_headers_dict=warc)
    elif isinstance(record, Revisit):
        built = writer.create_revisit_record(
            record.url, digest="sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", refers_to_uri=record.url,
            refers_to_date=_warc_date(record.refers_to_date, version),
            http_headers=StatusAndHeaders("304 Not Modified", [], protocol="HTTP/1.1"),
            warc_headers_dict={"WARC-Date": _warc_date(record.date, version)},
        )
    else:
        built = writer.create_warc_record(record.url, record.kind, payload=io.BytesIO(record.body),
                                          length=len(record.body), warc_content_type=record.content_type)
    writer.write_record(built)
    return out.getvalue()


def write_warc(path: Path, records: list[Record], *, gzipped: bool = True, version: str = "WARC/1.0",
               cut_last: int = 0) -> list[int]:
    """Write `records` to `path`; returns each record's offset. `cut_last` bytes are cut off the
    end of the file (a crawler that died mid-write)."""
    offsets = []
    data = bytearray()
    for record in records:
        offsets.append(len(data))
        data += record_bytes(record, gzipped=gzipped, version=version)
    if cut_last:
        del data[-cut_last:]
    path.write_bytes(bytes(data))
    return offsets


def gzip_member(data: bytes) -> bytes:
    return gzip.compress(data)


def generated_site_records(count: int, *, date: datetime | None = None) -> tuple[list[Record], list[str]]:
    """`count` distinct article responses (each with its request record before it, as crawlers
    write them), made from the sample site's pages under `count` different site prefixes.
    Returns the records and the response URLs, in order."""
    from devtools.samplesite.server import PLACEHOLDER, SITE_DIR, load_manifest

    manifest = load_manifest()
    pages = [(p, (SITE_DIR / p.file).read_bytes()) for p in manifest.articles()]
    when = date or datetime(2025, 10, 20, 9, 0, tzinfo=timezone.utc)
    records: list[Record] = []
    urls = []
    for i in range(count):
        page, body = pages[i % len(pages)]
        base = f"https://news{i % 7}.example/edition-{i}"
        url = base + page.path
        encoding = page.encoding if page.charset_in_header else None
        ctype = f"text/html; charset={encoding}" if encoding else "text/html"
        records.append(Resource(url, f"GET {page.path} HTTP/1.1\r\nHost: news{i % 7}.example\r\n\r\n".encode(),
                                kind="request", content_type="application/http; msgtype=request"))
        records.append(Response(url, body.replace(PLACEHOLDER, base.encode()), date=when, headers=[("Content-Type", ctype)]))
        urls.append(url)
    return records, urls
