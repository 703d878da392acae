"""The hostile corpus crawled from a local server by the running pipeline (scraper → parser →
enrichment → indexer): every page ends as an article or a dead letter, no service crashes,
restarts or stalls, none goes over its memory bound, and the good article after each hostile
page is indexed."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
import pytest
from elasticsearch import AsyncElasticsearch

from services.common.ids import article_id
from devtools.devstack.pipeline import Pipeline, free_port
from devtools.devstack.procinfo import MemoryWatch
from devtools.devstack.processes import ManagedProcess, stop_all, wait_http_ok
from devtools.devstack.stack import Stack, StackConfig
from services.scraper.decisions import dedup_key
from tests.helpers import all_indexed, dead_letters, eventually
from tests.hostile.pages import PAGES

pytestmark = pytest.mark.slow

SERVICES = ("scraper", "parser", "enrichment", "indexer")
GIB_KIB = 1024 * 1024


@pytest.fixture(scope="module")
def hostile_pipeline(stack: Stack, stack_config: StackConfig, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Pipeline, str]]:
    run_dir = tmp_path_factory.mktemp("hostile")
    port = free_port()
    server = ManagedProcess("hostile-site", run_dir, module="tests.hostile.server")
    server.start({}, ["--port", str(port)])
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_http_ok(base + "/robots.txt", 60), "the hostile site did not start"
        namespace = f"h{uuid.uuid4().hex[:8]}"
        pipeline = Pipeline(stack_config, namespace=namespace, alias=f"{namespace}-articles", run_dir=run_dir,
                            extra_env={"NEWSFLOW_LOG_LEVEL": "INFO"})
        pipeline.write_sources({
            "user_agent": "newsflow-test/0.1",
            "defaults": {"poll_interval": 3600, "politeness": {"min_delay": 0.02, "max_concurrency": 2}},
            "sources": [{"name": "hostile", "sitemaps": [base + "/sitemap.xml"], "allowed_domains": ["127.0.0.1"],
                         "language": "ru", "allow_private_addresses": True}],
        })
        pipeline.start(SERVICES)
        pipeline.wait_ready(SERVICES, timeout=240)
        yield pipeline, base
    finally:
        stop_all(run_dir)


async def test_every_hostile_page_ends_as_an_article_or_a_dead_letter(
    hostile_pipeline: tuple[Pipeline, str], stack_config: StackConfig, es: AsyncElasticsearch
) -> None:
    pipeline, base = hostile_pipeline
    pids = {s: pipeline.process(s).pid() for s in SERVICES}
    assert all(pids.values()), pids
    hostile = {article_id(dedup_key(f"{base}/hostile/{p.name}")): p for p in PAGES}
    good = [article_id(dedup_key(f"{base}/good/{n}")) for n in range(len(PAGES))]
    dlq = f"{pipeline.namespace}.news.deadletter.v1"

    async def settled() -> bool:
        if not await all_indexed(es, pipeline.alias, good):
            return False
        letters = {r.get("article_id") or article_id(dedup_key(r["url"])) for r in await dead_letters(stack_config.kafka_bootstrap, dlq) if r.get("url") or r.get("article_id")}
        await es.indices.refresh(index=pipeline.alias)
        indexed = {h["_id"] for h in (await es.search(index=pipeline.alias, size=500, query={"ids": {"values": list(hostile)}}, source=False))["hits"]["hits"]}
        return all(aid in letters or aid in indexed for aid in hostile)

    started = time.monotonic()
    with MemoryWatch(pids) as memory:
        await eventually(settled, timeout=900, interval=5, what="every hostile page indexed or dead-lettered, every good page indexed")
    elapsed = time.monotonic() - started

    # No service died, restarted or stopped on the way.
    assert {s: pipeline.process(s).pid() for s in SERVICES} == pids
    records = await dead_letters(stack_config.kafka_bootstrap, dlq)
    reasons = {r["reason"] for r in records}
    assert not reasons & {"timeout", "worker-crashed", "unexpected-error"}, [r for r in records if r["reason"] in ("timeout", "worker-crashed", "unexpected-error")]
    for service in ("scraper", "parser", "indexer"):
        assert memory.peaks[service].peak_pss_kib < GIB_KIB, (service, memory.peaks)
    assert all(peak.peak_rss_kib < GIB_KIB for peak in memory.peaks.values()), memory.peaks
    print(f"\nhostile corpus through the pipeline: {len(PAGES)} pages + {len(good)} good ones in {elapsed:.0f} s; "
          f"peak PSS per service (MiB): { {s: p.peak_pss_kib // 1024 for s, p in memory.peaks.items()} }; "
          f"dead letters by reason: { {r: sum(1 for x in records if x['reason'] == r) for r in sorted(reasons)} }")
