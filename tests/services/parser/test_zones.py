"""The zone of dates printed without one: given, another date's offset, domain, locale, language."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from services.parser.extract import parse_page
from services.parser.zones import guess_language, page_zone
from tests.services.parser.helpers import raw_page


def choice(**overrides):  # type: ignore[no-untyped-def]
    args = {"given": None, "url": "https://news.example.com/a", "locales": [], "language": None, "aware_dates": []}
    args.update(overrides)
    return page_zone(**args)


def test_the_source_zone_wins_over_everything_else() -> None:
    got = choice(given="Asia/Novosibirsk", url="https://ngs.ru/a", locales=["ru_RU"], language="ru")
    assert (got.name, got.origin) == ("Asia/Novosibirsk", "given")


def test_an_offset_on_another_date_of_the_page_is_the_page_zone() -> None:
    other = datetime(2025, 10, 10, 14, 0, tzinfo=timezone(timedelta(hours=5)))
    got = choice(url="https://e1.ru/a", aware_dates=[other])
    assert (got.name, got.origin) == ("+05:00", "page")


def test_a_utc_timestamp_elsewhere_says_nothing_about_the_local_zone() -> None:
    got = choice(url="https://e1.ru/a", aware_dates=[datetime(2025, 10, 10, 11, 0, tzinfo=timezone.utc)])
    assert (got.name, got.origin) == ("Europe/Moscow", "domain")


@pytest.mark.parametrize(("url", "zone"), [
    ("https://www.gazeta.ru/x", "Europe/Moscow"), ("https://news.tut.by/x", "Europe/Minsk"),
    ("https://www.pravda.com.ua/x", "Europe/Kyiv"), ("https://tengrinews.kz/x", "Asia/Almaty"),
    ("https://www.bbc.co.uk/x", "Europe/London"), ("https://www.irishtimes.ie/x", "Europe/Dublin"),
    ("https://www.abc.net.au/x", "Australia/Sydney"), ("https://www.thehindu.in/x", "Asia/Kolkata"),
    ("https://samlenta.ru.example/x", "Europe/Moscow"),
])
def test_country_code_domains(url: str, zone: str) -> None:
    got = choice(url=url)
    assert (got.name, got.origin) == (zone, "domain")


def test_locale_then_language_then_utc_marked_as_a_guess() -> None:
    assert choice(locales=["en_GB"]).name == "Europe/London"
    assert choice(locales=["en"], language="uk").name == "Europe/Kyiv"
    unknown = choice(language="en")
    assert (unknown.name, unknown.origin) == ("UTC", "unknown")
    assert "UTC" in unknown.reason and unknown.factor < choice(language="ru").factor


def test_the_script_tells_the_language_when_the_page_declares_none() -> None:
    assert guess_language("Власти региона сообщили о завершении ремонта моста через реку " * 3) == "ru"
    assert guess_language("Влада області повідомила про завершення ремонту мосту через річку і дорогу " * 3) == "uk"
    assert guess_language("The council said the bridge would reopen next week " * 3) is None


PAGE = """<html><head><meta property="og:type" content="article">
<meta property="article:published_time" content="2025-10-18 11:15"></head>
<body><h1>Мост через Которосль откроют в марте</h1>
<p>Ремонт моста через Которосль закончат в марте, сообщили в мэрии. Подрядчик уже заменил пролеты и перила.</p>
<p>Движение по мосту откроют сначала для автобусов, затем для всех остальных машин. Пешеходная часть заработает раньше.</p>
<p>Стоимость работ составила 1,2 миллиарда рублей, большую часть выделил федеральный бюджет.</p></body></html>"""


def test_a_zoneless_date_on_a_ru_site_is_moscow_time_with_its_reason_in_provenance() -> None:
    article = parse_page(raw_page(PAGE, url="https://vecher-yar.ru/a/1"))
    assert article.published_at == datetime(2025, 10, 18, 11, 15, tzinfo=timezone(timedelta(hours=3)))
    provenance = article.provenance["published_at"]
    assert "Europe/Moscow from the .ru domain" in (provenance.detail or "")
    assert provenance.confidence < 0.85 * 0.85


def test_the_given_zone_overrides_the_inferred_one() -> None:
    article = parse_page(raw_page(PAGE, url="https://vecher-yar.ru/a/1", site_zone="Asia/Yekaterinburg"))
    assert article.published_at.utcoffset() == timedelta(hours=5)
    assert "Asia/Yekaterinburg from the source" in (article.provenance["published_at"].detail or "")


def test_a_date_with_its_own_offset_is_left_alone() -> None:
    page = PAGE.replace("2025-10-18 11:15", "2025-10-18T11:15:00+07:00")
    article = parse_page(raw_page(page, url="https://vecher-yar.ru/a/1"))
    assert article.published_at.utcoffset() == timedelta(hours=7)
    assert "zone" not in (article.provenance["published_at"].detail or "")
