"""A crawl at realistic shape: many hosts at once, politeness on every request, wall time.

The crowd site (devtools/samplesite/crowd.py) serves `--hosts` hosts × `--pages` articles
on one local port, each host with a Crawl-delay (±20 % around `--crawl-delay`), a feed and
a sitemap index; some hosts are slow, some answer 503 in bursts, one answers its first
article with `Retry-After: 99999999999` (the scraper caps it at `--max-retry-after`). The
real scraper process (default settings otherwise) crawls it into a real Kafka; the benchmark
waits until every article is on the raw-page topic, then reads the site's request log:

- wall time of the crawl (first request to last) against the politeness bound, the slowest
  host's requests × its Crawl-delay (plus the capped Retry-After for the host that sent it),
  and against the sum of all hosts' bounds (what crawling one host after another would take);
- per host, the smallest gap between two requests (retries included) against its Crawl-delay.

    python -m bench.bench_crowd [--hosts 20] [--pages 100] [--crawl-delay 0.5]

Needs Kafka: the benchmark starts its own (bench/stack.py, port 29092 or NEWSFLOW_BENCH_KAFKA_PORT).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import yaml
from aiokafka import AIOKafkaConsumer
from prometheus_client.parser import text_string_to_metric_families

from bench.scoring import markdown_table
from schemas.topics import CATALOGUE, RAW_PAGES, topic_name
from services.common.admin import ensure_topics
from services.common.ids import article_id
from services.common.settings import KafkaSettings
from devtools.devstack.pipeline import free_port
from devtools.devstack.processes import ManagedProcess, stop_all, wait_http_ok, wait_listening
from devtools.samplesite.crowd import CrowdSite, plan_hosts, read_log
from services.scraper.decisions import dedup_key

SLOW_HOSTS, SLOW_SECONDS, BURST_HOSTS = 2, 0.3, 3
# Request arrival times at the site carry a few milliseconds of scheduling jitter.
GAP_TOLERANCE = 0.05


async def wait_published(bootstrap: str, topic: str, wanted: set[str], timeout: float) -> float:
    """Seconds until every wanted article id is on `topic` (keys)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False, group_id=None)
    await consumer.start()
    started = time.monotonic()
    missing = set(wanted)
    try:
        while missing:
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"{len(missing)} of {len(wanted)} articles not published within {timeout:.0f}s")
            batch = await consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                for record in records:
                    if record.key:
                        missing.discard(record.key.decode())
    finally:
        await consumer.stop()
    return time.monotonic() - started


