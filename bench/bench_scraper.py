"""Scraper throughput: fetch-and-publish pages per second against local sites.

Four local HTTP servers (four hosts) serve `--pages` article pages each (the sample
site's pages under new URLs) and an RSS feed listing them. The real `Crawler`
polls the feeds, fetches every page (charset detection, canonical link, content
hash, raw page event) and publishes each raw page to a real Kafka topic with
aiokafka (gzip, acks=all). Politeness is set to no delay and 8 requests per host,
so the number measures the pipeline, not the sleep.

Baseline, same run, same servers: a bare aiohttp loop that GETs the same URLs with
the same concurrency and reads the bodies, publishing nothing.

    python -m bench.bench_scraper [--pages 250] [--rounds 3]

Needs Kafka: the benchmark starts its own (bench/stack.py, port 29092).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from typing import Any

import aiohttp
from aiohttp import web
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.scoring import markdown_table, median
from schemas.frontier_task_v1 import FrontierTaskV1
from devtools.samplesite.server import SITE_DIR, load_manifest
from services.scraper.crawler import Crawler, CrawlerConfig, feed_tasks
from services.scraper.fetch import FetchLimits
from schemas.sources import parse_sources

HOSTS = 4
CONCURRENCY_PER_HOST = 8


async def start_hosts(pages_per_host: int) -> tuple[list[web.AppRunner], list[str]]:
    manifest = load_manifest()
    bodies = [(SITE_DIR / p.file).read_bytes() for p in manifest.articles()]
    runners, bases = [], []
    for _ in range(HOSTS):
        app = web.Application()
        routes: dict[str, bytes] = {}

        async def handle(request: web.Request, routes=routes) -> web.StreamResponse:  # type: ignore[no-untyped-def]
            body = routes.get(request.path)
            if body is None:
                return web.Response(status=404)
            ctype = "application/rss+xml" if request.path.endswith(".xml") else "text/html; charset=utf-8"
            return web.Response(body=body, headers={"Content-Type": ctype})

        app.router.add_get("/{tail:.*}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
        items = []
        for i in range(pages_per_host):
            path = f"/news/{i}/"
            body = bodies[i % len(bodies)]
            # Distinct content and canonical URL per page, so every page is new to the crawler.
            page = re.sub(rb'(<link[^>]*rel="canonical"[^>]*href=")[^"]*(")', (r"\g<1>" + base + path + r"\g<2>").encode(), body)
            routes[path] = page.replace(b"{{BASE_URL}}", base.encode()).replace(b"</body>", f"<!-- {base}{path} -->".encode() + b"</body>")
            items.append(f"<item><link>{base}{path}</link><guid>{base}{path}</guid></item>")
        routes["/feed.xml"] = f'<?xml version="1.0"?><rss version="2.0"><channel>{"".join(items)}</channel></rss>'.encode()
        routes["/robots.txt"] = b"User-agent: *\nAllow: /\n"
        runners.append(runner)
        bases.append(base)
    return runners, bases


async def crawl_round(bases: list[str], kafka: dict[str, Any], topic: str, pages_per_host: int) -> float:
    sources = parse_sources({
        "defaults": {"politeness": {"min_delay": 0.0, "max_concurrency": CONCURRENCY_PER_HOST}},
        "sources": [{"name": f"h{i}", "feeds": [f"{b}/feed.xml"], "allowed_domains": ["127.0.0.1"], "allow_private_addresses": True}
                    for i, b in enumerate(bases)],
    })
    producer = AIOKafkaProducer(**kafka, compression_type="gzip", acks="all", max_request_size=8 * 1024 * 1024, linger_ms=5)
    await producer.start()
    queue: asyncio.Queue[FrontierTaskV1] = asyncio.Queue()
    published = 0

    async def publish_raw(key: bytes, value: bytes) -> None:
        nonlocal published
        await producer.send(topic, key=key, value=value)
        published += 1

    async def publish_task(task: FrontierTaskV1) -> None:
        queue.put_nowait(task)

    async def dead_letter(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"unexpected dead letter: {args[0]}")

    crawler = Crawler(
        CrawlerConfig(user_agent="newsflow-bench", limits=FetchLimits(), global_concurrency=HOSTS * CONCURRENCY_PER_HOST, max_pending=5000),
        sources, seen={}, feeds={}, publish_raw=publish_raw, publish_task=publish_task, dead_letter=dead_letter,
    )

    async def done() -> None:
        return None

    started = time.perf_counter()
    for source in sources.sources:
        for task in feed_tasks(source):
            queue.put_nowait(task)
    total = HOSTS * pages_per_host
    deadline = time.monotonic() + 600
    while published < total:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {published} of {total} pages published in 10 minutes")
        while not queue.empty():
            await crawler.submit(queue.get_nowait(), done)
        await asyncio.sleep(0.005)
    await producer.flush()
    elapsed = time.perf_counter() - started
    await crawler.close()
    await producer.stop()
    return total / elapsed


async def baseline_round(bases: list[str], pages_per_host: int) -> float:
    connector = aiohttp.TCPConnector(limit=HOSTS * CONCURRENCY_PER_HOST, limit_per_host=CONCURRENCY_PER_HOST)
    async with aiohttp.ClientSession(connector=connector) as session:
        semaphore = asyncio.Semaphore(HOSTS * CONCURRENCY_PER_HOST)

        async def get(url: str) -> int:
            async with semaphore, session.get(url) as resp:
                return len(await resp.read())

        started = time.perf_counter()
        for base in bases:
            await get(base + "/feed.xml")
        await asyncio.gather(*(get(f"{b}/news/{i}/") for b in bases for i in range(pages_per_host)))
        return HOSTS * pages_per_host / (time.perf_counter() - started)


async def run(pages_per_host: int, rounds: int) -> dict[str, Any]:
    from bench.stack import bench_component
    from devtools.devstack.stack import Kafka

    async with bench_component(Kafka) as cfg:
        kafka = cfg.admin_kafka_kwargs()  # the secured stack's administrator: creates the bench topics
        runners, bases = await start_hosts(pages_per_host)
        try:
            ours, bare = [], []
            for r in range(rounds):
                topic = f"bench.raw.{int(time.time())}.{r}"
                admin = AIOKafkaAdminClient(**kafka)
                await admin.start()
                await admin.create_topics([NewTopic(topic, 4, 1, topic_configs={"max.message.bytes": str(8 * 1024 * 1024)})])
                await admin.close()
                bare.append(await baseline_round(bases, pages_per_host))
                ours.append(await crawl_round(bases, kafka, topic, pages_per_host))
        finally:
            for runner in runners:
                await runner.cleanup()
    ours_m, bare_m = median(ours), median(bare)
    table = markdown_table(
        ["contender", "pages/s (median)", "rounds"],
        [["newsflow crawler: fetch, decode, dedup, publish to Kafka", round(ours_m, 1), ", ".join(f"{x:.0f}" for x in ours)],
         ["bare aiohttp GET loop (no publishing)", round(bare_m, 1), ", ".join(f"{x:.0f}" for x in bare)]],
    )
    text = (f"Scraper fetch-and-publish, {HOSTS} local hosts × {pages_per_host} pages, {CONCURRENCY_PER_HOST} per host, "
            f"{rounds} rounds:\n\n{table}\n\nnewsflow / bare loop = {ours_m / bare_m:.2f}")
    return {"newsflow_pages_per_second": ours_m, "baseline_pages_per_second": bare_m, "markdown": text}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_scraper")
    parser.add_argument("--pages", type=int, default=250, help="pages per host")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    print(asyncio.run(run(args.pages, args.rounds))["markdown"])


if __name__ == "__main__":
    main()
