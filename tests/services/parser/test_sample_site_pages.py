"""The parser on every page of the bundled sample site, against the manifest's expectations."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from schemas.parsed_article_v1 import ParsedArticleV1
from services.common.outcomes import Rejected
from services.parser.extract import parse_page
from devtools.samplesite.server import SITE_DIR, SamplePage, load_manifest
from services.scraper.decisions import build_raw_page

MANIFEST = load_manifest()
BASE = "http://127.0.0.1:8800"


def raw_for(page: SamplePage):  # type: ignore[no-untyped-def]
    outlet = MANIFEST.outlets[page.outlet]
    body = (SITE_DIR / page.file).read_bytes().replace(b"{{BASE_URL}}", BASE.encode())
    url = BASE + page.path
    headers = {"content-type": f"text/html; charset={page.encoding}" if page.charset_in_header else "text/html"}
    return build_raw_page(
        source=page.outlet, requested_url=url, final_url=url, canonical_url=url, status=200, headers=headers, body=body,
        fetched_at=datetime(2025, 10, 21, tzinfo=timezone.utc), fetch_ms=1, discovered_via=None, trace_id=None,
        language_hint=outlet.language, timezone=outlet.timezone,
    )


@pytest.mark.parametrize("page", MANIFEST.articles(), ids=lambda p: p.id)
def test_article_fields_match_the_manifest(page: SamplePage) -> None:
    article = parse_page(raw_for(page))
    assert isinstance(article, ParsedArticleV1), article
    want = page.expected
    assert article.title == want["title"]
    assert article.authors == want["authors"]
    assert article.published_at is not None and article.published_at.tzinfo is not None
    assert article.published_at == page.published_at
    assert article.language == want["language"]
    if want.get("section"):
        assert article.section == want["section"]
    for fragment in want.get("body_contains", []):
        assert fragment in article.body
    for fragment in want.get("body_excludes", []):
        assert fragment not in article.body
    assert set(article.provenance) >= {"title", "body", "published_at"}
    assert article.extractor_version


@pytest.mark.parametrize("page", [p for p in MANIFEST.pages if not p.is_article], ids=lambda p: p.id)
def test_section_fronts_are_rejected(page: SamplePage) -> None:
    result = parse_page(raw_for(page))
    assert isinstance(result, Rejected) and result.reason == "not-an-article"


def test_seed_article_body_is_complete_and_clean() -> None:
    page = next(p for p in MANIFEST.articles() if p.id == "putin-aliev-dushanbe")
    article = parse_page(raw_for(page))
    assert isinstance(article, ParsedArticleV1)
    seed = (SITE_DIR.parents[3] / ".." / "shared" / "seeds" / "000_41b3ba51445ab0fe.txt").resolve()
    captions = ("Фото:", "Владимир Путин и Ильхам Алиев (слева)", "Торговый порт в Баку", "Кохи Сомон Фото")
    lines = [line.strip() for line in seed.read_text().splitlines()[1:] if line.strip()] if seed.exists() else []
    body_lines = [line for line in lines if not any(c in line for c in captions)]
    if body_lines:
        paragraphs = article.body.split("\n\n")
        assert paragraphs == body_lines, "every paragraph, in order, and nothing else"
    for caption in ("Фото:", "Shutterstock/FOTODOM", "Григорий Сысоев/POOL/ТАСС", "Сергей Булкин/NEWS.ru"):
        assert caption not in article.body
    assert article.published_at.date().isoformat() == "2025-10-10"
    assert article.published_at.utcoffset().total_seconds() == 3 * 3600
