from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from services.parser.dates import parse_iso, parse_text_date

MSK = ZoneInfo("Europe/Moscow")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10 октября 2025, 14:35", datetime(2025, 10, 10, 14, 35)),
        ("Опубликовано 3 ноября 2025 года, 10:20", datetime(2025, 11, 3, 10, 20)),
        ("10 октября 2025 г. в 14:35", datetime(2025, 10, 10, 14, 35)),
        ("14.10.2025 14:35", datetime(2025, 10, 14, 14, 35)),
        ("Мария Иванова, 12 октября 2025, 09:10", datetime(2025, 10, 12, 9, 10)),
        ("1 мая 2025", datetime(2025, 5, 1, 0, 0)),
    ],
)
def test_russian_dates_without_zone(text: str, expected: datetime) -> None:
    found = parse_text_date(text)
    assert found is not None
    assert found[0] == expected and found[1] is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Fri 10 Oct 2025 14.35 BST", datetime(2025, 10, 10, 13, 35, tzinfo=timezone.utc)),
        ("October 10, 2025 at 2:35 p.m. ET", datetime(2025, 10, 10, 18, 35, tzinfo=timezone.utc)),
        ("Sun 2 Nov 2025 09.10 GMT", datetime(2025, 11, 2, 9, 10, tzinfo=timezone.utc)),
        ("10 октября 2025, 14:35 МСК", datetime(2025, 10, 10, 11, 35, tzinfo=timezone.utc)),
    ],
)
def test_dates_with_zone_abbreviations(text: str, expected: datetime) -> None:
    found = parse_text_date(text)
    assert found is not None and found[1] is True
    assert found[0] == expected


def test_relative_dates_resolve_against_the_fetch_time() -> None:
    reference = datetime(2025, 10, 10, 12, 0, tzinfo=timezone.utc)
    assert parse_text_date("2 часа назад", reference=reference)[0] == reference - timedelta(hours=2)
    assert parse_text_date("3 hours ago", reference=reference)[0] == reference - timedelta(hours=3)
    assert parse_text_date("вчера в 09:10", default_tz=MSK, reference=reference)[0] == datetime(2025, 10, 9, 9, 10, tzinfo=MSK)


def test_today_at_a_clock_time_without_a_zone_stays_naive_for_the_page_zone() -> None:
    reference = datetime(2025, 10, 10, 12, 0, tzinfo=timezone.utc)
    found = parse_text_date("сегодня, 14:35", reference=reference)
    assert found is not None and found[0] == datetime(2025, 10, 10, 14, 35) and found[0].tzinfo is None


def test_absolute_date_wins_over_a_relative_one_next_to_it() -> None:
    found = parse_text_date("2 часа назад · 10 октября 2025, 14:35", reference=datetime(2025, 10, 11, tzinfo=timezone.utc))
    assert found[0] == datetime(2025, 10, 10, 14, 35)


def test_iso_and_rfc822() -> None:
    assert parse_iso("2025-10-10T14:35:00+03:00").utcoffset() == timedelta(hours=3)
    assert parse_iso("Fri, 10 Oct 2025 14:35:00 +0300").utcoffset() == timedelta(hours=3)
    assert parse_iso("2025-10-10T14:35:00", MSK).tzinfo is MSK
    assert parse_iso("yesterday") is None
