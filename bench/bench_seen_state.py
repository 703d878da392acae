"""Crawl state for a million URLs: the scraper's RSS and its restore time from the changelog.

Writes `--urls` seen entries (the exact keys and values the crawler writes, spread over
the frontier's 4 partitions) to the seen table's changelog topic on a real Kafka, then
starts the real scraper process (`services.scraper`, RocksDB store) three times:

1. empty data directory: the whole changelog is restored (a pod on a new node),
2. the same data directory again: only the tail is read (a restart on the same volume),
3. baseline in the same run: the in-memory store (`NEWSFLOW_SCRAPER_STATE_STORE=memory://`,
   what every deployment used before), empty data directory.

"Restore" is the time from starting the process to `/readyz` answering 200, which waits
for faust's table recovery (polled every 0.5 s; readiness itself is re-evaluated every
5 s, so figures are upper bounds). RSS is the process's VmRSS after it became ready and
its peak (VmHWM).

    python -m bench.bench_seen_state [--urls 1000000]

Needs Kafka: the benchmark starts its own (bench/stack.py, port 29092).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import tempfile
import time
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml
from aiokafka import AIOKafkaProducer

from bench.scoring import markdown_table
from schemas.topics import FRONTIER
from services.common.admin import ensure_changelogs
from services.common.settings import KafkaSettings
from services.devstack.pipeline import free_port
from services.devstack.processes import ManagedProcess, stop_all
from services.scraper.crawl import dedup_key, record_fetch, seen_key

NOW = datetime.now(timezone.utc)


def entry_bytes(i: int) -> tuple[bytes, bytes, int]:
    """The changelog record the crawler writes for the i-th article (key, value, partition)."""
    url = f"https://news{i % 997}.example/politics/2025/10/{i % 28 + 1:02d}/article-about-something-{i}/"
    entry, _ = record_fetch(None, url=dedup_key(url), content_hash=f"{i:064x}", now=NOW - timedelta(seconds=i % 86400),
                            window=timedelta(hours=48), etag=f'"{i:x}-5f2a"', last_modified="Fri, 10 Oct 2025 11:35:00 GMT")
    partition = i % FRONTIER.partitions
    return json.dumps(seen_key(entry.url)).encode(), json.dumps({**entry.encode(), "p": partition}).encode(), partition


async def load(bootstrap: str, topic: str, urls: int) -> tuple[float, int]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, compression_type="gzip", linger_ms=50, max_batch_size=1024 * 1024, acks=1)
    await producer.start()
    started = time.perf_counter()
    total_bytes = 0
    try:
        pending = []
        for i in range(urls):
            key, value, partition = entry_bytes(i)
            total_bytes += len(key) + len(value)
            pending.append(await producer.send(topic, key=key, value=value, partition=partition))
            if len(pending) >= 20000:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return time.perf_counter() - started, total_bytes


def rss_kib(pid: int) -> tuple[int, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.strip()
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def wait_ready(port: int, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"scraper not ready within {timeout}s")


def run_scraper(run_dir: Path, data_dir: Path, env: dict[str, str], timeout: float = 900) -> dict[str, Any]:
    port = free_port()
    process = ManagedProcess("scraper", run_dir)
    started = time.monotonic()
    pid = process.start({**env, "NEWSFLOW_DATA_DIR": str(data_dir), "NEWSFLOW_SCRAPER_HTTP_PORT": str(port)})
    try:
        ready = wait_ready(port, timeout)
        time.sleep(2)
        rss, peak = rss_kib(pid)
    finally:
        process.stop()
    return {"restore_s": ready, "rss_mib": rss / 1024, "peak_mib": peak / 1024, "wall_s": time.monotonic() - started}


async def run(urls: int = 1_000_000) -> dict[str, Any]:
    from bench.stack import bench_component
    from services.devstack.stack import Kafka

    async with bench_component(Kafka) as cfg:
        bootstrap = cfg.kafka_bootstrap
        namespace = f"b{uuid.uuid4().hex[:8]}"
        app_id = f"{namespace}.newsflow-scraper"
        kafka = KafkaSettings(bootstrap=bootstrap, topic_namespace=namespace)
        changelogs = [(f"{app_id}-{name}-changelog", FRONTIER.partitions) for name in ("seen", "later", "feeds")]
        changelogs.append((f"{app_id}-sources-changelog", 1))
        await ensure_changelogs(kafka, changelogs)
        load_s, load_bytes = await load(bootstrap, f"{app_id}-seen-changelog", urls)
        run_dir = Path(tempfile.mkdtemp(prefix="bench-seen-"))
        try:
            sources = run_dir / "sources.yaml"
            sources.write_text(yaml.safe_dump({"sources": []}))
            env = {"NEWSFLOW_KAFKA_BOOTSTRAP": bootstrap, "NEWSFLOW_KAFKA_TOPIC_NAMESPACE": namespace,
                   "NEWSFLOW_SCRAPER_SOURCES_FILE": str(sources), "NEWSFLOW_LOG_LEVEL": "WARNING"}
            data = run_dir / "data"
            cold = await asyncio.to_thread(run_scraper, run_dir, data, {**env, "NEWSFLOW_SCRAPER_STATE_STORE": "rocksdb://"})
            warm = await asyncio.to_thread(run_scraper, run_dir, data, {**env, "NEWSFLOW_SCRAPER_STATE_STORE": "rocksdb://"})
            disk_mib = sum(p.stat().st_size for p in data.rglob("*") if p.is_file()) / 1024 / 1024
            memory = await asyncio.to_thread(run_scraper, run_dir, run_dir / "data-memory", {**env, "NEWSFLOW_SCRAPER_STATE_STORE": "memory://"})
        finally:
            stop_all(run_dir)
            if not os.environ.get("BENCH_KEEP"):
                shutil.rmtree(run_dir, ignore_errors=True)
    rows = [
        ["RocksDB, empty disk (whole changelog restored)", f"{cold['restore_s']:.1f}", f"{cold['rss_mib']:.0f}", f"{cold['peak_mib']:.0f}"],
        ["RocksDB, same disk again (changelog tail only)", f"{warm['restore_s']:.1f}", f"{warm['rss_mib']:.0f}", f"{warm['peak_mib']:.0f}"],
        ["baseline: in-memory store, empty disk", f"{memory['restore_s']:.1f}", f"{memory['rss_mib']:.0f}", f"{memory['peak_mib']:.0f}"],
    ]
    table = markdown_table(["scraper start", "start → ready incl. restore (s)", "RSS when ready (MiB)", "peak RSS (MiB)"], rows)
    text = (f"Seen state: {urls:,} URLs ({load_bytes / urls:.0f} bytes per key and value, {load_bytes / 1024 / 1024:.0f} MiB in the "
            f"changelog, loaded in {load_s:.0f} s), one scraper process, 4 frontier partitions:\n\n{table}\n\n"
            f"RocksDB files on disk: {disk_mib:.0f} MiB. RSS: RocksDB / in-memory = {cold['rss_mib'] / memory['rss_mib']:.2f}; "
            f"targets: ≤ 300 MB RSS, ≤ 60 s restore.")
    return {"cold": cold, "warm": warm, "memory": memory, "markdown": text}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_seen_state")
    parser.add_argument("--urls", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    print(asyncio.run(run(args.urls))["markdown"])


if __name__ == "__main__":
    main()
