"""Choosing the headline: a channel's or site's name is never it."""

from __future__ import annotations

from services.parser.extract import parse_page
from tests.services.parser.helpers import raw_page

POST = """<html lang="ru"><head><title>Столичный транспорт | Telegram</title>
<meta property="og:title" content="Столичный транспорт"><meta property="og:site_name" content="Столичный транспорт"></head>
<body><header><h1 class="channel-title">Столичный транспорт</h1></header>
<main><div class="message"><div class="message-text"><b>Трамваи на Большой Семеновской пойдут по новой схеме</b><br><br>
С 1 декабря в Москве меняется схема движения трамваев на Большой Семеновской улице, сообщили в мэрии.<br><br>
Причина — ремонт путей на перекрестке. Работы продлятся до середины января, подрядчик обещает успеть к празднику.<br><br>
На время ремонта запустят компенсационный автобус с интервалом десять минут в часы пик.
</div><time datetime="2025-11-27T09:40:00">27 ноя, 09:40</time></div></main></body></html>"""


def test_a_channel_mirror_takes_the_posts_first_line_as_its_headline() -> None:
    article = parse_page(raw_page(POST, url="https://tgmirror.ru/s/stoltrans/4821"))
    assert article.title == "Трамваи на Большой Семеновской пойдут по новой схеме"
    assert not article.body.startswith("Трамваи")
    assert article.provenance["title"].detail.startswith("first line of the post")


def test_a_headline_that_differs_from_the_site_name_is_kept() -> None:
    page = POST.replace('<h1 class="channel-title">Столичный транспорт</h1>', "<h1>Схема движения трамваев изменится</h1>")
    assert parse_page(raw_page(page)).title == "Схема движения трамваев изменится"


def test_a_printed_day_without_a_year_takes_the_year_of_the_fetch() -> None:
    from datetime import datetime, timedelta, timezone

    page = """<html lang="ru"><head><title>Котельную переведут на газ</title></head><body>
<h1>Котельную переведут на газ</h1><div class="date">28 декабря, 14:35</div>
<div class="text"><p>Старую угольную котельную на Заводской улице переведут на природный газ до начала отопительного сезона.</p>
<p>После реконструкции котельная будет обслуживать двенадцать жилых домов, школу и детский сад.</p>
<p>На время работ жителей переключат на резервный источник горячей воды.</p></div></body></html>"""
    raw = raw_page(page, url="https://gorodskie-vesti.ru/a/1")
    # read on 2 January: the 28 December it names is last year's
    article = parse_page(raw.model_copy(update={"fetched_at": datetime(2027, 1, 2, 9, 0, tzinfo=timezone.utc)}))
    assert article.published_at == datetime(2026, 12, 28, 14, 35, tzinfo=timezone(timedelta(hours=3)))


Z_PAGE = """<html lang="ru"><head><title>Ремонт водовода закончат к пятнице</title>
<script type="application/ld+json">{{"@context":"https://schema.org","@type":"NewsArticle","headline":"Ремонт водовода закончат к пятнице","datePublished":"{stamp}"}}</script></head>
<body><h1>Ремонт водовода закончат к пятнице</h1><div class="date">3 декабря 2026, 14:35</div>
<div class="text"><p>Ремонт магистрального водовода на Советской улице закончат к пятнице, сообщили в водоканале.</p>
<p>До окончания работ на участке сохранится одностороннее движение, парковка вдоль раскопа запрещена.</p>
<p>Подача воды в дома по соседним улицам не прекращалась: их переключили на резервную линию.</p></div></body></html>"""


def _z_article(stamp: str, url: str = "https://vestnik-kraya.ru/a/1"):  # type: ignore[no-untyped-def]
    from datetime import datetime, timezone

    raw = raw_page(Z_PAGE.format(stamp=stamp), url=url)
    return parse_page(raw.model_copy(update={"fetched_at": datetime(2026, 12, 3, 16, 0, tzinfo=timezone.utc)}))


def test_a_utc_stamp_that_reads_as_the_printed_local_clock_is_the_local_time_mislabelled() -> None:
    from datetime import datetime, timedelta, timezone

    article = _z_article("2026-12-03T14:35:00Z")
    assert article.published_at == datetime(2026, 12, 3, 14, 35, tzinfo=timezone(timedelta(hours=3)))
    provenance = article.provenance["published_at"]
    assert "says UTC but reads as the page's printed local time 14:35" in (provenance.detail or "")
    assert provenance.confidence < 0.9


def test_a_correct_utc_stamp_next_to_the_printed_local_clock_is_kept() -> None:
    from datetime import datetime, timezone

    article = _z_article("2026-12-03T11:35:00Z")
    assert article.published_at == datetime(2026, 12, 3, 11, 35, tzinfo=timezone.utc)
    assert article.provenance["published_at"].confidence == 0.9


def test_a_utc_stamp_on_a_site_of_unknown_zone_is_kept() -> None:
    from datetime import datetime, timezone

    page = (Z_PAGE.replace('lang="ru"', "").replace("3 декабря 2026, 14:35", "3 December 2026, 14:35")
            .replace("<p>Ремонт магистрального", "<p>The water main on Soviet Street will be repaired by Friday, the utility said. Ремонт магистрального"))
    page = "".join(line for line in page.splitlines(keepends=True) if "<p>До" not in line and "<p>Подача" not in line)
    page = page.replace("</div></body>", "<p>" + "The council said the repair crews were working in two shifts to finish on time. " * 4 + "</p></div></body>")
    raw = raw_page(page.format(stamp="2026-12-03T14:35:00Z"), url="https://news.example.com/a/1")
    article = parse_page(raw.model_copy(update={"fetched_at": datetime(2026, 12, 3, 16, 0, tzinfo=timezone.utc)}))
    # no zone for the site: nothing says the stamp is a mislabelled local time
    assert article.published_at == datetime(2026, 12, 3, 14, 35, tzinfo=timezone.utc)
    assert article.provenance["published_at"].detail == "datePublished"
