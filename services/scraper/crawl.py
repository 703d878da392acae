"""The scraper's decisions, as pure functions over plain values.

- whether a page should be fetched (new, forced, or due for a re-fetch) or skipped
  as a duplicate,
- the decaying re-fetch schedule that picks up edits for a while after publication,
- what changed after a fetch (same content hash → nothing is re-published),
- which article id and canonical URL a fetched page gets,
- the raw page event.

The wiring in `app.py` keeps `SeenEntry` and `FeedState` values in faust tables
(changelog-backed), so these decisions survive restarts and rebalances.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel

from schemas.common import DiscoveredVia
from schemas.raw_page_v1 import RawPageV1
from services.common.ids import article_id
from services.scraper.charset import decode_body
from services.scraper.urls import canonicalize, host_of

# Re-fetch a known article after these delays from its first sighting, then stop
# once the window is over: most edits happen in the first hours.
REFETCH_STEPS = (timedelta(minutes=15), timedelta(hours=1), timedelta(hours=4), timedelta(hours=12), timedelta(hours=24))


class SeenEntry(BaseModel):
    """What the scraper remembers about one canonical URL."""

    url: str
    article_id: str
    first_seen: datetime
    last_fetched: datetime | None = None
    content_hash: str | None = None
    fetch_count: int = 0
    next_refetch: datetime | None = None
    guid: str | None = None


class FeedState(BaseModel):
    """Conditional-GET validators and health of one feed or sitemap."""

    url: str
    source: str
    etag: str | None = None
    last_modified: str | None = None
    last_polled: datetime | None = None
    last_ok: datetime | None = None
    last_status: int | None = None
    items_seen: int = 0


@dataclass(frozen=True)
class Decision:
    fetch: bool
    reason: str  # "new" | "forced" | "refetch-due" | "duplicate" | "refetch-not-due"


def dedup_key(url: str, keep_trailing_slash: bool = True) -> str:
    """The seen-table key for a URL: its canonical spelling (https, no tracking, no fragment)."""
    return canonicalize(url, keep_trailing_slash=keep_trailing_slash, prefer_https=True)


def fetch_url(url: str, keep_trailing_slash: bool = True) -> str:
    """The URL to request: normalised and stripped of tracking, scheme kept (a site may lack https)."""
    return canonicalize(url, keep_trailing_slash=keep_trailing_slash, prefer_https=False)


def decide(entry: SeenEntry | None, now: datetime, *, force: bool = False, refetch: bool = False) -> Decision:
    if entry is None:
        return Decision(True, "new")
    if force:
        return Decision(True, "forced")
    if refetch and entry.next_refetch is not None and now >= entry.next_refetch:
        return Decision(True, "refetch-due")
    return Decision(False, "refetch-not-due" if refetch else "duplicate")


def next_refetch(first_seen: datetime, now: datetime, window: timedelta) -> datetime | None:
    """The next step of the decaying schedule after `now`, or None once the window is over."""
    for step in REFETCH_STEPS:
        when = first_seen + step
        if when > now and step <= window:
            return when
    return None


def record_fetch(entry: SeenEntry | None, *, url: str, aid: str, content_hash: str, now: datetime, window: timedelta, guid: str | None = None) -> tuple[SeenEntry, bool]:
    """Update the seen entry after a successful fetch; returns (entry, content_changed)."""
    if entry is None:
        entry = SeenEntry(url=url, article_id=aid, first_seen=now, guid=guid)
    changed = entry.content_hash != content_hash
    entry = entry.model_copy(
        update={
            "last_fetched": now,
            "content_hash": content_hash,
            "fetch_count": entry.fetch_count + 1,
            "next_refetch": next_refetch(entry.first_seen, now, window),
            "guid": entry.guid or guid,
        }
    )
    return entry, changed


_CANONICAL = re.compile(
    rb"""<link\b(?=[^>]*\brel\s*=\s*["']?canonical["'\s>])[^>]*\bhref\s*=\s*["']([^"'>]+)["']""", re.I
)


def find_canonical(body: bytes, base_url: str) -> str | None:
    """`<link rel=canonical href=…>` from the page head, absolute, or None."""
    match = _CANONICAL.search(body[:256 * 1024])
    if not match:
        return None
    from html import unescape
    from urllib.parse import urljoin

    href = unescape(match.group(1).decode("utf-8", errors="replace")).strip()
    try:
        return urljoin(base_url, href) if href else None
    except ValueError:
        return None


def choose_canonical(final_url: str, declared: str | None, allows_host) -> str:  # type: ignore[no-untyped-def]
    """The page's canonical URL: rel=canonical when it stays on the source's domains."""
    if declared and declared.startswith(("http://", "https://")) and allows_host(host_of(declared)):
        return declared
    return final_url


def content_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def build_raw_page(
    *,
    source: str,
    requested_url: str,
    final_url: str,
    canonical_url: str,
    status: int,
    headers: dict[str, str],
    body: bytes,
    fetched_at: datetime,
    fetch_ms: float,
    discovered_via: DiscoveredVia | None,
    trace_id: str | None,
    language_hint: str | None,
    timezone: str | None,
) -> RawPageV1:
    content_type = headers.get("content-type")
    mime = (content_type or "text/html").split(";")[0].strip().lower()
    html = encoding = encoding_source = body_b64 = None
    if mime.startswith("text/") or "html" in mime or "xml" in mime:
        html, encoding, encoding_source = decode_body(body, content_type)
    else:
        body_b64 = base64.b64encode(body).decode()
    extra = {"trace_id": trace_id} if trace_id else {}
    return RawPageV1(
        article_id=article_id(dedup_key(canonical_url)),
        source=source,
        url=requested_url,
        final_url=final_url,
        status=status,
        headers=headers,
        fetched_at=fetched_at,
        fetch_ms=round(fetch_ms, 2),
        content_type=content_type,
        encoding=encoding,
        encoding_source=encoding_source,
        html=html,
        body_b64=body_b64,
        content_length=len(body),
        content_hash=content_hash(body),
        discovered_via=discovered_via,
        language_hint=language_hint or _language_from_header(headers.get("content-language")),
        timezone=timezone,
        **extra,
    )


def _language_from_header(value: str | None) -> str | None:
    if not value:
        return None
    code = value.split(",")[0].strip().split("-")[0].lower()
    return code if re.fullmatch(r"[a-z]{2}", code) else None
