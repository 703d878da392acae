"""`make bench-e2e`: the whole pipeline, raw page in → searchable in Elasticsearch.

    python -m bench.bench_e2e                      # 2,000-page backlog, then 5 pages/s for 60 s
    python -m bench.bench_e2e --pages 500 --paced-seconds 30 --rate 5
    python -m bench.bench_e2e --instances 2        # scale-out check: two processes of every stage

It starts the benchmark's own Kafka and Elasticsearch (bench/stack.py, ports 29092/29200)
unless they run already, and the four services with the settings `make demo` uses (each
in its own process, workers included), in a fresh namespace. Raw pages are built from a
corpus of varied articles (the sample site and the parser's corpora: Russian and English,
many templates), each with a unique URL, and produced to news.pages.raw.v1 directly, as the
scraper would publish them:

1. backlog: N pages produced at once; articles/s from the first page in to the last one
   searchable (visible to a search after Elasticsearch's refresh);
2. paced: pages produced at a fixed rate; freshness = when the article became searchable
   (polled every 0.2 s) minus when its raw page was produced; p50/p95/p99;
3. restart: the enrichment killed with -9 in the middle of a backlog and started again; the
   seconds from its start to its first processed article (models loaded, group joined).

Per phase it reports CPU seconds per article of every process (each service with its
worker processes, Kafka, Elasticsearch), the peak memory of each service with its workers
(PSS summed over the tree, and the largest single RSS), and the dead letters. A report
goes to bench/results/bench-e2e.md. Speeds are measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench.stack import BENCH
from devtools.devstack.pipeline import SERVICES, Pipeline, free_port
from devtools.devstack.procinfo import MemoryWatch, tree_cpu_seconds
from devtools.devstack.processes import ManagedProcess, stop_all
from devtools.devstack.stack import Stack, StackConfig

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
# A phase gives up when nothing finished for this long.
STALL_SECONDS = 180


@dataclass
class Page:
    source: str
    html: bytes
    content_type: str
    language: str | None
    timezone: str | None


def corpus() -> list[Page]:
    """Varied real-looking articles: the sample site's and the parser corpora's (articles only)."""
    from devtools.samplesite.server import SITE_DIR, load_manifest

    pages: list[Page] = []
    manifest = load_manifest()
    for page in manifest.articles():
        outlet = manifest.outlets[page.outlet]
        body = (SITE_DIR / page.file).read_bytes().replace(b"{{BASE_URL}}", b"https://sample.example")
        ctype = f"text/html; charset={page.encoding}" if page.charset_in_header else "text/html"
        pages.append(Page(page.outlet, body, ctype, outlet.language, outlet.timezone))
    for root in ("parser", "parser-holdout"):
        for expected_file in sorted((ROOT / "bench" / "corpus" / root / "expected").glob("*.json")):
            expected = json.loads(expected_file.read_text())
            if expected.get("kind", "article") != "article":
                continue
            html = (expected_file.parent.parent / "pages" / f"{expected_file.stem}.html").read_bytes()
            ctype = f"text/html; charset={expected.get('encoding', 'utf-8')}"
            pages.append(Page(root, html, ctype, expected.get("language"), expected.get("site_timezone")))
    return pages


def raw_value(page: Page, n: int, run: str) -> tuple[bytes, bytes, str]:
    """(key, value, article id) of the raw page event for copy `n` of `page`, with a unique URL."""
    from services.scraper.decisions import build_raw_page

    url = f"https://bench-{n % 50}.example/{run}/news/{n}/"
    raw = build_raw_page(
        source=page.source, requested_url=url, final_url=url, canonical_url=url, status=200,
        headers={"content-type": page.content_type}, body=page.html, fetched_at=datetime.now(timezone.utc),
        fetch_ms=50, discovered_via=None, trace_id=None, language_hint=page.language, timezone=page.timezone,
    )
    return raw.article_id.encode(), raw.model_dump_json().encode(), raw.article_id


@dataclass
class Phase:
    name: str
    articles: int = 0
    """Pages that became searchable articles."""
    rejected: int = 0
    """Pages dead-lettered on the way (e.g. not an article)."""
    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    freshness: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.articles / self.seconds if self.seconds else 0.0


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class Bench:
    def __init__(self, cfg: StackConfig, instances: int, run_dir: Path) -> None:
        self.cfg = cfg
        self.instances = instances
        self.namespace = f"b{uuid.uuid4().hex[:8]}"
        self.pipeline = Pipeline(cfg, namespace=self.namespace, alias=f"{self.namespace}-articles", run_dir=run_dir)
        self.pipeline.write_sources({"sources": []})
        self.extra: list[tuple[str, ManagedProcess, int]] = []
        self.run = uuid.uuid4().hex[:6]

    # ---------------------------------------------------------------- processes

    def start(self) -> None:
        self.pipeline.start(SERVICES)
        self.pipeline.wait_ready(SERVICES, timeout=300)
        for service in SERVICES if self.instances > 1 else ():
            for i in range(2, self.instances + 1):
                port = free_port()
                process = ManagedProcess(f"{service}-{i}", self.pipeline.run_dir, module=f"services.{service}")  # type: ignore[arg-type]
                # Its own state directory, as each pod has its own volume: two instances must
                # never open one RocksDB crawl state (the second would fail on its lock).
                env = {**self.pipeline.env(service), f"NEWSFLOW_{service.upper()}_HTTP_PORT": str(port),
                       "NEWSFLOW_DATA_DIR": str(self.pipeline.run_dir / f"data-{i}")}
                process.start(env)
                self.extra.append((service, process, port))

    def roots(self) -> dict[str, int]:
        roots = {s: self.pipeline.process(s).pid() for s in SERVICES}
        for service, process, _ in self.extra:
            roots[process.name] = process.pid()
        from devtools.devstack.stack import Elasticsearch, Kafka

        roots["kafka"] = Kafka(self.cfg).running_pid()
        roots["elasticsearch"] = Elasticsearch(self.cfg).running_pid()
        return {name: pid for name, pid in roots.items() if pid}

    def cpu(self) -> dict[str, float]:
        return {name: tree_cpu_seconds(pid) for name, pid in self.roots().items()}

    # ---------------------------------------------------------------- Kafka and Elasticsearch

    def kafka_settings(self):  # type: ignore[no-untyped-def]
        from services.common.settings import KafkaSettings

        # The secured stack's administrator: the benchmark feeds and reads every topic.
        admin = self.cfg.role_credentials("admin")
        return KafkaSettings(bootstrap=self.cfg.kafka_bootstrap, topic_namespace=self.namespace,
                             security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-512",
                             username=admin.kafka_username, password=admin.kafka_password, password_file=None)

    def es(self):  # type: ignore[no-untyped-def]
        from elasticsearch import AsyncElasticsearch

        return AsyncElasticsearch(**self.cfg.admin_es_kwargs(), request_timeout=30)

    async def visible(self, es: Any, ids: list[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(ids), 1000):
            try:
                response = await es.search(index=self.pipeline.alias, size=1000, source=False,
                                           query={"ids": {"values": ids[i:i + 1000]}})
            except Exception:  # noqa: BLE001 - the index appears once the indexer installed it
                return found
            found.update(hit["_id"] for hit in response["hits"]["hits"])
        return found

    async def read_dead_letters(self) -> list[dict[str, Any]]:
        from bench.stack import read_json_topic

        return await read_json_topic(f"{self.namespace}.news.deadletter.v1", self.kafka_settings().aiokafka_kwargs())

    async def dead_letters(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for letter in await self.read_dead_letters():
            key = f"{letter['stage']}:{letter['reason']}"
            counts[key] = counts.get(key, 0) + 1
        return counts

    async def finished(self, es: Any, waiting: set[str], check_dead_letters: bool) -> tuple[set[str], set[str]]:
        """(ids now searchable, ids dead-lettered) among `waiting`."""
        visible = await self.visible(es, sorted(waiting))
        dead: set[str] = set()
        if check_dead_letters:
            dead = {letter.get("article_id") for letter in await self.read_dead_letters()} & waiting  # type: ignore[misc]
        return visible, dead

    # ---------------------------------------------------------------- phases

    async def backlog(self, pages: list[Page], count: int) -> Phase:
        from aiokafka import AIOKafkaProducer

        events = [raw_value(pages[n % len(pages)], n, self.run + "b") for n in range(count)]
        ids = [aid for _, _, aid in events]
        producer = AIOKafkaProducer(**self.kafka_settings().aiokafka_kwargs(), max_request_size=8 * 1024 * 1024,
                                    compression_type="gzip", linger_ms=20)
        es = self.es()
        await producer.start()
        phase = Phase("backlog", articles=count)
        cpu_before = self.cpu()
        started = time.monotonic()
        try:
            for key, value, _ in events:
                await producer.send(f"{self.namespace}.news.pages.raw.v1", value=value, key=key)
            await producer.flush()
            remaining = set(ids)
            progress_at, rounds = time.monotonic(), 0
            while remaining:
                await asyncio.sleep(1.0)
                rounds += 1
                visible, dead = await self.finished(es, remaining, check_dead_letters=rounds % 5 == 0 or len(remaining) < 20)
                if visible or dead:
                    progress_at = time.monotonic()
                remaining -= visible | dead
                phase.rejected += len(dead)
                if time.monotonic() - progress_at > STALL_SECONDS:
                    raise TimeoutError(f"no progress for {STALL_SECONDS} s; {len(remaining)} of {count} pages unfinished")
            phase.seconds = time.monotonic() - started
            phase.articles = count - phase.rejected
        finally:
            await producer.stop()
            await es.close()
        after = self.cpu()
        phase.cpu = {name: after.get(name, 0.0) - cpu_before.get(name, 0.0) for name in after}
        return phase

    async def paced(self, pages: list[Page], rate: float, seconds: float) -> Phase:
        from aiokafka import AIOKafkaProducer

        count = int(rate * seconds)
        producer = AIOKafkaProducer(**self.kafka_settings().aiokafka_kwargs(), max_request_size=8 * 1024 * 1024)
        es = self.es()
        await producer.start()
        phase = Phase("paced", articles=count)
        sent_at: dict[str, float] = {}
        seen_at: dict[str, float] = {}
        cpu_before = self.cpu()
        started = time.monotonic()

        async def produce() -> None:
            for n in range(count):
                due = started + n / rate
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                key, value, aid = raw_value(pages[(n * 7) % len(pages)], n, self.run + "p")
                sent_at[aid] = time.time()
                await producer.send_and_wait(f"{self.namespace}.news.pages.raw.v1", value=value, key=key)

        rejected: set[str] = set()

        async def watch() -> None:
            deadline = started + seconds + STALL_SECONDS
            rounds = 0
            while len(seen_at) + len(rejected) < count and time.monotonic() < deadline:
                rounds += 1
                waiting = {aid for aid in sent_at if aid not in seen_at and aid not in rejected}
                if waiting:
                    visible, dead = await self.finished(es, waiting, check_dead_letters=rounds % 25 == 0)
                    now = time.time()
                    for aid in visible:
                        seen_at[aid] = now
                    rejected.update(dead)
                await asyncio.sleep(0.2)

        try:
            await asyncio.gather(produce(), watch())
            phase.seconds = time.monotonic() - started
        finally:
            await producer.stop()
            await es.close()
        after = self.cpu()
        phase.cpu = {name: after.get(name, 0.0) - cpu_before.get(name, 0.0) for name in after}
        phase.freshness = [seen_at[aid] - sent_at[aid] for aid in seen_at]
        phase.articles = len(seen_at)
        phase.rejected = len(rejected)
        return phase

    async def restart(self, pages: list[Page], service: str = "enrichment", count: int = 300) -> float:
        """Seconds from restarting `service` after a kill -9 (mid-backlog) to its first processed event."""
        import aiohttp
        from aiokafka import AIOKafkaProducer

        producer = AIOKafkaProducer(**self.kafka_settings().aiokafka_kwargs(), max_request_size=8 * 1024 * 1024, linger_ms=20)
        await producer.start()
        try:
            for n in range(count):
                key, value, _ = raw_value(pages[n % len(pages)], n, self.run + "r")
                await producer.send(f"{self.namespace}.news.pages.raw.v1", value=value, key=key)
            await producer.flush()
        finally:
            await producer.stop()
        process = self.pipeline.process(service)
        url = f"http://127.0.0.1:{self.pipeline.ports[service]}/metrics"

        async def processed() -> float:
            try:
                async with aiohttp.ClientSession() as session, session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as r:
                    text = await r.text()
            except (aiohttp.ClientError, asyncio.TimeoutError):
                return 0.0
            return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                       if line.startswith("newsflow_events_out_total{") and f'stage="{service}"' in line)

        while await processed() < 20:  # well into the backlog
            await asyncio.sleep(0.2)
        process.kill()
        started = time.monotonic()
        process.start(self.pipeline.env(service))
        while await processed() < 1:
            await asyncio.sleep(0.2)
            if time.monotonic() - started > 600:
                raise TimeoutError(f"{service} did not process anything within 600 s of its restart")
        return time.monotonic() - started

    async def partition_spread(self) -> dict[str, list[str]]:
        """Which input partitions each process of each stage owns (from its exported lag gauges)."""
        import aiohttp

        ports = {s: [self.pipeline.ports[s]] for s in SERVICES}
        for service, _, port in self.extra:
            ports[service].append(port)
        spread: dict[str, list[str]] = {}
        async with aiohttp.ClientSession() as session:
            for service, service_ports in ports.items():
                for port in service_ports:
                    async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
                        text = await response.text()
                    owned = sorted({
                        line.split('partition="')[1].split('"')[0]
                        for line in text.splitlines()
                        if line.startswith("newsflow_consumer_lag{") and "changelog" not in line and "stories" not in line
                    })
                    spread.setdefault(service, []).append(",".join(owned) or "-")
        return spread


def report(phases: list[Phase], memory: MemoryWatch, dead: dict[str, int], spread: dict[str, list[str]] | None,
           duplicates: int | None, machine: str, instances: int) -> str:
    lines = [f"## End to end (`make bench-e2e`), {instances} process(es) per stage", "", f"Machine: {machine}.", ""]
    for phase in phases:
        if phase.name == "backlog":
            lines.append(f"- backlog: **{(phase.articles + phase.rejected) / max(phase.seconds, 1e-9):.1f} pages/s** "
                         f"({phase.articles + phase.rejected} raw pages in → {phase.articles} searchable, {phase.rejected} dead-lettered, "
                         f"in {phase.seconds:.1f} s; {phase.rate:.1f} articles/s)")
        else:
            p50, p95, p99 = (percentile(phase.freshness, q) for q in (0.5, 0.95, 0.99))
            lines.append(f"- paced, {phase.articles} articles at {phase.articles / max(phase.seconds, 1e-9):.1f}/s: freshness (produced → searchable) "
                         f"p50 {p50 or 0:.2f} s, p95 {p95 or 0:.2f} s, **p99 {p99 or 0:.2f} s**")
    lines += ["", "CPU seconds per article, by process (each service with its worker processes):", "",
              "| process | " + " | ".join(p.name for p in phases) + " |", "| --- | " + " | ".join("---" for _ in phases) + " |"]
    names = sorted({n for p in phases for n in p.cpu})
    for name in names:
        lines.append(f"| {name} | " + " | ".join(f"{1000 * p.cpu.get(name, 0) / max(p.articles, 1):.1f} ms" for p in phases) + " |")
    lines.append("| **total** | " + " | ".join(f"**{1000 * sum(p.cpu.values()) / max(p.articles, 1):.1f} ms**" for p in phases) + " |")
    lines += ["", "Peak memory of each service with its workers (PSS summed over the process tree; largest single RSS):", "",
              "| process | peak PSS (tree) | largest RSS | processes |", "| --- | --- | --- | --- |"]
    for name, peak in sorted(memory.peaks.items()):
        lines.append(f"| {name} | {peak.peak_pss_kib / 1024:.0f} MiB | {peak.peak_rss_kib / 1024:.0f} MiB | {peak.peak_processes} |")
    lines += ["", f"Dead letters: {json.dumps(dead, sort_keys=True) if dead else 'none'}."]
    if spread is not None:
        lines += ["", "Input partitions owned by each process (four partitions per input topic):", ""]
        lines += [f"- {service}: " + " | ".join(owned) for service, owned in spread.items()]
        lines.append(f"- articles published more than once to news.articles.parsed.v1: {duplicates}")
    return "\n".join(lines)


async def count_messages(bench: Bench, topic: str) -> dict[str, int]:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(topic, **bench.kafka_settings().aiokafka_kwargs(), auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    keys: dict[str, int] = {}
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=1500)
            if not batch:
                break
            for records in batch.values():
                for record in records:
                    keys[record.key.decode()] = keys.get(record.key.decode(), 0) + 1
    finally:
        await consumer.stop()
    return keys


async def run_bench(pages_count: int, rate: float, paced_seconds: float, instances: int, use_demo: bool,
                    restart: bool = True) -> str:
    from bench.__main__ import machine

    # The benchmark's pipeline has an alias of its own: the stack's roles must cover it.
    aliases = ("articles", "*-articles")
    cfg = StackConfig.from_env("dev", es_aliases=aliases) if use_demo else StackConfig.from_env("bench", **BENCH, es_aliases=aliases)
    stack = Stack(cfg)
    started_stack = not use_demo and not all(c.running_pid() for c in stack.components)
    if not use_demo:
        await asyncio.to_thread(stack.start, True)
    else:
        await asyncio.to_thread(stack.elasticsearch.start)  # running: only its roles are rewritten
    run_dir = ROOT / ".run" / "bench-e2e" / datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True, exist_ok=True)
    bench = Bench(cfg, instances, run_dir)
    try:
        await asyncio.to_thread(bench.start)
        pages = corpus()
        phases = []
        with MemoryWatch(bench.roots()) as memory:
            phases.append(await bench.backlog(pages, pages_count))
            if paced_seconds > 0:
                phases.append(await bench.paced(pages, rate, paced_seconds))
            restart_seconds = await bench.restart(pages) if restart else None
        dead = await bench.dead_letters()
        spread = duplicates = None
        if instances > 1:
            spread = await bench.partition_spread()
            parsed = await count_messages(bench, f"{bench.namespace}.news.articles.parsed.v1")
            duplicates = sum(1 for n in parsed.values() if n > 1)
        text = report(phases, memory, dead, spread, duplicates, machine(), instances)
        if restart_seconds is not None:
            text += (f"\n\nRestart: enrichment killed with -9 in the middle of a backlog and started again: its first "
                     f"article processed **{restart_seconds:.1f} s** after the start (models loaded, group joined).")
    finally:
        stop_all(run_dir)
        if started_stack:
            await asyncio.to_thread(stack.stop)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_e2e")
    parser.add_argument("--pages", type=int, default=2000, help="backlog size (raw pages)")
    parser.add_argument("--rate", type=float, default=5.0, help="paced phase: pages per second")
    parser.add_argument("--paced-seconds", type=float, default=60.0, help="paced phase length (0: skip)")
    parser.add_argument("--instances", type=int, default=1, help="processes per stage, in one consumer group")
    parser.add_argument("--use-demo", action="store_true", help="use the running demo's Kafka and Elasticsearch")
    parser.add_argument("--no-restart", action="store_true", help="skip the kill -9 and restart of the enrichment")
    args = parser.parse_args(argv)
    text = asyncio.run(run_bench(args.pages, args.rate, args.paced_seconds, args.instances, args.use_demo,
                                 restart=not args.no_restart and args.instances == 1))
    print(text)
    RESULTS.mkdir(exist_ok=True)
    name = "bench-e2e.md" if args.instances == 1 else f"bench-e2e-{args.instances}x.md"
    (RESULTS / name).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
