"""`enriched_article` v1: a parsed article plus what enrichment adds (news.articles.enriched.v1)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas.common import ArticleId, AwareDatetime, Entities, Quote
from schemas.parsed_article_v1 import ParsedArticleV1


class EnrichedArticleV1(ParsedArticleV1):
    event_type: Literal["enriched_article"] = "enriched_article"  # type: ignore[assignment]
    schema_version: Literal[1] = 1

    language_confidence: float | None = Field(default=None, ge=0, le=1)
    entities: Entities = Field(default_factory=Entities)
    quotes: list[Quote] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    title_lemmas: str | None = Field(default=None, description="Lemmatised title, for morphology-aware search.")
    body_lemmas: str | None = Field(default=None, description="Lemmatised body, for morphology-aware search.")
    word_count: int = Field(default=0, ge=0)
    reading_time_minutes: float = Field(default=0, ge=0)
    fingerprint: str | None = Field(default=None, description="64-bit SimHash of the body, hex.")
    story_id: str | None = Field(default=None, description="Shared by rewrites of the same story.")
    story_first_id: ArticleId | None = Field(default=None, description="Earliest article seen in the story.")
    duplicate_of: ArticleId | None = Field(default=None, description="Set when the body is an exact copy.")
    enrichment_version: str
    enriched_at: AwareDatetime
