"""Dates as a reader sees them (services/parser/visible.py): instants kept in attributes, a day
and its clock printed apart, date lines by the headline, and how near each date is to it."""

from __future__ import annotations

from services.parser.document import Page, load_html
from services.parser.visible import VisibleMeta, read_visible


def visible(body: str) -> VisibleMeta:
    page = load_html(f"<html><body>{body}</body></html>")
    assert isinstance(page, Page)
    return read_visible(page.root)


def values(meta: VisibleMeta) -> list[str]:
    return [value for _, value in meta.time_elements]


def test_instants_kept_in_attributes_of_other_elements_than_time_are_read() -> None:
    meta = visible('<h1>Заголовок</h1><span class="Article_date__f7" data-timestamp="1796279700"></span>'
                   '<span class="js-localtime" data-time="1796279700000"></span>'
                   '<amp-timeago datetime="2026-12-03T08:15:00-08:00" layout="fixed">3 hours ago</amp-timeago>')
    assert values(meta) == ["1796279700", "1796279700000", "2026-12-03T08:15:00-08:00"]
    assert [hint.split()[0] for hint, _ in meta.time_elements] == ["@data-timestamp", "@data-time", "@datetime"]


def test_a_bare_day_in_data_date_and_an_edits_datetime_are_not_publication_instants() -> None:
    meta = visible('<h1>Заголовок</h1><td data-date="2026-12-05">5</td><ins datetime="2026-12-03T10:00:00Z">исправлено</ins>'
                   '<div data-time="3:45">видео</div>')
    assert values(meta) == []


def test_the_instant_in_a_date_elements_title_is_read() -> None:
    meta = visible('<h2>Заголовок</h2><div class="entry-meta"><abbr class="published" title="2026-12-03T09:10:00+07:00">3 декабря 2026</abbr></div>')
    assert "2026-12-03T09:10:00+07:00" in values(meta)


def test_a_clock_in_a_tooltip_completes_the_printed_day() -> None:
    meta = visible('<span class="e-date"><span class="ed-title">Дата:</span> <span class="ed-value" title="14:35">03.12.2026</span></span>')
    assert meta.date_texts[0][1] == "Дата: 03.12.2026, 14:35"


def test_a_clock_in_the_next_element_completes_the_printed_day() -> None:
    meta = visible('<div class="row"><span class="date">3 декабря 2026</span> <span class="time">14:35</span></div><h1>Заголовок</h1>')
    assert meta.date_texts[0][1] == "3 декабря 2026, 14:35"


def test_a_day_and_a_clock_in_two_children_of_one_date_box_are_joined() -> None:
    meta = visible('<div class="article__dateline"><div>Thursday 3 December 2026</div><div>Published 9:05 AM GMT</div></div>')
    assert meta.date_texts[0][1] == "Thursday 3 December 2026, 9:05 AM GMT"


def test_a_neighbour_with_other_numbers_is_not_taken_for_a_clock() -> None:
    meta = visible('<span class="date">3 декабря 2026</span> <span class="views">Просмотров: 412, 10:15 назад</span>')
    assert meta.date_texts[0][1] == "3 декабря 2026"


def test_an_unclassed_date_line_by_the_headline_is_a_date_and_one_far_from_it_is_not() -> None:
    filler = "".join(f"<p>Абзац {i} текста статьи без дат.</p>" for i in range(40))
    meta = visible(f'<div class="uptitle"><a href="/teatr">Театр</a> <span>03.12.2026 12:40</span></div><h1>Премьера</h1>'
                   f'{filler}<div class="comment"><span>04.12.2026 08:15</span></div>')
    assert [text for _, text in meta.date_texts] == ["03.12.2026 12:40"]


def test_a_date_in_the_headlines_container_is_nearer_than_one_in_a_side_column() -> None:
    meta = visible('<div class="page"><aside><div class="feed"><time datetime="2026-12-03T21:40:00+06:00">21:40</time></div></aside>'
                   '<main><article><h1>Заголовок</h1><div class="article__date">3 декабря 2026, 10:05</div></article></main></div>')
    assert meta.time_distances == [3] and meta.date_distances == [1]


def test_without_a_headline_every_date_is_as_near_as_any_other() -> None:
    meta = visible('<aside><time datetime="2026-12-03T21:40:00+06:00">21:40</time></aside><div class="date">3 декабря 2026, 10:05</div>')
    assert meta.time_distances == [0] and meta.date_distances == [0]


def test_a_tooltip_that_prints_the_whole_date_is_the_date() -> None:
    meta = visible('<h1>Headline</h1><span class="relative-time" title="Dec 3, 2026, 8:05 AM EST">2 hours ago</span>')
    assert meta.date_texts[0][1] == "Dec 3, 2026, 8:05 AM EST"


def test_a_date_beside_another_storys_headline_is_behind_every_other_date() -> None:
    meta = visible('<article><h1>Гомельскі завод пачаў выпуск камбайнаў</h1>'
                   '<div class="read-also"><a href="/a">Гомель атрымае новыя тралейбусы</a> <span class="date">2 снежня 2026, 19:20</span></div>'
                   '<p>Тэкст артыкула.</p><div class="footer"><span class="date">3 снежня 2026, 11:40</span> <a href="/author/1">Іван Петрык</a></div>'
                   '</article>')
    assert [text for _, text in meta.date_texts] == ["2 снежня 2026, 19:20", "3 снежня 2026, 11:40"]
    # both share the <article> with the headline; the teaser's is pushed behind
    assert meta.date_distances[0] > meta.date_distances[1] == 1
