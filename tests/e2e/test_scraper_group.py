"""Two scraper processes in one consumer group: they split the hosts, fetch no page twice, both
learn a source added at run time (the global `sources` table), and when one stops, the other
takes its partitions over with their crawl state."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from services.common.ids import article_id
from devtools.devstack.pipeline import free_port
from devtools.devstack.processes import ManagedProcess, wait_http_ok
from devtools.devstack.stack import Stack, StackConfig
from devtools.samplesite.crowd import article_path
from services.scraper.decisions import dedup_key
from tests.e2e.conftest import RunningCrowd, crowd_running, metric_samples, newsflow
from tests.helpers import eventually, read_topic

pytestmark = pytest.mark.slow

# The scraper starts without sources; run-time sources get these defaults (Crawl-delay governs).
NO_SOURCES = {"defaults": {"poll_interval": 3600, "politeness": {"min_delay": 0.0, "max_concurrency": 1}}, "sources": []}

HOSTS, PAGES, CRAWL_DELAY = 12, 8, 0.2


@dataclass
class Group:
    crowd: RunningCrowd
    second: ManagedProcess
    second_port: int

    @property
    def ports(self) -> dict[str, int]:
        return {"first": self.crowd.pipeline.ports["scraper"], "second": self.second_port}


@pytest.fixture(scope="module")
def group(stack: Stack, stack_config: StackConfig, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Group]:
    run_dir = tmp_path_factory.mktemp("group")
    # The crowd's last host answers its first article with Retry-After: 99999999999; capped at
    # 3 s and parked after 1 s here, so its tasks go round through the `later` state.
    env = {"NEWSFLOW_SCRAPER_MAX_RETRY_AFTER": "3", "NEWSFLOW_SCRAPER_PARK_AFTER": "1", "NEWSFLOW_SCRAPER_REFETCH_SCAN_INTERVAL": "1"}
    with crowd_running(stack_config, run_dir, hosts=HOSTS, pages=PAGES, crawl_delay=CRAWL_DELAY, sources=NO_SOURCES,
                       extra_env=env) as crowd:
        port = free_port()
        second = ManagedProcess("scraper-b", run_dir, module="services.scraper")
        # Its own data folder (RocksDB allows one process per database) and HTTP port.
        second.start({**crowd.pipeline.env("scraper"), "NEWSFLOW_DATA_DIR": str(run_dir / "data-b"),
                      "NEWSFLOW_SCRAPER_HTTP_PORT": str(port)})
        assert wait_http_ok(f"http://127.0.0.1:{port}/readyz", 180), "the second scraper did not become ready"
        yield Group(crowd, second, port)


def frontier_partitions(group: Group, port: int) -> set[int]:
    topic = group.crowd.topic("news.crawl.frontier.v1")
    return {int(labels["partition"]) for labels, _ in metric_samples(port, "newsflow_consumer_lag") if labels["topic"] == topic}


def fetched_hosts(port: int) -> set[str]:
    """Crowd hosts this scraper fetched pages of (its fetch metrics label hosts of known sources only)."""
    samples = metric_samples(port, "newsflow_scraper_fetches_total")
    return {labels["host"].split(":")[0] for labels, value in samples if labels["kind"] == "page" and value > 0}


async def test_two_scrapers_share_the_work_and_both_learn_a_run_time_source(group: Group, tmp_path: Path) -> None:
    async def split() -> bool:
        first, second = (frontier_partitions(group, port) for port in group.ports.values())
        return bool(first) and bool(second) and not first & second and first | second == {0, 1, 2, 3}

    await eventually(split, timeout=120, interval=1, what="the frontier's partitions split between the two scrapers")

    path = tmp_path / "crowd.yaml"
    path.write_text(yaml.safe_dump(group.crowd.site.sources(poll_interval=3600)))
    result = newsflow(group.crowd.pipeline, "crawl", "--add-source", str(path))
    assert result.returncode == 0, result.stderr

    crowd = group.crowd
    wanted = {article_id(dedup_key(url)) for url in crowd.site.article_urls()}
    raw_topic = crowd.topic("news.pages.raw.v1")

    async def all_published() -> bool:
        return wanted <= {k.decode() for k, _ in await read_topic(crowd.pipeline.stack.kafka_bootstrap, raw_topic, idle=0.5) if k}

    await eventually(all_published, timeout=240, interval=2, what=f"all {len(wanted)} crowd articles published")

    for name in crowd.site.plans:
        paths = [e["path"] for e in crowd.requests(name)]
        assert paths.count("/feed.xml") == 1 and paths.count("/sitemap.xml") == 1, f"{name}: polled once by the group"
        articles = sorted(e["path"] for e in crowd.requests(name) if e["path"].startswith("/news/") and e["status"] == 200)
        assert articles == sorted(article_path(i) for i in range(PAGES)), f"{name}: every page fetched once by the group"
    raw = await read_topic(crowd.pipeline.stack.kafka_bootstrap, raw_topic)
    assert len(raw) == len(wanted), "no page published twice"
    sources = {json.loads(v)["source"] for _, v in raw if v}
    assert sources == {name.split(".")[0] for name in crowd.site.plans}, "both scrapers crawled with the run-time sources"

    by_first, by_second = (fetched_hosts(port) for port in group.ports.values())
    assert by_first and by_second, "both scrapers fetched pages"
    assert not by_first & by_second, "a host belongs to one scraper"
    assert by_first | by_second == set(crowd.site.plans)

    # The second one stops: the first takes its partitions over, with the state it wrote.
    group.second.stop()

    async def took_over() -> bool:
        return frontier_partitions(group, group.ports["first"]) == {0, 1, 2, 3}

    await eventually(took_over, timeout=120, interval=1, what="the first scraper owning every frontier partition")
    host = sorted(by_second)[0]
    url = crowd.site.base(host) + article_path(0)
    before = len(crowd.requests(host, article_path(0)))
    dedup = "newsflow_scraper_dedup_hits_total"
    hits_before = sum(v for _, v in metric_samples(group.ports["first"], dedup))
    result = newsflow(crowd.pipeline, "crawl", url)
    assert result.returncode == 0, result.stderr

    async def skipped_as_known() -> bool:
        return sum(v for _, v in metric_samples(group.ports["first"], dedup)) > hits_before

    await eventually(skipped_as_known, timeout=60, interval=0.5, what="the page fetched by the other scraper skipped as known")
    assert len(crowd.requests(host, article_path(0))) == before, "a page the other scraper fetched is not fetched again"
