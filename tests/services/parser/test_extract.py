"""Choosing the headline: a channel's or site's name is never it."""

from __future__ import annotations

import pytest

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


# --- which of a page's dates is the article's ---

ARTICLE_TEXT = """<p>Движение по Ленинградскому мосту закроют с 15 декабря: подрядчик начнёт замену пролётов и опор.</p>
<p>Автобусы и троллейбусы перенаправят на соседний мост, для пешеходов оставят временный настил.</p>
<p>Работы должны завершиться к маю, после чего мост откроют с обновлённым покрытием и освещением.</p>"""


def _parse(page: str, url: str = "https://vestnik.ru/a/1"):  # type: ignore[no-untyped-def]
    from datetime import datetime, timezone

    raw = raw_page(page, url=url)
    return parse_page(raw.model_copy(update={"fetched_at": datetime(2026, 12, 3, 16, 0, tzinfo=timezone.utc)}))


def test_a_news_feed_column_before_the_article_does_not_date_it() -> None:
    from datetime import datetime, timedelta, timezone

    page = f"""<html lang="ru"><body><div class="container"><aside class="col-left"><div class="feed">
<div class="feed__item"><time datetime="2026-12-03T21:40:00+06:00">21:40</time> <a href="/n/1">Ночью похолодает</a></div></div></aside>
<main><article><h1>Мост закроют на реконструкцию</h1><div class="article__date">3 декабря 2026, 10:05</div>
<div class="article__text">{ARTICLE_TEXT}</div></article></main></div></body></html>"""
    article = _parse(page)
    assert article.published_at == datetime(2026, 12, 3, 10, 5, tzinfo=timezone(timedelta(hours=6)))


def test_a_clock_elsewhere_completes_the_nearest_printed_day_but_never_replaces_it() -> None:
    page = f"""<html lang="ru"><body><div class="page"><article><h1>Мост закроют на реконструкцию</h1>
<div class="article__date">2 декабря 2026</div><div class="article__text">{ARTICLE_TEXT}</div></article>
<section class="comments"><div class="comment" data-timestamp="1796279700">Когда откроют?</div></section></div></body></html>"""
    article = _parse(page)
    assert article.published_at.date().isoformat() == "2026-12-02"


@pytest.mark.parametrize("tag", [
    '<meta name="mediator_published_time" content="2026-12-03T14:35:00+07:00">',
    '<meta property="article:published" content="2026-12-03T14:35:00+07:00">',
    '<meta itemprop="dateCreated" content="2026-12-03T14:35:00+07:00">',
])
def test_rarer_meta_tags_date_the_page(tag: str) -> None:
    from datetime import datetime, timedelta, timezone

    page = f"""<html lang="ru"><head>{tag}</head><body><h1>Мост закроют на реконструкцию</h1>
<div class="date">3 декабря 2026</div><div class="text">{ARTICLE_TEXT}</div></body></html>"""
    article = _parse(page)
    assert article.published_at == datetime(2026, 12, 3, 14, 35, tzinfo=timezone(timedelta(hours=7)))
    assert article.provenance["published_at"].source == "meta"


STATE_PAGE = """<html lang="ru"><body><h1>Мост закроют на реконструкцию</h1>{date}<div class="text">{text}</div>
<script>window.__INITIAL_STATE__={{"article":{{"title":"Мост закроют на реконструкцию","publishedAt":"2026-12-03T04:20:00.000Z"}}}};</script>
</body></html>"""


def test_a_state_script_dates_a_page_that_prints_no_date() -> None:
    from datetime import datetime, timezone

    article = _parse(STATE_PAGE.format(date="", text=ARTICLE_TEXT))
    assert article.published_at == datetime(2026, 12, 3, 4, 20, tzinfo=timezone.utc)
    assert article.provenance["published_at"].detail == "publishedAt in the page's state script"


def test_a_date_the_page_prints_wins_over_its_state_script() -> None:
    from datetime import datetime, timedelta, timezone

    printed = '<time datetime="2026-12-03T11:25:00+07:00">3 декабря, 11:25</time>'
    article = _parse(STATE_PAGE.format(date=printed, text=ARTICLE_TEXT))
    assert article.published_at == datetime(2026, 12, 3, 11, 25, tzinfo=timezone(timedelta(hours=7)))
    assert article.provenance["published_at"].source == "visible"


def test_an_instant_in_a_data_attribute_dates_a_page_rendered_by_script() -> None:
    from datetime import datetime, timezone

    page = f"""<html lang="ru"><body><main><h1>Мост закроют на реконструкцию</h1>
<div class="meta"><span class="date" data-timestamp="1796279700"></span></div><div class="text">{ARTICLE_TEXT}</div></main></body></html>"""
    article = _parse(page)
    assert article.published_at == datetime(2026, 12, 3, 6, 35, tzinfo=timezone.utc)
    assert article.provenance["published_at"].detail == "[data-timestamp]"


def test_copyright_names_are_the_names_after_the_sign() -> None:
    from services.parser.extract import copyright_names

    assert copyright_names("© 2008–2026 Сетевое издание «Городские вести». 18+") == ["Городские вести"]
    assert copyright_names("Copyright © 2026 The Denver Daily Ledger. All rights reserved.") == ["The Denver Daily Ledger"]
    assert copyright_names("© Фото: Иван Петров / Красноярск") == []
    assert copyright_names("Контакты: 630099, г. Новосибирск") == []
