"""Building blocks shared by the event schemas.

Field names here are public API: the same names appear in Kafka events, in the
Elasticsearch index and in CLI output. Add fields freely (consumers ignore what
they do not know); renaming or retyping one needs a new schema version and topic.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from functools import lru_cache
from typing import Annotated, Literal
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _require_tz(value: datetime) -> datetime:
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError("timestamp must carry a timezone (e.g. +03:00 or Z)")
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_require_tz)]
"""A timestamp that must carry its timezone; naive times are a schema error."""

MAX_URL_LENGTH = 8192
HttpUrl = Annotated[
    str,
    Field(max_length=MAX_URL_LENGTH, pattern=r"^[hH][tT][tT][pP][sS]?://[^\s]+$",
          description="An http(s) URL of at most 8192 characters."),
]
"""A URL the pipeline may fetch or point at: http or https only, bounded length."""


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def _require_zone(value: str) -> str:
    if value not in _zone_names():
        raise ValueError(f"not an IANA time zone name: {value[:80]!r}")
    return value


TimeZoneName = Annotated[
    str,
    Field(max_length=64, description="An IANA time zone name, e.g. Europe/Moscow.", examples=["Europe/Moscow"]),
    AfterValidator(_require_zone),
]

LanguageCode = Annotated[
    str,
    Field(max_length=35, pattern=r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{1,8})*$", description="A BCP 47 language tag (ISO 639 code first).",
          examples=["ru", "en-GB"]),
]

MAX_HEADERS = 64
MAX_HEADER_VALUE = 8192


def _bounded_headers(headers: dict[str, str]) -> dict[str, str]:
    if len(headers) > MAX_HEADERS:
        raise ValueError(f"{len(headers)} headers; at most {MAX_HEADERS} are kept")
    for name, value in headers.items():
        if len(name) > 256 or len(value) > MAX_HEADER_VALUE:
            raise ValueError(f"header {name[:60]!r} is longer than {MAX_HEADER_VALUE} characters")
    return headers


Headers = Annotated[dict[str, str], AfterValidator(_bounded_headers)]
"""Response headers that matter downstream: at most 64, values up to 8 KiB."""

ArticleId = Annotated[
    str,
    Field(
        pattern=r"^[0-9a-f]{16}$",
        description="Stable article id: the first 16 hex digits of SHA-256 of the canonical URL.",
        examples=["41b3ba51445ab0fe"],
    ),
]


def new_event_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Model(BaseModel):
    """Base for every payload: unknown fields are kept, so adding a field is not breaking."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class StrictModel(BaseModel):
    """Base for nested values whose shape is fixed."""

    model_config = ConfigDict(extra="forbid")


class Envelope(Model):
    """What every event carries besides its payload."""

    event_id: str = Field(default_factory=new_event_id, description="Unique id of this event.")
    trace_id: str = Field(
        default_factory=new_event_id,
        description="Follows one article through every stage; set by the scraper.",
    )


class Image(StrictModel):
    url: str
    caption: str | None = None
    credit: str | None = None


ProvenanceSource = Literal[
    "jsonld", "meta", "microdata", "visible", "site-rule", "feed", "url", "http", "default", "enrichment"
]


class FieldProvenance(StrictModel):
    """Where a field's value came from, and how sure the extractor is of it (0..1)."""

    source: ProvenanceSource
    confidence: float = Field(ge=0.0, le=1.0)
    detail: str | None = Field(default=None, description="e.g. the JSON-LD key or CSS selector used")


class Mention(StrictModel):
    start: int = Field(ge=0, description="Character offset in `body` (or title when `field`='title').")
    end: int = Field(ge=0)
    text: str
    field: Literal["title", "lead", "body"] = "body"


class Entity(StrictModel):
    name: str = Field(description="Normalised name (nominative case; full name where the article gives it).")
    count: int = Field(ge=1)
    mentions: list[Mention] = Field(default_factory=list)


class Entities(StrictModel):
    persons: list[Entity] = Field(default_factory=list)
    organizations: list[Entity] = Field(default_factory=list)
    locations: list[Entity] = Field(default_factory=list)


class Quote(StrictModel):
    text: str
    speaker: str | None = Field(default=None, description="Normalised like entities; null when not attributed.")
    speaker_role: str | None = None
    start: int | None = Field(default=None, ge=0, description="Offset of the quote's text in `body`.")
    end: int | None = Field(default=None, ge=0)


class DiscoveredVia(StrictModel):
    """How the scraper came to fetch a page; hints from feeds help the parser."""

    kind: Literal["feed", "sitemap", "news-sitemap", "request", "refetch", "link"]
    url: str | None = Field(default=None, description="The feed/sitemap that listed the page.")
    guid: str | None = None
    title: str | None = None
    published_at: AwareDatetime | None = None
