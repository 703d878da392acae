"""From an archived HTTP response to the raw page the live crawl would have published.

Pure functions over plain values (a `WarcEntry` in, a `RawPageV1`, a `Skipped` or a
`Rejected` out), run in killable worker processes by `newsflow backfill` and
`newsflow parse|enrich --batch` alike. The rules are the live crawl's:

- the same size limit (NEWSFLOW_SCRAPER_MAX_PAGE_BYTES) and decompression guard
  (services/common/bounded.py) for a stored `Content-Encoding`;
- the same charset rules, canonical URL, article id and raw event (`build_raw_page`);
- the source of a page, its language and time zone, from the sources file, so an article
  backfilled from an archive and the same article crawled live get the same id and fields.

What is not a page to publish is either **skipped** (counted by reason, nothing is wrong
with it: a request or metadata record, a revisit, a redirect, an image, a page outside the
filters) or **rejected** (a broken HTML response: cut by the crawler, cut in the file,
too large, a compressed body that does not decode): those become dead letters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from schemas.raw_page_v1 import RawPageV1
from schemas.sources import Source, SourcesFile
from services.batch.warc import WarcEntry
from services.common.bounded import DecodeRefused, PageLimits, decode
from services.common.outcomes import Rejected

# The response headers a raw page keeps (the live crawl keeps the same ones).
KEPT_HEADERS = ("content-type", "content-language", "etag", "last-modified", "date", "content-length", "retry-after")
HTML_TYPES = ("text/html", "application/xhtml+xml")
_LANG = re.compile(r"""\blang\s*=\s*["']?\s*([a-zA-Z]{2,3})(?:[-_][a-zA-Z0-9]+)?\b""")


@dataclass(frozen=True)
class Skipped:
    """A record that is not published, and why (a reason code, counted in the summary)."""

    reason: str
    detail: str = ""


@dataclass(frozen=True)
class Filters:
    """What to take from an archive (everything when empty)."""

    domains: tuple[str, ...] = ()
    """Hosts to keep (a domain keeps its subdomains); empty: every host."""
    sources_only: bool = False
    """Keep only hosts a source of the sources file allows."""
    since: datetime | None = None
    until: datetime | None = None
    """Fetch time (WARC-Date) range, inclusive."""
    languages: tuple[str, ...] = ()
    """Language hints to keep; a page with no hint is skipped when this is set."""


@dataclass
class SourceBook:
    """Which source of the sources file an archived URL belongs to.

    By host first (`allowed_domains`); when several sources share a host (regional editions
    of one site), the one whose feeds and sitemaps share the longest path with the page.
    """

    sources: SourcesFile = field(default_factory=SourcesFile)

    def source_for(self, url: str) -> Source | None:
        host = (urlsplit(url).hostname or "").lower()
        candidates = [s for s in self.sources.sources if s.allows_host(host)]
        if len(candidates) <= 1:
            return candidates[0] if candidates else None
        path = urlsplit(url).path
        return max(candidates, key=lambda s: max((_common_path(path, urlsplit(u).path) for u in [*s.feeds, *s.sitemaps]), default=0))


def _common_path(a: str, b: str) -> int:
    """Number of leading path segments two paths share."""
    count = 0
    for x, y in zip(a.split("/")[1:], b.split("/")[1:]):
        if x != y:
            break
        count += 1
    return count


