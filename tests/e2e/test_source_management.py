"""Sources managed at run time (`newsflow crawl --add-source/--remove-source/--disable-source/
--enable-source`), against the running scraper and the crowd site's request log.

The scraper starts with no sources; each test adds its own crowd host, so the tests do not
see each other's traffic.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.common.ids import article_id
from devtools.devstack.stack import Stack, StackConfig
from devtools.samplesite.crowd import article_path
from services.scraper.decisions import dedup_key
from tests.e2e.conftest import RunningCrowd, crowd_running, metric_samples, newsflow
from tests.helpers import dead_letters, eventually, read_topic

pytestmark = pytest.mark.slow

# The scraper starts without sources; run-time sources get these defaults (Crawl-delay governs).
NO_SOURCES = {"defaults": {"poll_interval": 3600, "politeness": {"min_delay": 0.0, "max_concurrency": 1}}, "sources": []}

HOSTS, PAGES, CRAWL_DELAY = 5, 30, 0.25


@pytest.fixture(scope="module")
def crowd(stack: Stack, stack_config: StackConfig, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCrowd]:
    with crowd_running(stack_config, tmp_path_factory.mktemp("sources"), hosts=HOSTS, pages=PAGES, crawl_delay=CRAWL_DELAY,
                       sources=NO_SOURCES) as running:
        yield running


def host(index: int) -> str:
    return f"h{index:02d}.crowd.test"


def add_source(crowd: RunningCrowd, tmp_path: Path, index: int, *, poll_interval: float = 3600, min_delay: float | None = None) -> str:
    """Add crowd host `index` as a source at run time; returns the source's name."""
    (definition,) = [s for s in crowd.site.sources()["sources"] if s["allowed_domains"] == [host(index)]]
    definition = {**definition, "poll_interval": poll_interval}
    if min_delay is not None:
        definition["politeness"] = {"min_delay": min_delay, "max_concurrency": 1}
    path = tmp_path / f"{definition['name']}-{poll_interval}-{min_delay}.yaml"
    path.write_text(yaml.safe_dump({"sources": [definition]}))
    result = newsflow(crowd.pipeline, "crawl", "--add-source", str(path))
    assert result.returncode == 0, result.stderr
    return str(definition["name"])


def change(crowd: RunningCrowd, flag: str, name: str) -> None:
    result = newsflow(crowd.pipeline, "crawl", flag, name)
    assert result.returncode == 0, result.stderr


async def published(crowd: RunningCrowd, index: int) -> int:
    """How many of host `index`'s articles are on the raw-page topic."""
    wanted = {article_id(dedup_key(crowd.site.base(host(index)) + article_path(i))) for i in range(PAGES)}
    keys = {k.decode() for k, _ in await read_topic(crowd.pipeline.stack.kafka_bootstrap, crowd.topic("news.pages.raw.v1"), idle=0.5) if k}
    return len(wanted & keys)


def articles_fetched(crowd: RunningCrowd, index: int) -> list[dict[str, Any]]:
    return [e for e in crowd.requests(host(index)) if e["path"].startswith("/news/")]


def skipped(crowd: RunningCrowd, source: str, reason: str) -> float:
    samples = metric_samples(crowd.pipeline.ports["scraper"], "newsflow_scraper_tasks_skipped_total")
    return sum(value for labels, value in samples if labels["source"] == source and labels["reason"] == reason)


async def all_published(crowd: RunningCrowd, index: int) -> None:
    async def done() -> bool:
        return await published(crowd, index) == PAGES

    await eventually(done, timeout=180, interval=1, what=f"all {PAGES} pages of {host(index)} published")


async def fetching(crowd: RunningCrowd, index: int, pages: int) -> None:
    async def under_way() -> bool:
        return len(articles_fetched(crowd, index)) >= pages

    await eventually(under_way, timeout=120, interval=0.2, what=f"{pages} pages of {host(index)} fetched")


async def dropped(crowd: RunningCrowd, source: str, reason: str) -> None:
    async def counted() -> float:
        return skipped(crowd, source, reason)

    await eventually(counted, timeout=30, interval=0.5, what=f"queued tasks of {source} dropped as {reason}")


