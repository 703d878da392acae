from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from services.parser.dates import parse_epoch, parse_iso, parse_text_date

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


# --- printed forms of unseen sites: time before the date, no year, abbreviations, offsets ---

NOW = datetime(2026, 12, 3, 15, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("14:35, 3 декабря 2026", datetime(2026, 12, 3, 14, 35)),
        ("14:35 03.12.2026", datetime(2026, 12, 3, 14, 35)),
        ("2:35pm, 3 December 2026", datetime(2026, 12, 3, 14, 35)),
    ],
)
def test_a_time_printed_before_its_date_is_the_date_time(text: str, expected: datetime) -> None:
    assert parse_text_date(text) == (expected, False)


def test_a_time_before_the_date_keeps_its_zone() -> None:
    found = parse_text_date("14:35 GMT, 3 December 2026")
    assert found == (datetime(2026, 12, 3, 14, 35, tzinfo=timezone.utc), True)


def test_a_day_without_a_year_but_with_a_time_is_the_latest_such_day_before_the_fetch() -> None:
    assert parse_text_date("3 декабря, 14:35", now=NOW) == (datetime(2026, 12, 3, 14, 35), False)
    # read in early January, December's date is last year's
    assert parse_text_date("28 декабря, 10:00", now=datetime(2027, 1, 2, tzinfo=timezone.utc))[0] == datetime(2026, 12, 28, 10, 0)
    assert parse_text_date("Dec. 3, 2:35 p.m. ET", now=NOW)[0] == datetime(2026, 12, 3, 19, 35, tzinfo=timezone.utc)


def test_a_day_without_a_year_is_no_date_without_a_time_or_without_the_fetch_time() -> None:
    assert parse_text_date("Приём заявок продлится до 3 декабря.", now=NOW) is None
    assert parse_text_date("3 декабря, 14:35") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3 дек. 2026, 14:35", datetime(2026, 12, 3, 14, 35)),
        ("3 дек 2026 14:35", datetime(2026, 12, 3, 14, 35)),
        ("3 сент. 2026", datetime(2026, 9, 3)),
        ("3 grudnia 2026, 14:35", datetime(2026, 12, 3, 14, 35)),
        ("3 grudnia 2026 o godz. 14:35", datetime(2026, 12, 3, 14, 35)),
        ("3. prosince 2026 14:35", datetime(2026, 12, 3, 14, 35)),
        ("3 maart 2026 om 14:35", datetime(2026, 3, 3, 14, 35)),
        ("3 Aralık 2026 14:35", datetime(2026, 12, 3, 14, 35)),
    ],
)
def test_abbreviated_russian_and_more_languages_month_names(text: str, expected: datetime) -> None:
    assert parse_text_date(text) == (expected, False)


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ("03 Dec 2026, 14:35 GMT+3", timedelta(hours=3)),
        ("3 декабря 2026, 14:35 (UTC+5)", timedelta(hours=5)),
        ("Dec 03, 2026 14:35 IST", timedelta(hours=5, minutes=30)),
        ("3 December 2026, 14:35 AEDT", timedelta(hours=11)),
        ("Dec. 3, 2026 2:35 p.m. MT", timedelta(hours=-7)),
        ("3 декабря 2026, 14:35 (мск)", timedelta(hours=3)),
    ],
)
def test_offsets_after_gmt_and_more_zone_abbreviations(text: str, offset: timedelta) -> None:
    dt, explicit = parse_text_date(text)
    assert explicit and dt.utcoffset() == offset and (dt.hour, dt.minute) == (14, 35)


def test_an_abbreviation_that_is_also_a_word_counts_only_in_capitals() -> None:
    dt, explicit = parse_text_date("am 3. Dezember 2026 14:35 ist der Termin")
    assert dt == datetime(2026, 12, 3, 14, 35) and explicit is False


def test_a_printed_date_is_not_half_read_as_rfc_822() -> None:
    # the email parser would take "03 Dec 2026, 14:35 GMT+3" as 14:35 without a zone
    assert parse_iso("03 Dec 2026, 14:35 GMT+3") is None
    assert parse_iso("Fri, 10 Oct 2025 14:35:00 +0300") == datetime(2025, 10, 10, 14, 35, tzinfo=timezone(timedelta(hours=3)))


