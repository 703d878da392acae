"""Issue 11, against real local HTTP servers: politeness on every request, the metrics that
show every request, no waiting for nothing, no head-of-line blocking."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web
from prometheus_client import REGISTRY

from services.scraper.crawler import page_task
from services.scraper.source_changes import apply_source_changes
from services.scraper.fetch import FetchLimits, parse_retry_after
from tests.services.scraper.conftest import SILENT_SOURCE, CrawlHarness, LocalSite, SilentServer, make_harness
from tests.services.scraper.test_crawler_http import article, harness, rss


def fetches(source: str, outcome: str) -> float:
    total = 0.0
    for metric in REGISTRY.collect():
        if metric.name == "newsflow_scraper_fetches":
            for sample in metric.samples:
                if sample.name.endswith("_total") and sample.labels["source"] == source and sample.labels["outcome"] == outcome:
                    total += sample.value
    return total


def all_fetches(source: str) -> float:
    total = 0.0
    for metric in REGISTRY.collect():
        if metric.name == "newsflow_scraper_fetches":
            total += sum(s.value for s in metric.samples if s.name.endswith("_total") and s.labels["source"] == source)
    return total


def gaps(site: LocalSite) -> list[float]:
    starts = [hit.at for hit in site.hits]
    return [b - a for a, b in zip(starts, starts[1:])]


def flaky(answers: list[web.StreamResponse | None], final: str):  # type: ignore[no-untyped-def]
    """A handler answering from `answers` first (None = stall past the timeout), then the article."""
    queue = list(answers)

    async def handler(request: web.Request) -> web.StreamResponse:
        if queue:
            answer = queue.pop(0)
            if answer is None:
                await asyncio.sleep(3)
                return web.Response(text="too late")
            return answer
        return web.Response(text=article(final), content_type="text/html")

    return handler


async def test_crawl_delay_holds_on_every_request_including_retries_and_redirects(site: LocalSite, harnesses) -> None:  # type: ignore[no-untyped-def]
    # Why: retries were made inside the fetcher after 0.25–1 s, behind the scheduler's back.
    site.page("/robots.txt", "User-agent: *\nCrawl-delay: 0.5\n", "text/plain")
    site.route("/a/", flaky([web.Response(status=503), web.Response(status=502), web.Response(status=503)], "a"))
    site.route("/b/", flaky([None], "b"))  # one stalled answer
    site.route("/old/", flaky([web.Response(status=301, headers={"Location": "/c/"})], "c"))
    site.page("/c/", article("c"))
    site.page("/feed.xml", rss(site.base, ["/a/", "/b/", "/old/"]), "application/rss+xml")
    limits = FetchLimits(connect_timeout=1, total_timeout=1, attempts=5, backoff_base=0.05, backoff_cap=0.2, page_budget=20)
    name = "delay-on-retries"
    h = harness(harnesses, {"sources": [{"name": name, "feeds": [site.base + "/feed.xml"], "allowed_domains": ["127.0.0.1"],
                                          "allow_private_addresses": True}]}, limits=limits)
    before = all_fetches(name)
    await h.poll(name)

    assert sorted(r.url for r in h.raw) == sorted(site.base + p for p in ["/a/", "/b/", "/old/"]) and not h.dead
    assert len(site.hits_for("/a/")) == 4 and len(site.hits_for("/b/")) == 2 and site.hits_for("/c/")
    assert min(gaps(site)) >= 0.48, f"every request to the host, the first and the fifth alike, waits its Crawl-delay: {gaps(site)}"
    # Why: the metrics summed to fewer requests than the site logged, and no 503 showed.
    assert all_fetches(name) - before == len(site.hits)
    assert fetches(name, "503") >= 2 and fetches(name, "502") >= 1 and fetches(name, "timeout") >= 1 and fetches(name, "301") >= 1


async def test_a_503_backs_the_host_off_exponentially_and_success_resets_it(site: LocalSite, harnesses) -> None:  # type: ignore[no-untyped-def]
    site.route("/x/", flaky([web.Response(status=503) for _ in range(3)], "x"))
    site.page("/y/", article("y"))
    limits = FetchLimits(attempts=5, backoff_base=0.3, backoff_cap=5, page_budget=30)
    h = harness(harnesses, {"sources": [{"name": "s", "allowed_domains": ["127.0.0.1"], "allow_private_addresses": True,
                                          "politeness": {"respect_robots": False, "min_delay": 0}}]}, limits=limits)
    await h.run([page_task(site.base + "/x/", "s")])
    hits = [hit for hit in site.hits if hit.path == "/x/"]
    pauses = [b.at - a.at for a, b in zip(hits, hits[1:])]
    # Pauses of 0.3, 0.6, 1.2 s (jittered down to 80 %): each longer than the one before.
    assert len(hits) == 4 and pauses[0] >= 0.23 and pauses[1] >= 0.47 and pauses[2] >= 0.95, pauses
    assert h.crawler.scheduler._hosts[f"127.0.0.1:{site.port}"].failures == 0, "the 200 reset the backoff"
    await h.run([page_task(site.base + "/y/", "s")])
    assert site.hits[-1].at - hits[-1].at < 0.25, "after the reset the next request does not wait out a backoff"
    assert len(h.raw) == 2


async def test_a_stall_costs_one_timeout_per_attempt_within_the_page_budget(harnesses, silent_server: SilentServer) -> None:  # type: ignore[no-untyped-def]
    # Why: a stalling page held a connection for ~90 s (three 30 s attempts inside the fetcher).
    limits = FetchLimits(connect_timeout=1, total_timeout=1, attempts=10, backoff_base=0.05, page_budget=2.5)
    h = harness(harnesses, SILENT_SOURCE, limits=limits)
    await h.run([page_task(silent_server.url("/hang/"), "s")], timeout=20)
    [(rejected, task, _)] = h.dead
    assert rejected.reason == "timeout" and "gave up" in rejected.detail
    assert len(silent_server.connections) == 3, "1 s per attempt, 2.5 s in all: the third attempt gets the last 0.5 s"
    assert 2.4 <= task.spent_seconds <= 4.0


def test_retry_after_is_capped() -> None:
    # Why: `Retry-After: 99999999999` was accepted and pinned the host and the frontier offset.
    assert parse_retry_after("99999999999", cap=3600) == 3600
    assert parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", cap=3600) == 3600
    assert parse_retry_after("120", cap=3600) == 120
    assert parse_retry_after("soon", cap=3600) is None


async def test_a_host_told_to_wait_long_parks_its_tasks_and_never_holds_up_other_hosts(harnesses) -> None:  # type: ignore[no-untyped-def]
    paused, other = LocalSite(), LocalSite()
    await paused.start()
    await other.start()
    try:
        paused.route("/p/1/", flaky([web.Response(status=503, headers={"Retry-After": "99999999999"})], "p1"))
        for i in range(2, 5):
            paused.page(f"/p/{i}/", article(f"p{i}"))
        for i in range(1, 6):
            other.page(f"/o/{i}/", article(f"o{i}"))
        limits = FetchLimits(max_retry_after=2.0, attempts=2, backoff_base=0.05)
        sources = {"sources": [{"name": "s", "allowed_domains": ["127.0.0.1"], "allow_private_addresses": True,
                                "politeness": {"respect_robots": False, "min_delay": 0.2, "max_concurrency": 1}}]}
        h = harness(harnesses, sources, limits=limits, park_after=0.5)
        first = page_task(paused.base + "/p/1/", "s")
        # The first page of the paused host answers "wait 3000 years"; its other pages and
        # the other host's pages arrive while it waits.
        await h.crawler.submit(first, h._on_done)
        while not paused.hits:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)
        assert len(h.parked) == 1 and h.done == 1, "the throttled task is parked and its offset can move on"
        more = [page_task(paused.base + f"/p/{i}/", "s") for i in range(2, 5)] + [page_task(other.base + f"/o/{i}/", "s") for i in range(1, 6)]
        started = time.monotonic()
        await h.run(more, timeout=20)
    finally:
        await paused.stop()
        await other.stop()
    assert len(h.raw) == 9 and not h.dead, "every page arrives once the (capped) pause is over"
    resumed = min(hit.at for hit in paused.hits[1:])
    assert all(hit.at < resumed for hit in other.hits), "the other host finished while the paused one waited"
    assert resumed - paused.hits[0].at >= 1.9, "the paused host waited the capped Retry-After (2 s), not 3000 years"
    assert resumed - started < 10


async def test_seen_urls_are_dropped_before_they_take_a_politeness_slot(site: LocalSite, harnesses) -> None:  # type: ignore[no-untyped-def]
    # Why: 30 duplicates at 0.5 s delay took 14.6 s and blocked another host for 9.5 s.
    site.page("/robots.txt", "User-agent: *\nCrawl-delay: 0.5\n", "text/plain")
    site.page("/once/", article("once"))
    h = harness(harnesses, {"sources": [{"name": "s", "allowed_domains": ["127.0.0.1"], "allow_private_addresses": True}]})
    await h.run([page_task(site.base + "/once/", "s")])
    requests_before = len(site.hits)
    done_before = h.done
    for _ in range(30):
        await h.crawler.submit(page_task(site.base + "/once/?utm_source=x", "s"), h._on_done)
    assert h.done - done_before == 30, "each duplicate was finished at once, inside submit"
    assert h.crawler.scheduler.pending == 0 and h.crawler.scheduler.depth(f"127.0.0.1:{site.port}") == 0
    assert len(site.hits) == requests_before


async def test_pending_tasks_are_capped_per_host_so_a_slow_host_never_delays_others(harnesses) -> None:  # type: ignore[no-untyped-def]
    # Why: the pending cap was global, so one slow host delayed all others.
    slow, fast = LocalSite(), LocalSite()
    await slow.start()
    await fast.start()
    try:
        for i in range(12):
            slow.page(f"/s/{i}/", article(f"s{i}"))
        for i in range(3):
            fast.page(f"/f/{i}/", article(f"f{i}"))
        sources = {"sources": [
            {"name": "slow", "allowed_domains": ["127.0.0.1"], "allow_private_addresses": True,
             "politeness": {"respect_robots": False, "min_delay": 0.3, "max_concurrency": 1}},
        ]}
        h = harness(harnesses, sources, max_pending=8, max_pending_per_host=4, park_after=60)
        for i in range(12):
            await asyncio.wait_for(h.crawler.submit(page_task(slow.base + f"/s/{i}/", "slow"), h._on_done), timeout=1)
        depth = h.crawler.scheduler.depth(f"127.0.0.1:{slow.port}")
        assert depth == 4 and len(h.parked) >= 7 and depth + len(h.parked) + len(h.raw) == 12
        # The global budget still has room: another host's tasks are queued, not blocked.
        for i in range(3):
            await asyncio.wait_for(h.crawler.submit(page_task(fast.base + f"/f/{i}/", "slow"), h._on_done), timeout=1)
        while len(fast.hits) < 3:
            await asyncio.sleep(0.05)
        assert len(slow.hits) <= 3, "the fast host was served while the slow one had most of its pages still to go"
        for key in h.parked:
            h.crawler.later[key]["at"] = 0
        h.crawler.reindex_later()
        await h.run([], timeout=30)
    finally:
        await slow.stop()
        await fast.stop()
    assert len(h.raw) == 15 and not h.dead


async def test_changes_to_a_source_reach_tasks_already_queued(site: LocalSite, harnesses) -> None:  # type: ignore[no-untyped-def]
    for i in range(6):
        site.page(f"/q/{i}/", article(f"q{i}"))
    sources = {"sources": [{"name": "s", "allowed_domains": ["127.0.0.1"], "allow_private_addresses": True,
                            "politeness": {"respect_robots": False, "min_delay": 0.3, "max_concurrency": 1}}]}
    h = harness(harnesses, sources)
    for i in range(6):
        await h.crawler.submit(page_task(site.base + f"/q/{i}/", "s"), h._on_done)
    while len(site.hits) < 2:
        await asyncio.sleep(0.02)
    h.crawler.set_sources({}, {"s": "disabled"})
    await h.run([], timeout=10)
    assert len(site.hits) <= 3, "queued tasks of a disabled source make no more requests"
    assert h.done == 6, "and each of them is finished (its offset moves on)"
    assert h.crawler.source_for(page_task(site.base + "/q/0/", "s")) is None


async def test_a_slower_pace_set_for_a_source_holds_for_its_tasks_already_queued(site: LocalSite, harnesses) -> None:  # type: ignore[no-untyped-def]
    for i in range(8):
        site.page(f"/p/{i}/", article(f"p{i}"))
    definition = {"name": "s", "allowed_domains": ["127.0.0.1"], "allow_private_addresses": True,
                  "politeness": {"respect_robots": False, "min_delay": 0.05, "max_concurrency": 1}}
    h = harness(harnesses, {"sources": [definition]})
    for i in range(8):
        await h.crawler.submit(page_task(site.base + f"/p/{i}/", "s"), h._on_done)
    while len(site.hits) < 2:
        await asyncio.sleep(0.01)
    slower = {**definition, "politeness": {**definition["politeness"], "min_delay": 0.5}}
    active, inactive = apply_source_changes(h.crawler.sources_file, {"s": {"state": "active", "source": slower}})
    changed_at = time.monotonic()
    h.crawler.set_sources(active, inactive)
    await h.run([], timeout=20)
    assert len(h.raw) == 8
    after = [hit.at for hit in site.hits if hit.at > changed_at]
    assert len(after) >= 4, "most of the queued tasks ran after the change"
    later_gaps = [b - a for a, b in zip(after, after[1:])]
    assert min(later_gaps) >= 0.45, f"queued tasks kept the old pace: {later_gaps}"
