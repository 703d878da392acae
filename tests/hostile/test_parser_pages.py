"""Every hostile page through the parser's own worker pool, as the service runs it.

Each page ends as an article or a rejection, well inside the parser's time limit and
memory bound: never a timeout, a dead worker or an unexpected error. (Compressed
pages are the fetcher's business: tests/e2e/test_hostile_pages.py serves them.)
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from services.common.outcomes import Rejected
from services.common.stage import Emit
from services.common.workers import WorkerPool
from services.parser.app import ParserSettings
from services.scraper.decisions import build_raw_page
from tests.hostile.pages import PAGES, HostilePage

MAX_PAGE_BYTES = 5 * 1024 * 1024  # what the scraper (and the CLI) let through
RSS_LIMIT_KIB = 1024 * 1024
PLAIN = [p for p in PAGES if p.content_encoding is None]


def raw_event(page: HostilePage) -> bytes:
    raw = build_raw_page(
        source="hostile", requested_url=f"https://hostile.ru/{page.name}", final_url=f"https://hostile.ru/{page.name}",
        canonical_url=f"https://hostile.ru/{page.name}", status=200, headers={"content-type": page.content_type},
        body=page.body[:MAX_PAGE_BYTES], fetched_at=datetime(2025, 10, 22, tzinfo=timezone.utc), fetch_ms=1,
        discovered_via=None, trace_id=None, language_hint=None, timezone=None,
    )
    return raw.model_dump_json().encode()


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


@pytest.fixture(scope="module")
async def parser_pool():  # type: ignore[no-untyped-def]
    pool = WorkerPool("parser", "services.parser.pool_entry:prepare_worker", (None,), size=1,
                      time_limit=ParserSettings().time_limit)
    await pool.start()
    yield pool
    pool.close()


def test_the_corpus_is_big_enough_and_named() -> None:
    assert len(PAGES) >= 45
    assert len({p.name for p in PAGES}) == len(PAGES)


@pytest.mark.parametrize("page", PLAIN, ids=[p.name for p in PLAIN])
async def test_a_hostile_page_ends_as_an_article_or_a_rejection(page: HostilePage, parser_pool: WorkerPool) -> None:
    outcome = await parser_pool.run(raw_event(page))  # raises on a timeout or a dead worker
    assert isinstance(outcome, (Emit, Rejected))
    if isinstance(outcome, Rejected):
        assert outcome.reason not in ("unexpected-error", "timeout", "worker-crashed"), outcome.detail
    if page.expect == "article":
        assert isinstance(outcome, Emit), f"{page.name}: {getattr(outcome, 'reason', '')} {getattr(outcome, 'detail', '')}"
    elif page.expect == "rejected":
        assert isinstance(outcome, Rejected)
    (pid,) = parser_pool.pids
    assert peak_rss_kib(pid) < RSS_LIMIT_KIB


def test_what_the_hostile_pages_must_not_leave_in_an_article() -> None:
    from services.parser.pool_entry import SiteRuleBook, parse_event
    from schemas.raw_page_v1 import RawPageV1

    bidi = parse_event(RawPageV1.model_validate_json(raw_event(next(p for p in PAGES if p.name == "bidi-controls"))), SiteRuleBook())
    assert not isinstance(bidi, Rejected)
    for text in [bidi.title, bidi.body, *bidi.authors]:
        assert not any(ch in text for ch in "\u202e\u202c\u2066\u2069\u200f\u200b"), repr(text)

    dates = parse_event(RawPageV1.model_validate_json(raw_event(next(p for p in PAGES if p.name == "jsonld-bad-dates"))), SiteRuleBook())
    assert not isinstance(dates, Rejected)
    assert dates.published_at is None or dates.published_at.year != 9999
    assert "implausible" in json.dumps(dates.model_dump(mode="json")["provenance"])

    over_deep = parse_event(RawPageV1.model_validate_json(raw_event(next(p for p in PAGES if p.name == "jsonld-over-deep"))), SiteRuleBook())
    assert not isinstance(over_deep, Rejected), "one over-deep JSON-LD block must not reject the page"
    assert over_deep.published_at is not None  # from the good JSON-LD block beside it

    big_head = parse_event(RawPageV1.model_validate_json(raw_event(next(p for p in PAGES if p.name == "huge-head-article-after"))), SiteRuleBook())
    assert not isinstance(big_head, Rejected) and "Воронина" in big_head.body
