"""The article text: sibling blocks joined, whole-line de-duplication, live posts, embeds and appeals out."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from services.parser.body import extract_body
from services.parser.document import load_html
from services.parser.extract import parse_page
from tests.services.parser.helpers import raw_page

P1 = "The last section of the greenway will open to walkers and cyclists in June, after the council reached agreement."
P2 = "The 6km stretch between Oughterard and Maam Cross was the only gap left in the route along the old railway."
P3 = "Local businesses say the route is already bringing visitors to Moycullen, Oughterard and Maam Cross every week."
P4 = "The project has cost €28m, most of it from the active travel programme, and a link to Letterfrack is next."


def body_of(html: str) -> list[str]:
    return extract_body(load_html(html).root).paragraphs  # type: ignore[union-attr]


def test_text_spread_over_sibling_blocks_is_joined_in_order() -> None:
    html = f"""<html><body><div class="story">
      <div class="story-block"><div class="rte"><p>{P1}</p><p>{P2}</p></div></div>
      <div class="story-block story-block--embed"><blockquote class="instagram-media"><p>New bridge! #greenway</p></blockquote></div>
      <div class="story-block"><div class="rte"><p>{P3}</p><ul><li>Moycullen</li><li>Oughterard</li></ul></div></div>
      <div class="story-block"><div class="rte"><h2>Funding</h2><p>{P4}</p></div></div>
    </div><div class="sidebar"><a href="/a">Most read one</a></div></body></html>"""
    assert body_of(html) == [P1, P2, P3, "Moycullen", "Oughterard", "Funding", P4]


def test_short_lines_that_also_appear_inside_a_longer_line_stay() -> None:
    lead = "Мы собрали главные изменения: новые правила техосмотра, штрафы за шум и электронные полисы для всех водителей."
    html = f"""<html><body><article><p>{lead}</p><h2>Штрафы за шум</h2>
      <p>Камеры начнут штрафовать за громкий выхлоп, штраф составит три тысячи рублей, при повторе пять тысяч.</p>
      <ul><li>электронные полисы</li></ul>
      <p>Камеры начнут штрафовать за громкий выхлоп, штраф составит три тысячи рублей, при повторе пять тысяч.</p>
      </article></body></html>"""
    assert body_of(html) == [
        lead, "Штрафы за шум",
        "Камеры начнут штрафовать за громкий выхлоп, штраф составит три тысячи рублей, при повторе пять тысяч.",
        "электронные полисы",
    ]  # the repeated whole line goes, the heading and the list item inside the first line stay


def test_a_pull_quote_box_repeating_a_sentence_goes_but_a_quoted_statement_stays() -> None:
    html = f"""<html><body><article>
      <p>{P1} Bad restoration is worse than none.</p>
      <div class="ss-quote"><div class="ss-quote__text">Bad restoration is worse than none.</div></div>
      <p>{P2}</p><blockquote><p>Our thoughts are with the family at this very difficult time, the police said.</p></blockquote>
      <p>{P3}</p></article></body></html>"""
    assert body_of(html) == [f"{P1} Bad restoration is worse than none.", P2,
                             "Our thoughts are with the family at this very difficult time, the police said.", P3]


LIVE = """<html lang="en-GB"><head><meta property="og:type" content="article">
<meta property="article:published_time" content="2025-10-18T14:00:00"></head><body><main><article>
<h1>Council budget vote live</h1><div class="live-feed">
<article class="live-post"><time datetime="2025-10-18T19:05:00">19:05</time><h2 class="live-post__title">Budget approved</h2>
<div class="live-post__body"><p>Councillors have approved the budget by 38 votes to 29 after a five-hour debate tonight.</p></div></article>
<article class="live-post"><time datetime="2025-10-18T17:40:00">17:40</time><h2 class="live-post__title">Amendment defeated</h2>
<div class="live-post__body"><p>An amendment to keep three branch libraries open on Saturdays was defeated narrowly.</p>
<blockquote class="twitter-tweet"><p>Libraries amendment falls 33-34.</p>— Council Watch (@watch)</blockquote></div></article>
<div class="support-appeal"><p>Support local journalism: the Post is funded by readers like you. Donate today.</p></div>
<div class="newsletter-signup"><p>Sign up to our free newsletter and never miss a story from the city.</p></div>
<article class="live-post"><span class="live-post__time">16:15</span><h2 class="live-post__title">Protest outside City Hall</h2>
<div class="live-post__body"><p>About 200 people gathered on College Green before the meeting to protest against cuts.</p></div></article>
</div></article></main></body></html>"""


def test_live_blog_posts_are_kept_with_their_times_and_without_embeds_or_appeals() -> None:
    article = parse_page(raw_page(LIVE, url="https://www.severnpost.co.uk/live/1"))
    lines = article.body.split("\n\n")
    assert lines == [
        "Budget approved", "Councillors have approved the budget by 38 votes to 29 after a five-hour debate tonight.",
        "Amendment defeated", "An amendment to keep three branch libraries open on Saturdays was defeated narrowly.",
        "Protest outside City Hall", "About 200 people gathered on College Green before the meeting to protest against cuts.",
    ]
    bst = timezone(timedelta(hours=1))  # Europe/London in October
    assert [(p.published_at, article.body[p.start:].split("\n\n")[0]) for p in article.live_posts] == [
        (datetime(2025, 10, 18, 19, 5, tzinfo=bst), "Budget approved"),
        (datetime(2025, 10, 18, 17, 40, tzinfo=bst), "Amendment defeated"),
        (datetime(2025, 10, 18, 16, 15, tzinfo=bst), "Protest outside City Hall"),  # a printed clock time, that day
    ]


def test_an_ordinary_article_has_no_live_posts() -> None:
    html = f"<html><body><article><h1>Greenway</h1><p>{P1}</p><p>{P2}</p><p>{P3}</p></article></body></html>"
    assert parse_page(raw_page(html)).live_posts == []