def _host_matches(host: str, domains: tuple[str, ...]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


def select(entry: WarcEntry, book: SourceBook, filters: Filters) -> Skipped | None:
    """The cheap checks on a record's WARC and HTTP headers: None when it may be a page to publish."""
    if entry.record_type != "response":
        return Skipped(entry.record_type if entry.record_type in ("revisit", "request", "metadata", "warcinfo", "resource") else "not-a-response")
    url = entry.url or ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return Skipped("not-http", f"target URI {url[:200]!r}")
    host = parts.hostname.lower()
    if filters.domains and not _host_matches(host, filters.domains):
        return Skipped("domain-filtered")
    if filters.sources_only and book.source_for(url) is None:
        return Skipped("domain-filtered")
    if entry.date is None:
        return Skipped("no-date", "the record has no valid WARC-Date")
    if filters.since and entry.date < filters.since or filters.until and entry.date > filters.until:
        return Skipped("date-filtered")
    if entry.status is not None:  # a broken record with a readable status line is still judged by it
        if entry.status != 200:
            return Skipped(f"status-{entry.status}")
        mime = (entry.http_headers.get("content-type") or "").split(";")[0].strip().lower()
        if mime and mime not in HTML_TYPES:
            return Skipped("not-html", mime[:80])
    return None  # a page to publish, or a broken response: `to_raw_page` rejects it with the reason


def language_hint(entry: WarcEntry, source: Source | None, body: bytes) -> str | None:
    """The source's language, else Content-Language, else the page's `<html lang>`."""
    if source is not None and source.language:
        return source.language
    header = (entry.http_headers.get("content-language") or "").split(",")[0].strip().split("-")[0].lower()
    if re.fullmatch(r"[a-z]{2}", header):
        return header
    head = body[:16384].decode("latin-1").lower()
    start = head.find("<html")
    if start == -1:
        return None
    end = head.find(">", start, start + 2048)
    match = _LANG.search(head, start, end if end != -1 else start + 2048)
    code = match.group(1).lower() if match else ""
    return code if len(code) == 2 else None


def to_raw_page(entry: WarcEntry, book: SourceBook, filters: Filters, limits: PageLimits) -> RawPageV1 | Skipped | Rejected:
    """The raw page for an archived response that passed `select` (see the module doc)."""
    from services.scraper.decisions import build_raw_page, choose_canonical, find_canonical, fetch_url

    url = entry.url or ""
    if entry.broken:
        return Rejected(entry.broken, entry.detail, url=url)
    truncated = entry.warc_headers.get("WARC-Truncated")
    if truncated:
        return Rejected("warc-truncated", f"the archive holds only part of the response (WARC-Truncated: {truncated[:40]})", url=url)
    if entry.oversize:
        return Rejected("too-large", f"the stored body is larger than {limits.max_bytes} bytes", url=url)
    try:
        body = decode(entry.payload, entry.http_headers.get("content-encoding"), limits)
    except DecodeRefused as exc:
        return Rejected(exc.reason, exc.detail, url=url)
    if not entry.http_headers.get("content-type") and not _looks_like_html(body):
        return Skipped("not-html", "no content type, and the body is not HTML")
    source = book.source_for(url)
    hint = language_hint(entry, source, body)
    if filters.languages and hint not in filters.languages:
        return Skipped("language-filtered", f"language hint {hint!r}")
    keep_slash = source.keep_trailing_slash if source else True
    host = (urlsplit(url).hostname or "").lower()
    allows = source.allows_host if source else (lambda h: h == host)
    canonical = choose_canonical(url, find_canonical(body, url), allows)
    headers = {k: v[:2048] for k, v in entry.http_headers.items() if k in KEPT_HEADERS}
    assert entry.date is not None  # `select` skipped records without one
    try:
        return build_raw_page(
            source=source.name if source else _source_name(host), requested_url=fetch_url(url, keep_slash), final_url=url,
            canonical_url=canonical, status=200, headers=headers, body=body, fetched_at=entry.date, fetch_ms=0,
            discovered_via=None, trace_id=None, language_hint=hint, timezone=source.timezone if source else None,
        )
    except ValueError as exc:  # a URL or field the raw page schema refuses
        return Rejected("invalid-page", f"{type(exc).__name__}: {str(exc)[:500]}", url=url)


def _looks_like_html(body: bytes) -> bool:
    head = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<!--"))


def _source_name(host: str) -> str:
    """A page of no known source is named after its host (without `www.`)."""
    return host[4:] if host.startswith("www.") else host
