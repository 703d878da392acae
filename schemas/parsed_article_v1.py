"""`parsed_article` v1: the structured article the parser extracted (news.articles.parsed.v1)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas.common import ArticleId, AwareDatetime, Envelope, FieldProvenance, Image, LivePost, Model


class ArticleFields(Model):
    """The article as downstream apps see it; every stage after the parser keeps these."""

    id: ArticleId
    url: str
    canonical_url: str
    source: str
    site_name: str | None = None
    title: str
    lead: str | None = Field(default=None, description="Subtitle / standfirst.")
    body: str = Field(description="Paragraphs in order, separated by a blank line.")
    published_at: AwareDatetime | None = None
    modified_at: AwareDatetime | None = None
    authors: list[str] = Field(default_factory=list)
    section: str | None = None
    tags: list[str] = Field(default_factory=list)
    images: list[Image] = Field(default_factory=list)
    language: str | None = Field(default=None, description="ISO 639-1 code.")
    fetched_at: AwareDatetime
    content_hash: str | None = Field(default=None, description="SHA-256 of the fetched page body.")
    live_posts: list[LivePost] = Field(
        default_factory=list,
        description="For a live blog: its posts in page order, each with its time and where it starts in `body` "
        "(empty for other articles). Carried by the events; not part of index contract v1.",
    )


class ParsedArticleV1(Envelope, ArticleFields):
    event_type: Literal["parsed_article"] = "parsed_article"
    schema_version: Literal[1] = 1

    provenance: dict[str, FieldProvenance] = Field(
        default_factory=dict, description="Per output field: where it came from and how sure."
    )
    extractor_version: str
    parsed_at: AwareDatetime
