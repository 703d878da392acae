"""The backfill's pure parts: the worker's step, and the decision to publish or skip a page.

    archive ──read──▶ WarcEntry ──select (headers only)──▶ worker: to_raw_page + JSON ──▶ Prepared
    Prepared ──decide (this run's pages, what Elasticsearch holds)──▶ publish | skip

De-duplication without the scraper's `seen` table (it lives inside the running scraper):
1. within a run, an article id published once is not published again unless the archive
   holds a newer copy (`decide` with `published_in_run`);
2. across runs of the same archive, the resume state (services/batch/state.py) skips every
   record already finished;
3. against the live crawl and other archives, Elasticsearch's read alias: when the index
   holds the article with the same content hash, or fetched at the same time or later, the
   page is skipped as `already-indexed`. A newer copy is published and replaces the indexed
   one through the indexer's external versioning (version = fetch time).
What this does not cover: a page published (by the live crawl or another backfill) but not
indexed yet when the lookup runs, which is published twice and indexed once (the indexer's
versioning keeps the newer fetch, so the index still holds one document); and the scraper's
own memory: the live crawl will fetch an article the backfill published if its feed lists
it again (it knows only what it fetched itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.batch.pages import Filters, SourceBook, Skipped, to_raw_page
from services.batch.warc import WarcEntry
from services.common.bounded import PageLimits
from services.common.outcomes import Rejected


@dataclass(frozen=True)
class Prepared:
    """A raw page ready to publish: its key facts and its encoded event."""

    article_id: str
    url: str
    fetched_at: datetime
    content_hash: str
    value: bytes


@dataclass(frozen=True)
class BackfillConfig:
    limits: PageLimits
    filters: Filters
    sources_file: str | None
    max_event_bytes: int


class BackfillWork:
    """The handler every backfill worker runs: archived response → Prepared | Skipped | Rejected."""

    def __init__(self, config: BackfillConfig, book: SourceBook) -> None:
        self.config = config
        self.book = book

    def __call__(self, entry: WarcEntry) -> Prepared | Skipped | Rejected:
        raw = to_raw_page(entry, self.book, self.config.filters, self.config.limits)
        if isinstance(raw, (Skipped, Rejected)):
            return raw
        value = raw.model_dump_json().encode()
        if len(value) > self.config.max_event_bytes:
            return Rejected("too-large", f"raw page event of {len(value)} bytes exceeds {self.config.max_event_bytes}",
                            article_id=raw.article_id, url=entry.url)
        return Prepared(raw.article_id, raw.url, raw.fetched_at, raw.content_hash, value)


def prepare_backfill(config: BackfillConfig) -> BackfillWork:
    """Runs once in the pool's zygote."""
    import services.scraper.decisions  # noqa: F401 - loaded once, shared by the forked workers

    book = SourceBook()
    if config.sources_file:
        from schemas.sources import load_sources

        book = SourceBook(load_sources(config.sources_file))
    return BackfillWork(config, book)


def decide(page: Prepared, indexed: dict[str, Any] | None, published_in_run: dict[str, datetime]) -> Skipped | None:
    """None to publish `page`; a Skipped when the index or this run already has it (see the module doc).

    `indexed` is the document's `fetched_at` and `content_hash` as Elasticsearch holds them (or None).
    """
    earlier = published_in_run.get(page.article_id)
    if earlier is not None and earlier >= page.fetched_at:
        return Skipped("duplicate-in-archive", f"{page.article_id} was published in this run from a copy as new or newer")
    if indexed:
        if indexed.get("content_hash") == page.content_hash:
            return Skipped("already-indexed", "the index holds the same content")
        fetched = indexed.get("fetched_at")
        if isinstance(fetched, str):
            try:
                if datetime.fromisoformat(fetched.replace("Z", "+00:00")) >= page.fetched_at:
                    return Skipped("already-indexed", f"the index holds a copy fetched at {fetched}")
            except ValueError:
                pass
    return None