async def test_an_added_source_is_polled_exactly_once(crowd: RunningCrowd, tmp_path: Path) -> None:
    add_source(crowd, tmp_path, 0)
    await all_published(crowd, 0)
    await asyncio.sleep(4)  # several more ticks of the poll timer
    assert len(crowd.requests(host(0), "/feed.xml")) == 1, "the feed was polled once"
    assert len(crowd.requests(host(0), "/sitemap.xml")) == 1, "the sitemap index was polled once"
    assert len(crowd.requests(host(0), "/robots.txt")) == 1
    paths = [e["path"] for e in articles_fetched(crowd, 0)]
    assert sorted(paths) == sorted(article_path(i) for i in range(PAGES)), "every page fetched once"


async def test_removing_a_source_stops_its_polls_and_drops_its_queued_tasks(crowd: RunningCrowd, tmp_path: Path) -> None:
    # Polled every 5 s, one page every 0.6 s: 30 pages take ~18 s, so most are queued at the removal.
    name = add_source(crowd, tmp_path, 1, poll_interval=5, min_delay=0.6)
    await fetching(crowd, 1, 4)
    assert len(crowd.requests(host(1), "/feed.xml")) >= 1
    change(crowd, "--remove-source", name)
    await dropped(crowd, name, "source-removed")
    at_removal = len(crowd.requests(host(1)))
    await asyncio.sleep(11)  # more than two poll intervals
    assert len(crowd.requests(host(1))) <= at_removal + 1, "no requests after the removal (one may have been under way)"
    assert len(articles_fetched(crowd, 1)) < PAGES and await published(crowd, 1) < PAGES, "its queued tasks were dropped"
    change(crowd, "--remove-source", "no-such-source")

    async def refused() -> bool:
        letters = await dead_letters(crowd.pipeline.stack.kafka_bootstrap, crowd.topic("news.deadletter.v1"))
        return any(d.get("reason") == "unknown-source" and "no-such-source" in d.get("detail", "") for d in letters)

    await eventually(refused, timeout=30, interval=1, what="a request for an unknown source dead-lettered as unknown-source")


async def test_a_disabled_source_pauses_and_an_enabled_one_resumes_at_once(crowd: RunningCrowd, tmp_path: Path) -> None:
    name = add_source(crowd, tmp_path, 2, min_delay=0.6)
    await fetching(crowd, 2, 4)
    change(crowd, "--disable-source", name)
    await dropped(crowd, name, "source-disabled")
    at_disable = len(crowd.requests(host(2)))
    await asyncio.sleep(4)
    assert len(crowd.requests(host(2))) <= at_disable + 1, "a disabled source makes no requests"
    assert len(crowd.requests(host(2), "/feed.xml")) == 1

    change(crowd, "--enable-source", name)
    # Its poll interval is an hour: enabling polls it now, and the dropped pages come back.
    async def polled_again() -> bool:
        return len(crowd.requests(host(2), "/feed.xml")) >= 2

    await eventually(polled_again, timeout=30, interval=0.5, what="the enabled source polled again")
    await all_published(crowd, 2)
    fetched = [e["path"] for e in articles_fetched(crowd, 2)]
    assert len(fetched) == len(set(fetched)), "no page fetched twice across the pause"


async def test_a_changed_source_paces_its_tasks_already_queued(crowd: RunningCrowd, tmp_path: Path) -> None:
    add_source(crowd, tmp_path, 3, min_delay=0.3)
    await fetching(crowd, 3, 3)
    add_source(crowd, tmp_path, 3, min_delay=1.5)  # the same source, slower
    changed_at = crowd.requests(host(3))[-1]["t"]
    await all_published(crowd, 3)
    # Give the change a moment to arrive (a Kafka round trip), then every gap is the new one.
    after = [e["t"] for e in crowd.requests(host(3)) if e["t"] > changed_at + 2.0]
    gaps = [b - a for a, b in zip(after, after[1:])]
    assert len(gaps) >= 5, "tasks queued before the change ran after it"
    assert min(gaps) >= 1.5 - 0.05, f"the queued tasks kept the old pace: {sorted(gaps)[:3]}"
    assert len(crowd.requests(host(3), "/feed.xml")) == 1, "a change to an active source does not poll it again"

