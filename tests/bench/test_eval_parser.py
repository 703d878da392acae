"""The parser harness: fetch times from annotations, the times measure, the side-by-side table."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bench.eval_parser import FETCHED_AT, METRICS, SETS, SYSTEMS, Case, Result, fetched_at, raw_event, score, side_by_side

ARTICLE = {"url": "https://vestnik.example.ru/a", "kind": "article", "title": "Заголовок", "body": "Первый абзац текста.",
           "published_at": "2025-11-14T10:15:00+06:00", "authors": ["Дарья Кравец"], "images": []}


def test_fetch_time_is_the_annotations_when_it_has_one() -> None:
    assert fetched_at({}) == FETCHED_AT
    assert fetched_at({"fetched_at": "2025-11-27T06:15:00+00:00"}) == datetime(2025, 11, 27, 6, 15, tzinfo=timezone.utc)


def test_raw_event_carries_the_fetch_time_and_no_site_timezone() -> None:
    case = Case("x", b"<html><body><p>text</p></body></html>", {**ARTICLE, "fetched_at": "2025-11-27T06:15:00+00:00"})
    raw = raw_event(case)
    assert raw.fetched_at == datetime(2025, 11, 27, 6, 15, tzinfo=timezone.utc)
    assert raw.timezone is None


def test_times_count_only_a_zone_aware_instant_within_a_minute() -> None:
    case = Case("x", b"", ARTICLE)
    truth = datetime.fromisoformat(ARTICLE["published_at"])
    right = Result(title="Заголовок", body=ARTICLE["body"], published_at=truth.astimezone(timezone.utc) + timedelta(seconds=50))
    off_by_zone = Result(title="Заголовок", body=ARTICLE["body"], published_at=truth.replace(tzinfo=timezone(timedelta(hours=3))))
    naive = Result(title="Заголовок", body=ARTICLE["body"], published_at=truth.replace(tzinfo=None))
    assert score([case], [right])["summary"]["published_within_1min"] == 1.0
    assert score([case], [off_by_zone])["summary"]["published_within_1min"] == 0.0
    assert score([case], [naive])["summary"]["published_within_1min"] == 0.0


def test_side_by_side_has_a_column_per_set_and_system_and_a_row_per_metric() -> None:
    runs = {cs.key: {"scores": {system: {"summary": {key: float(i) for i, (_, key) in enumerate(METRICS)}} for system, _ in SYSTEMS}}
            for cs in SETS}
    table = side_by_side(runs, SETS).splitlines()
    assert len(table) == 2 + len(METRICS)
    assert table[0].count("|") == 2 + len(SETS) * len(SYSTEMS)
    assert "blind: trafilatura (precision)" in table[0]
    assert table[2 + 3].startswith("| times (instant, tz-aware, within 1 min) | 3.000 |")
