"""The scraper's decisions, as pure functions over plain values.

- whether a page should be fetched (new, forced, or due for a re-fetch) or skipped
  as a duplicate,
- the decaying re-fetch schedule that picks up edits for a while after publication,
- what changed after a fetch (same content hash → nothing is re-published),
- which article id and canonical URL a fetched page gets,
- the raw page event.

The wiring in `app.py` keeps `SeenEntry` and `FeedState` values in faust tables
(changelog-backed, the seen state on disk in RocksDB), so these decisions survive
restarts and rebalances. Per article the state holds one compact entry under a
16-character digest key (the key scheme: `state_keys.py`), plus a pointer for another spelling or a feed GUID when
there is one; every value carries its last activity so that entries older than the
retention expire.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from html import unescape
from typing import Any
from urllib.parse import urljoin

from pydantic import BaseModel, ConfigDict, Field

from schemas.common import DiscoveredVia
from schemas.raw_page_v1 import RawPageV1
from services.common.ids import article_id
from services.scraper.charset import decode_body
from services.scraper.urls import canonicalize, host_of

# Re-fetch a known article after these delays from its first sighting, then stop
# once the window is over: most edits happen in the first hours.
REFETCH_STEPS = (timedelta(minutes=15), timedelta(hours=1), timedelta(hours=4), timedelta(hours=12), timedelta(hours=24))
# Validators from a hostile server must not bloat the state: longer ones are not kept.
MAX_VALIDATOR_CHARS = 200


def _epoch(when: datetime) -> int:
    return int(when.timestamp())


class SeenEntry(BaseModel):
    """What the scraper remembers about one canonical URL: one compact JSON value.

    Short field names on the wire (`u`, `f`, `l`, …) because there is one of these per
    article, millions in a long-running deployment; times are Unix seconds. The article
    id is not stored: it is derived from `url` (`article_id`).
    """

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    url: str = Field(alias="u", description="The canonical dedup key of the page.")
    first_seen: int = Field(alias="f")
    last_fetched: int | None = Field(default=None, alias="l")
    content_hash: str | None = Field(default=None, alias="h", description="First 16 hex digits of the body's SHA-256.")
    fetch_count: int = Field(default=0, alias="n")
    next_refetch: int | None = Field(default=None, alias="r")
    etag: str | None = Field(default=None, alias="e")
    last_modified: str | None = Field(default=None, alias="m")

    @property
    def article_id(self) -> str:
        return article_id(self.url)

    def encode(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


def last_activity(value: dict[str, Any]) -> int:
    """Unix time a state value was last touched (entries, aliases and GUID pointers alike)."""
    for name in ("l", "f"):
        stamp = value.get(name)
        if isinstance(stamp, int):
            return stamp
    return 0


def is_expired(value: Any, now: datetime, retention: timedelta) -> bool:
    """True once a state value was not touched for `retention`: it reads as absent and is swept."""
    return not isinstance(value, dict) or last_activity(value) + retention.total_seconds() < now.timestamp()


def alias_value(target: str, now: datetime) -> dict[str, Any]:
    """A pointer from another spelling (or a GUID) to a page's state key."""
    return {"a": target, "l": _epoch(now)}


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
    if refetch and entry.next_refetch is not None and _epoch(now) >= entry.next_refetch:
        return Decision(True, "refetch-due")
    return Decision(False, "refetch-not-due" if refetch else "duplicate")


def next_refetch(first_seen: datetime, now: datetime, window: timedelta) -> datetime | None:
    """The next step of the decaying schedule after `now`, or None once the window is over."""
    for step in REFETCH_STEPS:
        when = first_seen + step
        if when > now and step <= window:
            return when
    return None


def _validator(value: str | None) -> str | None:
    return value if value and len(value) <= MAX_VALIDATOR_CHARS else None


def record_fetch(
    entry: SeenEntry | None, *, url: str, content_hash: str, now: datetime, window: timedelta,
    etag: str | None = None, last_modified: str | None = None, keep_validators: bool = False,
) -> tuple[SeenEntry, bool]:
    """Update the seen entry after a successful fetch; returns (entry, content_changed).

    `keep_validators` keeps the stored ETag/Last-Modified (after a 304, which repeats them or not).
    """
    if entry is None:
        entry = SeenEntry(url=url, first_seen=_epoch(now))
    short = content_hash[:16]
    changed = entry.content_hash != short
    first = datetime.fromtimestamp(entry.first_seen, tz=timezone.utc)
    due = next_refetch(first, now, window)
    entry = entry.model_copy(
        update={
            "last_fetched": _epoch(now),
            "content_hash": short,
            "fetch_count": entry.fetch_count + 1,
            "next_refetch": _epoch(due) if due else None,
            "etag": entry.etag if keep_validators else _validator(etag),
            "last_modified": entry.last_modified if keep_validators else _validator(last_modified),
        }
    )
    return entry, changed


# Canonical-link discovery scans only the head, tag by tag, with patterns that cannot
# backtrack across tags: `[^<>]*` stops at the next angle bracket, so every byte is
# looked at a bounded number of times (the old single regex was quadratic on repeated
# `<link `: 256 KiB took about 50 s).
HEAD_SCAN_BYTES = 256 * 1024
_LINK_TAG = re.compile(rb"<link\b([^<>]*)>", re.I)
_ATTRIBUTE = re.compile(rb"""([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")
_HEAD_END = re.compile(rb"</head\s*>|<body\b", re.I)


def _attributes(tag_body: bytes) -> dict[bytes, bytes]:
    attributes: dict[bytes, bytes] = {}
    for match in _ATTRIBUTE.finditer(tag_body):
        name = match.group(1).lower()
        value = match.group(2) if match.group(2) is not None else match.group(3) if match.group(3) is not None else match.group(4)
        attributes.setdefault(name, value or b"")
    return attributes


def find_canonical(body: bytes, base_url: str) -> str | None:
    """`<link rel=canonical href=…>` from the page head, absolute, or None. Linear time."""
    head = body[:HEAD_SCAN_BYTES]
    end = _HEAD_END.search(head)
    if end is not None:
        head = head[: end.start()]
    for tag in _LINK_TAG.finditer(head):
        attributes = _attributes(tag.group(1))
        if b"canonical" not in attributes.get(b"rel", b"").lower().split():
            continue
        href = unescape(attributes.get(b"href", b"").decode("utf-8", errors="replace")).strip()
        if not href:
            return None
        try:
            return urljoin(base_url, href)
        except ValueError:
            return None
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
