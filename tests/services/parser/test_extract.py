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
