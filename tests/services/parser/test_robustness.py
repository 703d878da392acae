"""parse_page never raises: empty, binary, broken, enormous, deeply nested or random pages."""

from __future__ import annotations

import random
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.parsed_article_v1 import ParsedArticleV1
from schemas.raw_page_v1 import RawPageV1
from services.common.outcomes import Rejected
from services.parser.extract import parse_page
from devtools.samplesite.server import SITE_DIR

SEED_PAGE = (SITE_DIR / "pages/vestnik/putin-aliev-dushanbe.html").read_text(encoding="utf-8")


def raw(html: str | None, body_b64: str | None = None) -> RawPageV1:
    return RawPageV1(
        article_id="0123456789abcdef", source="fuzz", url="https://fuzz.example/a/", final_url="https://fuzz.example/a/",
        status=200, fetched_at=datetime(2025, 10, 10, tzinfo=timezone.utc), fetch_ms=1, content_length=len(html or ""),
        content_hash="0" * 64, html=html, body_b64=body_b64, timezone="Europe/Moscow",
    )


def outcome(html: str | None, body_b64: str | None = None) -> ParsedArticleV1 | Rejected:
    result = parse_page(raw(html, body_b64))
    assert isinstance(result, (ParsedArticleV1, Rejected))
    return result


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("", "empty-page"),
        ("   \n  ", "empty-page"),
        ("\x00\x01\x02\x03" * 2000, "binary-content"),
        ("<html><body><nav><a href='/'>Home</a></nav></body></html>", "not-an-article"),
    ],
)
def test_bad_pages_are_rejected_with_a_reason(html: str, reason: str) -> None:
    result = outcome(html)
    assert isinstance(result, Rejected) and result.reason == reason


def test_a_binary_body_without_text_is_rejected() -> None:
    result = outcome(None, body_b64="iVBORw0KGgo=")
    assert isinstance(result, Rejected) and result.reason == "binary-content"


def test_one_hundred_thousand_levels_of_nesting() -> None:
    html = "<html><body>" + "<div>" * 100_000 + "<p>deep text</p>" + "</div>" * 100_000 + "</body></html>"
    assert isinstance(outcome(html), Rejected)


def test_unclosed_and_broken_markup_still_yields_the_article() -> None:
    broken = SEED_PAGE.replace("</p>", "").replace("</div>", "", 20).replace("<p>", "<p><b>", 5)
    result = outcome(broken)
    assert isinstance(result, ParsedArticleV1)
    assert "Душанбе" in result.body


def test_a_truncated_page_does_not_raise() -> None:
    for cut in (100, 1000, len(SEED_PAGE) // 3, len(SEED_PAGE) // 2):
        outcome(SEED_PAGE[:cut])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=3000))
def test_random_text_never_raises(text: str) -> None:
    outcome(text)


TAGS = ["div", "p", "span", "article", "section", "h1", "h2", "a", "figure", "figcaption", "table", "td", "script", "style", "time", "meta", "br", "li", "ul"]


@st.composite
def html_soup(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 60))):
        tag = draw(st.sampled_from(TAGS))
        attrs = draw(st.sampled_from(["", ' class="article__text"', ' itemprop="articleBody"', ' class="share"', ' datetime="2025-13-45"', ' content="x"', ' property="og:type" content="article"']))
        text = draw(st.text(max_size=80))
        closing = draw(st.booleans())
        parts.append(f"<{tag}{attrs}>{text}" + (f"</{tag}>" if closing else ""))
    if draw(st.booleans()):
        parts.insert(0, '<script type="application/ld+json">' + draw(st.text(max_size=200)) + "</script>")
    return "<html><body>" + "".join(parts)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(html_soup())
def test_random_tag_soup_never_raises(html: str) -> None:
    outcome(html)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.integers(1, 40))
def test_mutated_real_pages_never_raise(seed: int, mutations: int) -> None:
    rng = random.Random(seed)
    page = list(SEED_PAGE)
    for _ in range(mutations):
        i = rng.randrange(len(page))
        op = rng.randrange(3)
        if op == 0:
            del page[i : i + rng.randrange(1, 200)]
        elif op == 1:
            page.insert(i, rng.choice(["<", ">", "</div>", "<p", '"', "&", "\x00", "<script>", "{", "<!--"]))
        else:
            page[i] = chr(rng.randrange(0x20, 0x2FFF))
    outcome("".join(page))
