"""`raw_page` v1: a page as the scraper fetched it (topic news.pages.raw.v1)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from schemas.common import ArticleId, AwareDatetime, DiscoveredVia, Envelope, Headers, HttpUrl, LanguageCode, TimeZoneName

EncodingSource = Literal["bom", "http-header", "meta", "xml-declaration", "detected", "default"]


class RawPageV1(Envelope):
    event_type: Literal["raw_page"] = "raw_page"
    schema_version: Literal[1] = 1

    article_id: ArticleId
    source: str = Field(max_length=256, description="Name of the source (sources file) that led to this page.")
    url: HttpUrl = Field(description="Canonicalised URL that was requested.")
    final_url: HttpUrl = Field(description="URL after redirects.")
    status: int = Field(ge=100, le=599)
    headers: Headers = Field(
        default_factory=dict,
        description="Response headers that matter downstream (content-type, etag, last-modified, "
        "content-language, date), lower-cased names.",
    )
    fetched_at: AwareDatetime
    fetch_ms: float = Field(ge=0, description="Time from request to last byte, milliseconds.")
    content_type: str | None = None
    encoding: str | None = Field(default=None, description="Charset the body was decoded with.")
    encoding_source: EncodingSource | None = None
    html: str | None = Field(default=None, description="Decoded body, when it is text.")
    body_b64: str | None = Field(default=None, description="Raw body, base64, when it could not be decoded.")
    content_length: int = Field(ge=0, description="Size of the body in bytes after content decoding.")
    content_hash: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the decoded body bytes.")
    discovered_via: DiscoveredVia | None = None
    language_hint: LanguageCode | None = Field(default=None, description="From the source config or Content-Language.")
    timezone: TimeZoneName | None = Field(
        default=None, description="IANA zone of the site (source config), for dates printed without one."
    )

    @model_validator(mode="after")
    def _body_present(self) -> RawPageV1:
        if self.html is None and self.body_b64 is None:
            raise ValueError("a raw page needs `html` or `body_b64`")
        return self
