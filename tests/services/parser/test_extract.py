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
