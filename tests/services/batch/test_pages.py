"""Archived responses to raw pages: the live crawl's rules, the filters, and what is skipped or rejected."""

from __future__ import annotations

import gzip
from datetime import datetime, timezone

import brotli

from schemas.raw_page_v1 import RawPageV1
from schemas.sources import parse_sources
from services.batch.pages import Filters, SourceBook, Skipped, language_hint, select, to_raw_page
from services.batch.warc import WarcEntry
from services.common.bounded import PageLimits
from services.common.ids import article_id
from services.common.outcomes import Rejected
from devtools.samplesite.server import SITE_DIR
from services.scraper.decisions import dedup_key

CP1251 = (SITE_DIR / "pages/gorod/municipality-budget-amendments.html").read_bytes()
BOOK = SourceBook(parse_sources({"sources": [
    {"name": "gorod", "sitemaps": ["https://news.example/gorod/sitemap.xml"], "language": "ru", "timezone": "Europe/Moscow"},
    {"name": "ledger", "feeds": ["https://news.example/ledger/atom.xml"], "language": "en", "timezone": "Europe/London"},
]}))
WHEN = datetime(2025, 10, 20, 9, tzinfo=timezone.utc)


def entry(url: str = "https://news.example/gorod/news/1/", body: bytes = b"<html><body>x</body></html>", **kw) -> WarcEntry:  # type: ignore[no-untyped-def]
    headers = kw.pop("headers", {"content-type": "text/html; charset=utf-8"})
    return WarcEntry(offset=0, record_type=kw.pop("record_type", "response"), url=url, date=kw.pop("date", WHEN),
                     status=kw.pop("status", 200), http_headers=headers, payload=body, **kw)


def raw(e: WarcEntry, filters: Filters = Filters()) -> RawPageV1 | Skipped | Rejected:
    assert select(e, BOOK, filters) is None
    return to_raw_page(e, BOOK, filters, PageLimits())


def test_a_cp1251_page_declared_only_in_the_http_block_is_decoded_by_it() -> None:
    body = CP1251.replace(b'<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">', b"")
    assert b"charset" not in body.lower()
    page = raw(entry(body=body, headers={"content-type": "text/html; charset=windows-1251"}))
    assert isinstance(page, RawPageV1)
    assert page.encoding == "cp1251" and page.encoding_source == "http-header"
    assert "Ярославл" in (page.html or "")


def test_source_language_zone_and_id_come_from_the_sources_file_like_the_live_crawl() -> None:
    page = raw(entry("https://news.example/ledger/2025/10/rail/", b"<html><head></head><body>x</body></html>"))
    assert isinstance(page, RawPageV1)
    assert (page.source, page.language_hint, page.timezone) == ("ledger", "en", "Europe/London"), "two sources on one host: by path"
    assert page.article_id == article_id(dedup_key("https://news.example/ledger/2025/10/rail/"))
    assert page.fetched_at == WHEN and page.status == 200


def test_rel_canonical_on_the_sources_domains_gives_the_id() -> None:
    body = b'<html><head><link rel="canonical" href="https://news.example/gorod/news/10531/"></head><body>x</body></html>'
    page = raw(entry("https://news.example/gorod/news/10531/?utm_source=rss", body))
    assert isinstance(page, RawPageV1)
    assert page.article_id == article_id(dedup_key("https://news.example/gorod/news/10531/"))


def test_a_stored_content_encoding_is_decoded_under_the_limits() -> None:
    html = b"<html><body>" + b"<p>text</p>" * 100 + b"</body></html>"
    for encoding, body in (("gzip", gzip.compress(html)), ("br", brotli.compress(html))):
        page = raw(entry(body=body, headers={"content-type": "text/html", "content-encoding": encoding}))
        assert isinstance(page, RawPageV1) and page.html == html.decode()
    bomb = gzip.compress(b"\0" * (32 << 20))
    rejected = raw(entry(body=bomb, headers={"content-type": "text/html", "content-encoding": "gzip"}))
    assert isinstance(rejected, Rejected) and rejected.reason == "decompression-bomb"
    cut = raw(entry(body=gzip.compress(html)[:-10], headers={"content-type": "text/html", "content-encoding": "gzip"}))
    assert isinstance(cut, Rejected) and cut.reason == "truncated-stream"


def test_broken_responses_are_rejected_with_their_reason() -> None:
    assert raw(entry(warc_headers={"WARC-Truncated": "length"})).reason == "warc-truncated"  # type: ignore[union-attr]
    assert raw(entry(broken="record-truncated", detail="cut")).reason == "record-truncated"  # type: ignore[union-attr]
    assert raw(entry(oversize=True)).reason == "too-large"  # type: ignore[union-attr]


def test_what_is_not_a_page_to_publish_is_skipped_with_a_reason() -> None:
    def reason(e: WarcEntry, filters: Filters = Filters()) -> str | None:
        skipped = select(e, BOOK, filters)
        return skipped.reason if skipped else None

    assert reason(entry(record_type="request")) == "request"
    assert reason(entry(record_type="revisit")) == "revisit"
    assert reason(entry(status=301)) == "status-301"
    assert reason(entry(headers={"content-type": "image/jpeg"})) == "not-html"
    assert reason(entry(url="ftp://news.example/x")) == "not-http"
    assert reason(entry(date=None)) == "no-date"
    assert reason(entry(url="https://other.example/a"), Filters(sources_only=True)) == "domain-filtered"
    assert reason(entry(url="https://m.news.example/a"), Filters(domains=("news.example",))) is None
    assert reason(entry(url="https://news.example.org/a"), Filters(domains=("news.example",))) == "domain-filtered"
    assert reason(entry(), Filters(since=datetime(2025, 10, 21, tzinfo=timezone.utc))) == "date-filtered"
    assert reason(entry(), Filters(until=datetime(2025, 10, 19, tzinfo=timezone.utc))) == "date-filtered"


def test_the_language_filter_uses_the_source_then_content_language_then_html_lang() -> None:
    other = "https://elsewhere.example/a"
    assert language_hint(entry(other, headers={"content-language": "de-DE"}), None, b"") == "de"
    assert language_hint(entry(other), None, b'<!doctype html><html class="x" lang="uk-UA"><head>') == "uk"
    assert language_hint(entry(other), None, b"<html><body>") is None
    assert language_hint(entry(), BOOK.source_for("https://news.example/gorod/x"), b'<html lang="en">') == "ru"
    skipped = raw(entry(other, b'<html lang="de"><body>x</body></html>'), Filters(languages=("ru",)))
    assert isinstance(skipped, Skipped) and skipped.reason == "language-filtered"
    kept = raw(entry(other, b'<html lang="ru"><body>x</body></html>'), Filters(languages=("ru",)))
    assert isinstance(kept, RawPageV1) and kept.source == "elsewhere.example"
