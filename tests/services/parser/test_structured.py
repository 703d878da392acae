"""Machine-readable dates (services/parser/structured.py): a JSON-LD article dated by its
WebPage node, and a browser-rendered page's state script."""

from __future__ import annotations

import json

from services.parser.document import Page, load_html
from services.parser.structured import read_jsonld, read_state_date

URL = "https://www.cambrianpost.co.uk/news/sunday-trains/"


def root(html: str):  # type: ignore[no-untyped-def]
    page = load_html(html)
    assert isinstance(page, Page)
    return page.root


def graph(article: dict, *nodes: dict) -> str:
    data = {"@context": "https://schema.org", "@graph": [article, *nodes]}
    return f'<html><head><script type="application/ld+json">{json.dumps(data)}</script></head><body></body></html>'


ARTICLE = {"@type": "Article", "@id": URL + "#article", "headline": "Sunday trains return", "mainEntityOfPage": {"@id": URL}}
WEBPAGE = {"@type": "WebPage", "@id": URL, "url": URL, "datePublished": "2026-12-03T06:45:00+00:00", "dateModified": "2026-12-03T08:02:19+00:00"}


def test_an_article_without_a_date_takes_its_webpage_nodes() -> None:
    (article,) = read_jsonld(root(graph(ARTICLE, WEBPAGE)))
    assert (article.published, article.published_key) == ("2026-12-03T06:45:00+00:00", "datePublished of the WebPage")
    assert (article.modified, article.modified_key) == ("2026-12-03T08:02:19+00:00", "dateModified of the WebPage")


def test_another_pages_webpage_node_does_not_date_the_article() -> None:
    other = {**WEBPAGE, "@id": "https://www.cambrianpost.co.uk/", "url": "https://www.cambrianpost.co.uk/"}
    (article,) = read_jsonld(root(graph(ARTICLE, other)))
    assert article.published is None


def test_an_articles_own_date_wins_over_its_webpage_nodes() -> None:
    (article,) = read_jsonld(root(graph({**ARTICLE, "datePublished": "2026-12-03T07:00:00+00:00"}, WEBPAGE)))
    assert (article.published, article.published_key) == ("2026-12-03T07:00:00+00:00", "datePublished")


STATE = ('<html><body><h1>{title}</h1><script>window.__INITIAL_STATE__={{"article":{{"title":"{title}",'
         '"publishedAt":"2026-12-03T04:20:00.000Z"}},"related":[{{"title":"Мост закроют на ночь","publishedAt":"2026-12-02T14:05:00.000Z"}}]}};'
         '</script></body></html>')


def test_the_state_date_nearest_to_the_headline_is_the_articles() -> None:
    title = "ТЭЦ перейдёт на новую схему подачи угля"
    assert read_state_date(root(STATE.format(title=title)), title) == ("publishedAt", "2026-12-03T04:20:00.000Z")
    # related stories first, the article's own date before its title
    page = ('<html><body><script type="application/json">{"related":[{"publishedAt":1796000000}],'
            '"story":{"publishedAt":1796279700,"headline":"Ferry fares rise"}}</script></body></html>')
    assert read_state_date(root(page), "Ferry fares rise") == ("publishedAt", "1796279700")


def test_a_headline_escaped_in_the_state_is_found() -> None:
    title = "Паром отменили"
    page = STATE.format(title=json.dumps(title)[1:-1])
    assert read_state_date(root(page), title) == ("publishedAt", "2026-12-03T04:20:00.000Z")


def test_several_state_dates_without_the_headline_are_not_guessed_between() -> None:
    assert read_state_date(root(STATE.format(title="Другой заголовок")), "Заголовок статьи") is None
    single = '<html><body><script>window.__DATA__={"post":{"pubDate":"2026-12-03T04:20:00Z"}};</script></body></html>'
    assert read_state_date(root(single), "Заголовок статьи") == ("pubDate", "2026-12-03T04:20:00Z")


def test_json_ld_and_other_script_types_are_not_state() -> None:
    page = ('<html><body><script type="application/ld+json">{"datePublished":"2026-12-03T04:20:00Z"}</script>'
            '<script type="text/template">{"publishedAt":"2026-12-03T04:20:00Z"}</script></body></html>')
    assert read_state_date(root(page), None) is None


def test_a_javascript_state_with_unquoted_keys_is_read() -> None:
    title = "Ледовый городок открыли"
    page = (f'<html><body><script>window.__NUXT__=(function(a){{return {{data:[{{article:{{title:"{title}",'
            f'published_at:"2026-12-03T07:35:00Z"}},related:[{{title:"Другое",published_at:"2026-12-02T10:00:00Z"}}]}}]}}}}("x"));'
            '</script></body></html>')
    assert read_state_date(root(page), title) == ("published_at", "2026-12-03T07:35:00Z")
    # a key inside another word or a property access is not one
    assert read_state_date(root('<html><body><script>var x = {unpublished_at:"2026-12-03T07:35:00Z"};</script></body></html>'), None) is None