def scraper_counters(port: int) -> dict[str, float]:
    """Parked tasks by reason and retries by kind, from the scraper's /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    counters: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "newsflow_scraper_tasks_parked_total":
                key = f"parked {sample.labels['reason']}"
            elif sample.name == "newsflow_scraper_retries_total":
                key = f"retried ({sample.labels['kind']})"
            else:
                continue
            counters[key] = counters.get(key, 0.0) + sample.value
    return counters


def analyse(log: list[dict[str, Any]], site: CrowdSite, max_retry_after: float) -> dict[str, Any]:
    by_host: dict[str, list[dict[str, Any]]] = {}
    for entry in log:
        by_host.setdefault(entry["host"], []).append(entry)
    plans = site.plans
    waiting = [name for name, plan in plans.items() if plan.long_retry_after]
    bounds = {host: (len(entries) - 1) * plans[host].crawl_delay for host, entries in by_host.items()}
    for host in waiting:
        bounds[host] += max_retry_after
    margins = {}
    for host, entries in by_host.items():
        times = [e["t"] for e in entries]
        gaps = [b - a for a, b in zip(times, times[1:])]
        margins[host] = (min(gaps) if gaps else float("inf")) - plans[host].crawl_delay
    worst = min(margins, key=margins.get)  # type: ignore[arg-type]
    statuses = [e["status"] for e in log]
    retried_503 = sum(1 for host, entries in by_host.items() for a, b in zip(entries, entries[1:])
                      if a["status"] == 503 and b["path"] == a["path"])
    return {
        "requests": len(log), "hosts": len(by_host), "wall": max(e["t"] for e in log) - min(e["t"] for e in log),
        "slowest_bound": max(bounds.values()), "slowest_host": max(bounds, key=bounds.get),  # type: ignore[arg-type]
        "sum_bounds": sum(bounds.values()), "worst_host": worst, "worst_margin": margins[worst],
        "worst_delay": plans[worst].crawl_delay, "min_gap": margins[worst] + plans[worst].crawl_delay,
        "responses_503": statuses.count(503), "retried_503": retried_503,
        "violations": sorted(h for h, m in margins.items() if m < -GAP_TOLERANCE),
    }


async def run(hosts: int = 20, pages: int = 100, crawl_delay: float = 0.5, max_retry_after: float = 60.0) -> dict[str, Any]:
    from bench.stack import bench_component
    from devtools.devstack.stack import Kafka

    plans = plan_hosts(hosts, crawl_delay=crawl_delay, slow_hosts=SLOW_HOSTS, slow_seconds=SLOW_SECONDS, burst_hosts=BURST_HOSTS)
    run_dir = Path(tempfile.mkdtemp(prefix="bench-crowd-"))
    async with bench_component(Kafka) as cfg:
        bootstrap = cfg.kafka_bootstrap
        namespace = f"c{uuid.uuid4().hex[:8]}"
        await ensure_topics(KafkaSettings(bootstrap=bootstrap, topic_namespace=namespace), CATALOGUE)
        port = free_port()
        site = CrowdSite(plans, pages, port=port)
        log = run_dir / "requests.jsonl"
        sources = run_dir / "sources.yaml"
        sources.write_text(yaml.safe_dump(site.sources(), sort_keys=False))
        try:
            ManagedProcess("crowd", run_dir, module="devtools.samplesite.crowd").start(
                {}, ["--hosts", str(hosts), "--pages", str(pages), "--port", str(port), "--crawl-delay", str(crawl_delay),
                     "--slow-hosts", str(SLOW_HOSTS), "--slow-seconds", str(SLOW_SECONDS), "--burst-hosts", str(BURST_HOSTS),
                     "--log", str(log)])
            if not await asyncio.to_thread(wait_listening, port, 30):
                raise RuntimeError("the crowd site did not start")
            http_port = free_port()
            ManagedProcess("scraper", run_dir).start({
                "NEWSFLOW_KAFKA_BOOTSTRAP": bootstrap, "NEWSFLOW_KAFKA_TOPIC_NAMESPACE": namespace,
                "NEWSFLOW_SCRAPER_SOURCES_FILE": str(sources), "NEWSFLOW_DATA_DIR": str(run_dir / "data"),
                "NEWSFLOW_SCRAPER_HTTP_PORT": str(http_port), "NEWSFLOW_LOG_LEVEL": "WARNING",
                "NEWSFLOW_SCRAPER_PINNED_HOSTS": site.pinned(), "NEWSFLOW_SCRAPER_MAX_RETRY_AFTER": str(max_retry_after),
                "NEWSFLOW_SCRAPER_REFETCH_SCAN_INTERVAL": "1",
            })
            if not await asyncio.to_thread(wait_http_ok, f"http://127.0.0.1:{http_port}/readyz", 300):
                raise RuntimeError("the scraper did not become ready")
            wanted = {article_id(dedup_key(url)) for url in site.article_urls()}
            published_s = await wait_published(bootstrap, topic_name(RAW_PAGES, namespace), wanted, timeout=1800)
            counters = scraper_counters(http_port)
        finally:
            stop_all(run_dir)
        result = analyse(read_log(log), site, max_retry_after)
        result["published_s"] = published_s
        result["counters"] = counters
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(run_dir, ignore_errors=True)

    r = result
    rows = [
        ["crawl wall time (first request → last)", f"{r['wall']:.1f} s"],
        ["from ready to every article published", f"{r['published_s']:.1f} s"],
        [f"politeness bound: slowest host ({r['slowest_host']}: requests × Crawl-delay, + capped Retry-After)", f"{r['slowest_bound']:.1f} s"],
        ["wall / politeness bound", f"{r['wall'] / r['slowest_bound']:.2f}"],
        ["sum of all hosts' bounds (one host after another)", f"{r['sum_bounds']:.1f} s"],
        ["wall / sum of bounds", f"{r['wall'] / r['sum_bounds']:.3f}"],
        ["requests (robots.txt, feeds, sitemaps, pages, retries)", f"{r['requests']:,}"],
        ["503 answers / retried on the same path", f"{r['responses_503']} / {r['retried_503']}"],
        [f"smallest gap between two requests to one host, retries included ({r['worst_host']})",
         f"{r['min_gap']:.3f} s against a Crawl-delay of {r['worst_delay']:.3f} s"],
        ["hosts with a gap below their Crawl-delay (−50 ms arrival jitter allowed)", ", ".join(r["violations"]) or "none"],
        ["tasks parked / retried (scraper metrics)", ", ".join(f"{k}: {v:.0f}" for k, v in sorted(r["counters"].items())) or "none"],
    ]
    text = (f"Crowd crawl: {hosts} hosts × {pages} articles, Crawl-delay {crawl_delay} s ±20 %, {SLOW_HOSTS} slow hosts "
            f"({SLOW_SECONDS} s per answer), {BURST_HOSTS} with 503 bursts, one `Retry-After: 99999999999` capped at "
            f"{max_retry_after:.0f} s; one scraper process, real Kafka:\n\n" + markdown_table(["measure", "value"], rows))
    return {**result, "markdown": text}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_crowd")
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--crawl-delay", type=float, default=0.5)
    parser.add_argument("--max-retry-after", type=float, default=60.0,
                        help="the scraper's cap on Retry-After (above its 30 s park_after: the host's tasks are parked)")
    args = parser.parse_args(argv)
    print(asyncio.run(run(args.hosts, args.pages, args.crawl_delay, args.max_retry_after))["markdown"])


if __name__ == "__main__":
    main()