@pytest.mark.parametrize(
    ("text", "day", "hour"),
    [
        ("Сьогодні, 14:35", 3, 14), ("Вчора о 09:10", 2, 9), ("Сёння а 10:15", 3, 10), ("heute, 14:35 Uhr", 3, 14),
        ("gestern um 09:10", 2, 9), ("dzisiaj, 14:35", 3, 14), ("wczoraj 09:10", 2, 9), ("ayer a las 9:10", 2, 9),
    ],
)
def test_today_and_yesterday_in_more_languages(text: str, day: int, hour: int) -> None:
    dt, _ = parse_text_date(text, reference=NOW)
    assert (dt.day, dt.hour) == (day, hour) and dt.tzinfo is None


@pytest.mark.parametrize(
    ("text", "ago"),
    [("25 хвилин тому", timedelta(minutes=25)), ("2 години тому", timedelta(hours=2)), ("vor 20 Minuten", timedelta(minutes=20)),
     ("vor 3 Stunden", timedelta(hours=3)), ("5 minut temu", timedelta(minutes=5)), ("hace 2 horas", timedelta(hours=2))],
)
def test_relative_times_in_more_languages(text: str, ago: timedelta) -> None:
    assert parse_text_date(text, reference=NOW) == (NOW - ago, True)


@pytest.mark.parametrize(("text", "ago"), [("час назад", timedelta(hours=1)), ("минуту назад", timedelta(minutes=1)),
                                           ("an hour ago", timedelta(hours=1)), ("a minute ago", timedelta(minutes=1))])
def test_one_unit_ago_without_a_number(text: str, ago: timedelta) -> None:
    assert parse_text_date(text, reference=NOW) == (NOW - ago, True)


def test_a_slash_between_the_date_and_its_time() -> None:
    assert parse_text_date("03.12.2026 / 14:35") == (datetime(2026, 12, 3, 14, 35), False)
    assert parse_text_date("14:35 / 3 декабря 2026") == (datetime(2026, 12, 3, 14, 35), False)


@pytest.mark.parametrize(("text", "expected"), [
    ("3 желтоқсан 2026, 14:35", datetime(2026, 12, 3, 14, 35)),
    ("12 қаңтар 2026 ж. 09:10", datetime(2026, 1, 12, 9, 10)),
    ("Опубліковано: 3 груд. 2026 08:40", datetime(2026, 12, 3, 8, 40)),
    ("17 лист 2026, 18:05", datetime(2026, 11, 17, 18, 5)),
])
def test_kazakh_months_and_abbreviated_ukrainian_ones(text: str, expected: datetime) -> None:
    found = parse_text_date(text)
    assert found is not None and found[0] == expected


def test_an_abbreviated_month_inside_a_longer_word_is_no_month() -> None:
    assert parse_text_date("3 листи 2026 року") is None
    assert parse_text_date("5 вересків 2026") is None


@pytest.mark.parametrize(("value", "expected"), [
    ("1796279700", datetime(2026, 12, 3, 6, 35, tzinfo=timezone.utc)),
    ("1796279700000", datetime(2026, 12, 3, 6, 35, tzinfo=timezone.utc)),
    (" 1796279700.25 ", datetime(2026, 12, 3, 6, 35, tzinfo=timezone.utc)),
])
def test_unix_seconds_and_milliseconds_are_utc_instants_to_the_second(value: str, expected: datetime) -> None:
    assert parse_epoch(value) == expected


@pytest.mark.parametrize("value", ["88121", "179627250", "17962797000", "2026-12-03", "", None, "1796279700 GMT"])
def test_numbers_of_other_lengths_are_not_unix_time(value: str | None) -> None:
    assert parse_epoch(value) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("Published 6:10 a.m. CT Thu, Dec 3, 2026", datetime(2026, 12, 3, 12, 10, tzinfo=timezone.utc)),
    ("14:35 MSK, чт, 3 декабря 2026", datetime(2026, 12, 3, 11, 35, tzinfo=timezone.utc)),
])
def test_a_weekday_between_a_time_printed_first_and_its_date(text: str, expected: datetime) -> None:
    found = parse_text_date(text)
    assert found is not None and found[0] == expected and found[1] is True
