"""Reading archives: both WARC versions, gzipped or not, damaged in the middle or cut at the end."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from services.batch.warc import BrokenRegion, WarcEntry, parse_warc_date, read_archive
from tests.warc_builder import Resource, Response, Revisit, record_bytes, write_warc


def page(i: int) -> Response:
    return Response(f"https://a.example/news/{i}/", b"<html><body><p>page %d</p></body></html>" % i)


@pytest.mark.parametrize("version", ["WARC/1.0", "WARC/1.1"])
@pytest.mark.parametrize("gzipped", [True, False])
def test_every_record_comes_out_with_its_offset_url_date_status_and_payload(tmp_path, version, gzipped) -> None:  # type: ignore[no-untyped-def]
    records = [page(0), Revisit("https://a.example/news/0/", datetime(2025, 10, 1, tzinfo=timezone.utc)),
               Resource("https://a.example/logo.png", b"\x89PNG", content_type="image/png"), page(1)]
    path = tmp_path / ("a.warc.gz" if gzipped else "a.warc")
    offsets = write_warc(path, records, gzipped=gzipped, version=version)
    entries = list(read_archive(path))
    assert [e.offset for e in entries] == offsets
    assert [e.record_type for e in entries] == ["response", "revisit", "resource", "response"]
    first = entries[0]
    assert isinstance(first, WarcEntry)
    assert first.url == "https://a.example/news/0/"
    assert first.date == datetime(2025, 10, 20, 9, 0, tzinfo=timezone.utc)
    assert first.status == 200 and first.http_headers["content-type"] == "text/html; charset=utf-8"
    assert first.payload == b"<html><body><p>page 0</p></body></html>"
    assert entries[1].payload == b"" and entries[2].payload == b""


@pytest.mark.parametrize("gzipped", [True, False])
def test_a_damaged_record_in_the_middle_is_one_broken_region_and_reading_goes_on(tmp_path, gzipped) -> None:  # type: ignore[no-untyped-def]
    parts = [record_bytes(page(i), gzipped=gzipped) for i in range(6)]
    parts[2] = parts[2][: len(parts[2]) // 2]
    path = tmp_path / "damaged.warc.gz"
    path.write_bytes(b"".join(parts))
    items = list(read_archive(path))
    regions = [i for i in items if isinstance(i, BrokenRegion)]
    urls = [i.url for i in items if isinstance(i, WarcEntry) and not i.broken]
    assert len(regions) == 1
    assert urls[:2] == ["https://a.example/news/0/", "https://a.example/news/1/"]
    assert urls[-1] == "https://a.example/news/5/", "records after the damage are read"
    if gzipped:
        assert urls == [f"https://a.example/news/{i}/" for i in (0, 1, 3, 4, 5)], "only the damaged record is lost"
        assert regions[0].offset == len(parts[0]) + len(parts[1])


def test_a_file_cut_short_marks_its_last_record_truncated(tmp_path) -> None:  # type: ignore[no-untyped-def]
    big = Response("https://a.example/long/", b"<html><body>" + bytes(range(256)) * 200 + b"</body></html>")
    path = tmp_path / "cut.warc"
    write_warc(path, [page(0), big], gzipped=False, cut_last=500)
    entries = list(read_archive(path))
    assert entries[0].broken is None
    assert entries[1].broken == "record-truncated"


def test_reading_resumes_at_a_record_offset_and_payloads_are_capped(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "a.warc.gz"
    offsets = write_warc(path, [page(0), page(1), Response("https://a.example/huge/", b"x" * 5000)])
    resumed = list(read_archive(path, start=offsets[1], max_payload=1000))
    assert [e.url for e in resumed] == ["https://a.example/news/1/", "https://a.example/huge/"]
    assert resumed[1].oversize and resumed[1].payload == b""


def test_warc_dates_of_both_versions() -> None:
    assert parse_warc_date("2025-10-20T09:00:00Z") == datetime(2025, 10, 20, 9, tzinfo=timezone.utc)
    assert parse_warc_date("2025-10-20T09:00:00.123Z") == datetime(2025, 10, 20, 9, 0, 0, 123000, tzinfo=timezone.utc)
    assert parse_warc_date("yesterday") is None and parse_warc_date(None) is None
