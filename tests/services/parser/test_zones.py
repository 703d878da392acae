"""The zone of dates printed without one: given, another date's offset, domain, locale, language."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from services.parser.extract import parse_page
from services.parser.places import places_in_name
from services.parser.zones import SiteSignals, guess_language, page_zone
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


# --- the site says where it is: a city or region in its host, name, URL, dateline or clock ---


@pytest.mark.parametrize(("url", "zone"), [
    ("https://krasnoyarsk-gorod.ru/a", "Asia/Krasnoyarsk"), ("https://vestnik-omsk.ru/a", "Asia/Omsk"),
    ("https://omskinform.ru/a", "Asia/Omsk"), ("https://tomsk-novosti.ru/a", "Asia/Tomsk"),
    ("https://ural-press.ru/a", "Asia/Yekaterinburg"), ("https://www.denverledger.com/a", "America/Denver"),
    ("https://www.perthobserver.com.au/a", "Australia/Perth"), ("https://calgarynews.ca/a", "America/Edmonton"),
])
def test_a_city_in_the_host_outweighs_the_country_domain(url: str, zone: str) -> None:
    got = choice(url=url)
    assert (got.name, got.origin) == (zone, "site")
    assert got.factor < choice(given=zone).factor


def test_a_city_named_by_a_domain_of_another_country_is_not_the_site_city() -> None:
    got = choice(url="https://www.perthshire-courier.co.uk/a")
    assert (got.name, got.origin) == ("Europe/London", "domain")
    assert choice(url="https://perth-news.co.uk/a").name == "Europe/London"


@pytest.mark.parametrize(("names", "zone"), [
    (["Омский вестник"], "Asia/Omsk"), (["Вечерний Красноярск"], "Asia/Krasnoyarsk"),
    (["Иркутская правда"], "Asia/Irkutsk"), (["Сибирский вестник"], "Asia/Novosibirsk"),
    (["Информационное агентство «Урал-Пресс»"], "Asia/Yekaterinburg"), (["Камчатское время"], "Asia/Kamchatka"),
    (["The Seattle Courier"], "America/Los_Angeles"), (["Winnipeg Evening Post"], "America/Winnipeg"),
])
def test_the_site_name_says_which_city(names: list[str], zone: str) -> None:
    got = choice(url="https://news-site.ru/a" if names[0][0] in "ОВИСИК" else "https://www.courier.example/a",
                 site=SiteSignals(names=names))
    assert (got.name, got.origin) == (zone, "site")
    assert names[0] in got.reason


def test_a_city_stem_is_matched_at_the_start_of_a_word_so_tomsk_is_not_omsk() -> None:
    assert [p.zone for p in places_in_name("Томские новости")] == ["Asia/Tomsk"]
    assert places_in_name("компания «Атомск»") == []
    assert places_in_name("курган у дороги") == []  # a common noun, not the city: not capitalised


def test_a_regional_section_of_the_address_names_the_city() -> None:
    got = choice(url="https://regionews.ru/khabarovsk/2025/12/02/most/")
    assert (got.name, got.origin) == ("Asia/Vladivostok", "site")
    # a slug that mentions a city is the story's place, not the site's
    assert choice(url="https://lenta.ru/news/v-novosibirske-otkryli-most/").name == "Europe/Moscow"


def test_a_dateline_names_the_city_unless_a_news_agency_is_credited() -> None:
    got = choice(url="https://zapad-novosti.ru/a", site=SiteSignals(dateline="КАЛИНИНГРАД, 3 декабря. Паромная линия…"))
    assert (got.name, got.origin) == ("Europe/Kaliningrad", "dateline")
    wire = choice(url="https://federal.ru/a", site=SiteSignals(dateline="НОВОСИБИРСК, 3 дек — РИА Новости. Две станции…"))
    assert (wire.name, wire.origin) == ("Europe/Moscow", "domain")
    ap = choice(url="https://www.wire.example/a", site=SiteSignals(dateline="DENVER (AP) — The city has…"))
    assert ap.origin == "unknown"
    assert choice(url="https://www.x.example/a", site=SiteSignals(dateline="DENVER — The city has hired")).name == "America/Denver"


def test_a_named_local_clock_wins_over_the_site_signals() -> None:
    got = choice(url="https://krasnoyarsk-gorod.ru/a", site=SiteSignals(clock="2 декабря 2025, 18:20 (время новосибирское)"))
    assert (got.name, got.origin) == ("Asia/Novosibirsk", "clock")
    assert choice(url="https://gorod.ru/a", site=SiteSignals(clock="18:20 по омскому времени")).name == "Asia/Omsk"
    assert choice(url="https://gorod.ru/a", site=SiteSignals(clock="18:20 (время местное)")).origin == "domain"


REGIONAL = """<html><head><meta property="og:site_name" content="Омский вестник"><title>{title} — Омский вестник</title></head>
<body><h1>{title}</h1><div class="date">{date}</div>
<p>Тепло вернулось в сорок два дома на Левобережье, которые оставались без отопления с утра вторника.</p>
<p>Аварийные бригады заменили участок трубы длиной около двенадцати метров на улице Дмитриева.</p>
<p>Городская администрация поручила проверить ещё три магистрали Левобережья.</p></body></html>"""


def test_a_regional_site_name_sets_the_zone_of_a_printed_date_with_its_reason() -> None:
    page = REGIONAL.format(title="В домах Левобережья восстановили отопление", date="2 октября 2025, 21:10")
    article = parse_page(raw_page(page, url="https://omvestnik.ru/a/1"))
    assert article.published_at == datetime(2025, 10, 2, 21, 10, tzinfo=timezone(timedelta(hours=6)))
    detail = article.provenance["published_at"].detail or ""
    assert "zone Asia/Omsk from the site name «Омский вестник»" in detail


def test_today_is_the_day_in_the_page_zone_not_in_utc() -> None:
    # fetched at 23:40 UTC on 19 October: it is already 20 October in Omsk (UTC+6)
    page = REGIONAL.format(title="В домах Левобережья восстановили отопление", date="Сегодня, 05:10")
    raw = raw_page(page, url="https://omvestnik.ru/a/1").model_copy(
        update={"fetched_at": datetime(2025, 10, 19, 23, 40, tzinfo=timezone.utc)})
    article = parse_page(raw)
    assert article.published_at == datetime(2025, 10, 20, 5, 10, tzinfo=timezone(timedelta(hours=6)))
    yesterday = parse_page(raw.model_copy(update={"html": page.replace("Сегодня, 05:10", "вчера в 9:10")}))
    assert yesterday.published_at == datetime(2025, 10, 19, 9, 10, tzinfo=timezone(timedelta(hours=6)))


# --- unseen sites on generic hosts: contacts, geo tags, hreflang, the page's language ---


def test_the_sites_contacts_outweigh_its_language_and_locale() -> None:
    got = choice(url="https://delovaya-stolitsa.com/a", language="ru", locales=["ru_RU"],
                 site=SiteSignals(contacts="Тел.: +380 44 235-17-90"))
    assert (got.name, got.origin) == ("Europe/Kyiv", "contacts")
    assert "phone number +380" in got.reason
    assert choice(language="ru").factor > 0 and got.factor < choice(given="Europe/Kyiv").factor


def test_contacts_in_another_country_than_the_domain_are_not_the_sites() -> None:
    # a .ru site printing its advertising agency's Kyiv number is still a Russian site
    got = choice(url="https://gazeta.ru/a", site=SiteSignals(contacts="Реклама: +380 44 235-17-90"))
    assert (got.name, got.origin) == ("Europe/Moscow", "domain")
    # a region of the domain's own country is the site's
    got = choice(url="https://gazeta.ru/a", site=SiteSignals(contacts="Телефон: +7 (383) 200-00-00"))
    assert (got.name, got.origin) == ("Asia/Novosibirsk", "contacts")


def test_the_city_in_the_sites_name_outweighs_its_contacts() -> None:
    got = choice(url="https://news.example.com/a", site=SiteSignals(names=["Омский вестник"], contacts="+7 (343) 100-00-00"))
    assert (got.name, got.origin) == ("Asia/Omsk", "site")


def test_geo_meta_tags_say_where_the_site_is() -> None:
    got = choice(url="https://kontrol.org/a", language="ru", site=SiteSignals(geo_region="RU-NVS", geo_placename="Новосибирск"))
    assert (got.name, got.origin) == ("Asia/Novosibirsk", "geo")
    assert "geo.placename «Новосибирск»" in got.reason


def test_the_pages_own_hreflang_is_a_locale() -> None:
    got = choice(url="https://outbackpost.com/a", locales=[None, "en", None, "en-au"])
    assert (got.name, got.origin) == ("Australia/Sydney", "locale")


@pytest.mark.parametrize(("language", "zone"), [("de", "Europe/Berlin"), ("pl", "Europe/Warsaw"), ("it", "Europe/Rome"),
                                                ("tr", "Europe/Istanbul"), ("ja", "Asia/Tokyo")])
def test_single_zone_languages_of_europe_and_asia(language: str, zone: str) -> None:
    got = choice(language=language)
    assert (got.name, got.origin) == (zone, "language")


def test_english_french_spanish_and_arabic_name_no_zone() -> None:
    for language in ("en", "fr", "es", "pt", "ar"):
        assert choice(language=language).origin == "unknown"


FOOTER_PAGE = """<html lang="ru"><head><title>Котельную переведут на газ</title></head><body>
<header class="site-header"><a class="logo" href="/">Вечерние новости</a></header>
<article><h1>Котельную переведут на газ</h1><div class="date">3 декабря 2026, 14:35</div>
<div class="text"><p>Старую угольную котельную на Заводской улице переведут на природный газ до начала отопительного сезона.</p>
<p>После реконструкции котельная будет обслуживать двенадцать жилых домов, школу и детский сад.</p>
<p>На время работ жителей переключат на резервный источник горячей воды.</p></div>
<footer class="entry-footer">{article_footer}</footer></article>
<footer class="site-footer"><div class="contacts">{site_footer}</div></footer></body></html>"""


def _footer_article(site_footer: str, article_footer: str = "Теги: ЖКХ"):  # type: ignore[no-untyped-def]
    page = FOOTER_PAGE.format(site_footer=site_footer, article_footer=article_footer)
    raw = raw_page(page, url="https://vechernie-novosti.net/a/1").model_copy(
        update={"fetched_at": datetime(2026, 12, 3, 15, 0, tzinfo=timezone.utc)})
    return parse_page(raw)


def test_the_site_footer_phone_sets_the_zone_of_a_printed_date_with_its_reason() -> None:
    article = _footer_article("Телефон редакции: +7 (343) 312-45-67")
    assert article.published_at == datetime(2026, 12, 3, 14, 35, tzinfo=timezone(timedelta(hours=5)))
    provenance = article.provenance["published_at"]
    assert "zone Asia/Yekaterinburg from the phone number +7 343 in the site's contacts" in (provenance.detail or "")
    assert provenance.confidence < 0.7 * 0.65


def test_a_phone_in_the_articles_own_footer_is_the_storys_not_the_sites() -> None:
    article = _footer_article("© Вечерние новости", article_footer="Горячая линия: +7 (343) 312-45-67")
    assert article.published_at.utcoffset() == timedelta(hours=3)  # the page's language: Moscow
    assert "language" in (article.provenance["published_at"].detail or "")


def test_the_page_hreflang_for_its_own_address_sets_the_zone() -> None:
    page = FOOTER_PAGE.format(site_footer="", article_footer="").replace(
        '<html lang="ru"><head>', '<html><head><link rel="alternate" hreflang="ru-kz" href="https://vechernie-novosti.net/a/1">'
        '<link rel="alternate" hreflang="ru-ru" href="https://vechernie-novosti.net/ru/a/1">')
    raw = raw_page(page, url="https://vechernie-novosti.net/a/1")
    article = parse_page(raw.model_copy(update={"fetched_at": datetime(2026, 12, 3, 15, 0, tzinfo=timezone.utc)}))
    assert article.published_at.utcoffset() == timedelta(hours=5)
    assert "locale ru-kz" in (article.provenance["published_at"].detail or "")


def test_the_publishers_jsonld_address_sets_the_zone_of_a_printed_date() -> None:
    ld = ('<script type="application/ld+json">{"@context":"https://schema.org","@type":"NewsArticle","headline":"Котельную переведут на газ",'
          '"publisher":{"@type":"NewsMediaOrganization","name":"Вечерние новости","address":{"@type":"PostalAddress",'
          '"addressLocality":"Новосибирск","addressCountry":"RU"}}}</script>')
    page = FOOTER_PAGE.format(site_footer="", article_footer="").replace("</title></head>", "</title>" + ld + "</head>")
    raw = raw_page(page, url="https://vechernie-novosti.net/a/1")
    article = parse_page(raw.model_copy(update={"fetched_at": datetime(2026, 12, 3, 15, 0, tzinfo=timezone.utc)}))
    assert article.published_at == datetime(2026, 12, 3, 14, 35, tzinfo=timezone(timedelta(hours=7)))
    assert "the publisher's address in the page's JSON-LD (Новосибирск, RU)" in (article.provenance["published_at"].detail or "")


@pytest.mark.parametrize(("url", "zone"), [
    ("https://ekb.gorodskie-vesti.ru/news/1", "Asia/Yekaterinburg"), ("https://nsk.dom-novostey.ru/a", "Asia/Novosibirsk"),
    ("https://irk.example-media.ru/a", "Asia/Irkutsk"), ("https://khv.vesti-set.ru/a", "Asia/Vladivostok"),
])
def test_a_federal_sites_regional_subdomain_names_its_city(url: str, zone: str) -> None:
    got = choice(url=url)
    assert (got.name, got.origin) == (zone, "site")


@pytest.mark.parametrize("url", ["https://minsk-news.by/a", "https://ekbtour-market.ru/a", "https://desk.vesti.ru/a"])
def test_a_regional_abbreviation_counts_only_as_a_whole_label(url: str) -> None:
    assert choice(url=url).origin == "domain"


def test_a_site_named_only_in_its_footers_copyright_line_is_placed_by_that_name() -> None:
    page = PAGE.replace("</body>", "<footer class=\"foot\"><p>© 2026 «Тольяттинские известия». Все права защищены.</p></footer></body>")
    article = parse_page(raw_page(page, url="https://tlt-izv.ru/a/1"))
    assert article.published_at.utcoffset() == timedelta(hours=4)
    assert "«Тольяттинские известия»" in (article.provenance["published_at"].detail or "")


def test_a_longer_abbreviation_counts_only_as_a_whole_label() -> None:
    assert (choice(url="https://chel.nashi-novosti.ru/a").name, choice(url="https://chel.nashi-novosti.ru/a").origin) == ("Asia/Yekaterinburg", "site")
    assert choice(url="https://chelsea-news.co.uk/a").origin == "domain"
    assert choice(url="https://chelnoki.ru/a").origin == "domain"
    assert places_in_name("Chel Media") == []
