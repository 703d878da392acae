"""A crawl at realistic shape, through the running scraper and the whole pipeline.

20 generated hosts (devtools/samplesite/crowd.py) with Crawl-delay in robots.txt, feeds
and sitemap indexes, two slow hosts, three with 503 bursts and one that answers
`Retry-After: 99999999999`. The crowd logs every request; from that log the test
checks that every host's request gaps respect its Crawl-delay, retries included, and
that hosts progressed in parallel. A structural check with generous margins, not a
timing benchmark (bench/bench_crowd.py is the full version).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from elasticsearch import AsyncElasticsearch

from services.common.ids import article_id
from devtools.devstack.stack import Stack, StackConfig
from services.scraper.decisions import dedup_key
from tests.e2e.conftest import RunningCrowd, crowd_running
from tests.helpers import all_indexed, eventually, indexed_count

pytestmark = pytest.mark.slow

HOSTS, PAGES, DELAY, MAX_RETRY_AFTER = 20, 5, 0.3, 3.0


@pytest.fixture(scope="module")
def crowd(stack: Stack, stack_config: StackConfig, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCrowd]:
    env = {"NEWSFLOW_SCRAPER_MAX_RETRY_AFTER": str(MAX_RETRY_AFTER), "NEWSFLOW_SCRAPER_PARK_AFTER": "1",
           "NEWSFLOW_SCRAPER_BACKOFF_BASE": "0.5", "NEWSFLOW_SCRAPER_GLOBAL_CONCURRENCY": "32",
           "NEWSFLOW_SCRAPER_REFETCH_SCAN_INTERVAL": "1"}
    with crowd_running(stack_config, tmp_path_factory.mktemp("crowd"), hosts=HOSTS, pages=PAGES, crawl_delay=DELAY,
                       slow_hosts=2, slow_seconds=0.3, burst_hosts=3, extra_env=env,
                       services=("scraper", "parser", "enrichment", "indexer")) as running:
        yield running


async def test_many_hosts_are_crawled_politely_in_parallel_and_indexed_once(crowd: RunningCrowd, es: AsyncElasticsearch) -> None:
    expected = [article_id(dedup_key(url)) for url in crowd.site.article_urls()]
    assert len(set(expected)) == HOSTS * PAGES
    await eventually(lambda: all_indexed(es, crowd.pipeline.alias, expected), timeout=300, interval=2,
                     what=f"all {len(expected)} crowd articles indexed")
    assert await indexed_count(es, crowd.pipeline.alias) == len(expected), "every article once, nothing extra"
    # The crawl state is on disk, in RocksDB (one database per frontier partition), not in memory.
    databases = list((crowd.run_dir / "data").glob("*.newsflow-scraper/crawl-state/frontier-*/CURRENT"))
    assert len(databases) == 4, f"RocksDB crawl state: {databases}"

    log = crowd.requests()
    by_host: dict[str, list[dict]] = {}  # type: ignore[type-arg]
    for entry in log:
        by_host.setdefault(entry["host"], []).append(entry)
    plans = crowd.site.plans
    assert set(by_host) == set(plans), "every host was crawled"
    for host, entries in by_host.items():
        assert entries[0]["path"] == "/robots.txt", f"{host}: robots.txt comes first"
        times = [e["t"] for e in entries]
        gaps = [b - a for a, b in zip(times, times[1:])]
        # Arrival times at the server: a few milliseconds of jitter around the scheduler's starts.
        assert min(gaps) >= plans[host].crawl_delay - 0.05, f"{host}: gaps {sorted(gaps)[:5]} below Crawl-delay {plans[host].crawl_delay}"
    statuses = [e["status"] for e in log]
    assert statuses.count(503) >= 4, "the bursty hosts and the long Retry-After answered 503 — and were retried"
    waiting_host = max(plans)
    articles = [e for e in by_host[waiting_host] if e["path"] == "/news/0000/"]
    assert articles[0]["status"] == 503 and articles[1]["status"] == 200
    pause = articles[1]["t"] - articles[0]["t"]
    assert MAX_RETRY_AFTER - 0.1 <= pause < 60, f"Retry-After: 99999999999 was capped to {MAX_RETRY_AFTER}s, waited {pause:.1f}s"

    # Parallel, not one host after another: the crawl takes about the slowest host's
    # requests × its delay, far from the sum over hosts.
    bounds = {host: (len(entries) - 1) * plans[host].crawl_delay for host, entries in by_host.items()}
    bounds[waiting_host] += MAX_RETRY_AFTER
    wall = max(e["t"] for e in log) - min(e["t"] for e in log)
    slowest, total = max(bounds.values()), sum(bounds.values())
    print(f"crowd crawl: {len(log)} requests, wall {wall:.1f}s, slowest host's bound {slowest:.1f}s, sum of bounds {total:.1f}s")
    assert wall < total / 3, f"hosts were not crawled in parallel: {wall:.1f}s against a sum of {total:.1f}s"
    assert wall < 3 * slowest + 20, f"{wall:.1f}s is far above the slowest host's bound of {slowest:.1f}s"
