"""A rebalance gives up the crawler's unfinished tasks: queued ones at once, requests under way
after the grace period, publishing ones only once they are done; none is acknowledged, nothing
is published twice. Real local HTTP servers, no Kafka (the wiring is tested in tests/e2e)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from services.scraper.crawler import page_task
from tests.helpers import eventually
from tests.services.scraper.conftest import CrawlHarness, LocalSite, make_harness
from tests.services.scraper.test_crawler_http import article

PAGES = [f"/p/{i}/" for i in range(10)]


def one_at_a_time(site: LocalSite) -> dict:  # type: ignore[type-arg]
    return {
        "sources": [{"name": "local", "feeds": [], "allowed_domains": ["127.0.0.1"], "allow_private_addresses": True,
                     "politeness": {"min_delay": 0.05, "max_concurrency": 1}}],
    }


def harness(harnesses: list[CrawlHarness], site: LocalSite) -> CrawlHarness:
    h = make_harness(one_at_a_time(site))
    harnesses.append(h)
    return h


def page_hits(site: LocalSite) -> list[str]:
    return [hit.path for hit in site.hits if hit.path != "/robots.txt"]


async def test_queued_tasks_are_dropped_and_a_hanging_request_is_cancelled(site: LocalSite, harnesses) -> None:  # type: ignore[no-untyped-def]
    release = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(text=article("slow"), content_type="text/html")

    site.route("/slow/", hang)
    for path in PAGES:
        site.page(path, article(path))
    h = harness(harnesses, site)
    for path in ["/slow/", *PAGES]:
        await h.crawler.submit(page_task(site.base + path, "local"), h._on_done)

    async def slow_under_way() -> bool:
        return page_hits(site) == ["/slow/"]

    await eventually(slow_under_way, timeout=10, interval=0.02, what="the hanging request under way")
    dropped = await h.crawler.drop_tasks(grace=0.3)

    assert (dropped.queued, dropped.finished, dropped.cancelled) == (len(PAGES), 0, 1)
    assert h.done == 0, "no dropped task is acknowledged (the partition's next owner reads it again)"
    assert h.crawler.scheduler.pending == 0, "the dropped tasks gave their room back"
    release.set()
    await asyncio.sleep(0.3)
    assert page_hits(site) == ["/slow/"], "no queued page was requested after the drop"
    assert h.raw == [] and h.seen == {}, "nothing published or recorded for the dropped tasks"

    # While the rebalance runs, new tasks are refused (unacknowledged) too; afterwards they run.
    await h.crawler.submit(page_task(site.base + PAGES[0], "local"), h._on_done)
    assert h.done == 0 and h.crawler.scheduler.pending == 0
    h.crawler.resume()
    await h.run([page_task(site.base + PAGES[0], "local")])
    assert [r.url for r in h.raw] == [site.base + PAGES[0]] and h.done == 1


async def test_a_task_publishing_its_page_finishes_before_the_drop_returns(site: LocalSite, harnesses) -> None:  # type: ignore[no-untyped-def]
    site.page("/a/", article("a"))
    site.page("/b/", article("b"))
    h = harness(harnesses, site)
    publishing, release = asyncio.Event(), asyncio.Event()
    published: list[bytes] = []

    async def slow_publish(key: bytes, value: bytes) -> None:
        publishing.set()
        await release.wait()  # the broker's confirmation takes its time
        published.append(key)

    h.crawler.publish_raw = slow_publish
    await h.crawler.submit(page_task(site.base + "/a/", "local"), h._on_done)
    await h.crawler.submit(page_task(site.base + "/b/", "local"), h._on_done)
    await asyncio.wait_for(publishing.wait(), 10)

    drop = asyncio.ensure_future(h.crawler.drop_tasks(grace=0.0))
    await asyncio.sleep(0.3)
    assert not drop.done(), "the drop waits for the task that is publishing (grace 0 or not)"
    release.set()
    dropped = await asyncio.wait_for(drop, 10)

    assert (dropped.queued, dropped.finished, dropped.cancelled) == (1, 1, 0)
    assert len(published) == 1 and h.done == 1, "the publishing task finished: published once and acknowledged"
    assert any(value.get("u", "").endswith("/a/") for value in h.seen.values()), "its page is recorded as seen"
    assert page_hits(site) == ["/a/"], "the queued task never reached the site"


async def test_a_request_that_answers_within_the_grace_period_is_finished(site: LocalSite, harnesses) -> None:  # type: ignore[no-untyped-def]
    async def slowish(request: web.Request) -> web.Response:
        await asyncio.sleep(0.3)
        return web.Response(text=article("slowish"), content_type="text/html")

    site.route("/slowish/", slowish)
    h = harness(harnesses, site)
    await h.crawler.submit(page_task(site.base + "/slowish/", "local"), h._on_done)

    async def under_way() -> bool:
        return page_hits(site) == ["/slowish/"]

    await eventually(under_way, timeout=10, interval=0.02, what="the request under way")
    dropped = await h.crawler.drop_tasks(grace=5.0)
    assert (dropped.queued, dropped.finished, dropped.cancelled) == (0, 1, 0)
    assert len(h.raw) == 1 and h.done == 1, "fetched once, published once, acknowledged: its next owner skips it"
