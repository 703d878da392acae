"""Building raw page events for parser tests."""

from datetime import datetime, timezone

from schemas.raw_page_v1 import RawPageV1


def raw_page(html: str, *, site_zone: str | None = None, url: str = "https://site.example/a/1/") -> RawPageV1:
    return RawPageV1(
        article_id="0123456789abcdef", source="test", url=url, final_url=url, status=200,
        fetched_at=datetime(2025, 10, 20, tzinfo=timezone.utc), fetch_ms=1, content_length=len(html),
        content_hash="0" * 64, html=html, timezone=site_zone,
    )
