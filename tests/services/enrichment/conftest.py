"""Helpers for the enrichment tests: articles from the annotated corpus and the sample site."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from schemas.parsed_article_v1 import ParsedArticleV1

CORPUS = Path(__file__).resolve().parents[3] / "bench" / "corpus" / "enrichment"
NOW = datetime(2025, 10, 21, tzinfo=timezone.utc)


def article(title: str, body: str, *, lead: str | None = None, language: str | None = None, name: str = "t",
            published_at: datetime | None = None) -> ParsedArticleV1:
    return ParsedArticleV1(
        id=hashlib.sha256(name.encode()).hexdigest()[:16], url=f"https://example.test/{name}",
        canonical_url=f"https://example.test/{name}", source="test", title=title, lead=lead, body=body,
        language=language, fetched_at=NOW, published_at=published_at, extractor_version="test", parsed_at=NOW,
    )


def corpus_article(stem: str) -> tuple[ParsedArticleV1, dict]:  # type: ignore[type-arg]
    doc = json.loads((CORPUS / f"{stem}.json").read_text())
    return article(doc["title"], doc["body"], name=stem), doc


@pytest.fixture(scope="session")
def seed(models):  # type: ignore[no-untyped-def]
    from services.enrichment.logic import enrich

    parsed, _ = corpus_article("000-putin-aliev-dushanbe")
    return enrich(parsed, models)
