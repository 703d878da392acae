"""Crawl state for a million URLs: the scraper's RSS and its restore time from the changelog.

Writes `--urls` seen entries (the keys and values the crawler writes, spread over the
frontier's 4 partitions) to the seen table's changelog topic on a real Kafka, then starts
the real scraper process (`python -m services.scraper`, RocksDB store) twice:

1. empty data directory: the whole changelog is restored (a pod on a new node),
2. the same data directory again: only what the disk does not know yet is read (a restart
   on the same volume).

Baseline in the same run, on smaller changelogs (`--baseline-urls`, `--startup-urls`, because
the baseline is slow): faust's own table recovery (a faust `Table` on faust's RocksDB store,
what the scraper used before), against the scraper's restore of the same records.

"start → ready" is from starting the process to `/readyz` answering 200 (polled every
0.2 s; the scraper re-checks readiness every 0.5 s while starting). "restore" is the
scraper's own figure from its "crawl state restored" log line. RSS is VmRSS 2 s after it
became ready; peak is VmHWM.

    python -m bench.bench_seen_state [--urls 1000000] [--baseline-urls 100000] [--startup-urls 20000]

Needs Kafka: the benchmark starts its own (bench/stack.py, port 29092 or NEWSFLOW_BENCH_KAFKA_PORT).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
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
from schemas.topics import CATALOGUE, FRONTIER
from services.common.admin import ensure_changelogs, ensure_topics
from services.common.settings import KafkaSettings
from devtools.devstack.pipeline import free_port
from devtools.devstack.processes import ManagedProcess, stop_all
from devtools.devstack.stack import REPO_ROOT
from services.scraper.decisions import SeenEntry, dedup_key, record_fetch
from services.scraper.state import encode_key, encode_value
from services.scraper.state_keys import StateKeys

NOW = datetime.now(timezone.utc)
WINDOW = timedelta(hours=48)


def article_url(i: int) -> str:
    return f"https://news{i % 997}.example/politics/2025/10/{i % 28 + 1:02d}/article-about-something-{i}/"


def exact_entry(i: int) -> tuple[bytes, bytes, int]:
    """The changelog record the crawler writes for the i-th article (key, value, partition)."""
    entry, _ = record_fetch(None, url=dedup_key(article_url(i)), content_hash=f"{i:064x}", now=NOW - timedelta(seconds=i % 86400),
                            window=WINDOW, etag=f'"{i:x}-5f2a"', last_modified="Fri, 10 Oct 2025 11:35:00 GMT")
    return encode_key(StateKeys.page(entry.url)), encode_value(entry.encode()), i % FRONTIER.partitions


def fast_entry(i: int) -> tuple[bytes, bytes, int]:
    """`exact_entry` without pydantic per record (checked against it on a sample)."""
    url = article_url(i)
    first = int((NOW - timedelta(seconds=i % 86400)).timestamp())
    template = _REFETCH[i % 86400]
    value = {"u": url, "f": first, "l": first, "h": f"{i:064x}"[:16], "n": 1,
             "r": template, "e": f'"{i:x}-5f2a"', "m": "Fri, 10 Oct 2025 11:35:00 GMT"}
    return encode_key(StateKeys.page(url)), encode_value(value), i % FRONTIER.partitions


class _Refetch(dict):  # type: ignore[type-arg]
    """next_refetch per age in seconds, computed once per distinct age."""

    def __missing__(self, age: int) -> int:
        now = NOW - timedelta(seconds=age)
        entry, _ = record_fetch(None, url="https://x.example/", content_hash="0" * 64, now=now, window=WINDOW)
        self[age] = entry.next_refetch
        return entry.next_refetch  # type: ignore[return-value]


_REFETCH = _Refetch()


async def load(bootstrap: str, topic: str, urls: int) -> tuple[float, int]:
    for i in (0, 1, 977, urls - 1):
        assert fast_entry(i) == exact_entry(i), "the loader writes what the crawler writes"
        assert SeenEntry.model_validate(json.loads(fast_entry(i)[1])).url == dedup_key(article_url(i))
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, compression_type="gzip", linger_ms=50, max_batch_size=1024 * 1024, acks=1)
    await producer.start()
    started = time.perf_counter()
    total_bytes = 0
    try:
        pending = []
        for i in range(urls):
            key, value, partition = fast_entry(i)
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


def wait_ready(port: int, timeout: float, pid: int) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except OSError:
            pass
        if not Path(f"/proc/{pid}").exists():
            raise RuntimeError("the scraper exited before it was ready")
        time.sleep(0.2)
    raise RuntimeError(f"scraper not ready within {timeout}s")


def restore_line(log: Path, after: int) -> dict[str, Any]:
    """The last "crawl state restored" log line written after byte `after` of the log."""
    text = log.read_bytes()[after:].decode(errors="replace")
    lines = [line[line.index("{"):] for line in text.splitlines() if '"crawl state restored"' in line]
    return json.loads(lines[-1]) if lines else {}


def run_scraper(run_dir: Path, data_dir: Path, env: dict[str, str], timeout: float = 900) -> dict[str, Any]:
    port = free_port()
    process = ManagedProcess("scraper", run_dir)
    offset = process.logfile.stat().st_size if process.logfile.exists() else 0
    pid = process.start({**env, "NEWSFLOW_DATA_DIR": str(data_dir), "NEWSFLOW_SCRAPER_HTTP_PORT": str(port)})
    try:
        ready = wait_ready(port, timeout, pid)
        time.sleep(2)
        rss, peak = rss_kib(pid)
    finally:
        process.stop()
    restored = restore_line(process.logfile, offset)
    return {"ready_s": ready, "restore_s": restored.get("seconds"), "restore_cpu_s": restored.get("cpu_seconds"),
            "records": restored.get("records"), "rss_mib": rss / 1024, "peak_mib": peak / 1024}


def run_faust_baseline(bootstrap: str, app_id: str, frontier: str, data_dir: Path, timeout: float = 3600) -> dict[str, Any]:
    """faust's own table recovery of the same changelog (bench/faust_table_restore.py)."""
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "bench.faust_table_restore", "--bootstrap", bootstrap, "--app-id", app_id,
         "--topic", frontier, "--datadir", str(data_dir)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout,
    )
    wall = time.monotonic() - started
    lines = [line[line.index('{"recovery_s"'):] for line in result.stdout.splitlines() if '{"recovery_s"' in line]
    if not lines:
        raise RuntimeError(f"faust baseline failed: {result.stderr[-2000:]}")
    return {"ready_s": wall, **json.loads(lines[-1])}


async def run(urls: int = 1_000_000, baseline_urls: int = 100_000, startup_urls: int = 20_000) -> dict[str, Any]:
    from bench.stack import bench_component
    from devtools.devstack.stack import Kafka

    async with bench_component(Kafka) as cfg:
        bootstrap = cfg.kafka_bootstrap
        big, small, startup = (f"b{uuid.uuid4().hex[:8]}" for _ in range(3))
        loaded = {}
        for namespace, count in ((big, urls), (small, baseline_urls), (startup, startup_urls)):
            app_id = f"{namespace}.newsflow-scraper"
            kafka = KafkaSettings(bootstrap=bootstrap, topic_namespace=namespace)
            await ensure_topics(kafka, CATALOGUE)
            await ensure_changelogs(kafka, [(f"{app_id}-{name}-changelog", FRONTIER.partitions) for name in ("seen", "later", "feeds")]
                                    + [(f"{app_id}-sources-changelog", 1)])
            loaded[namespace] = await load(bootstrap, f"{app_id}-seen-changelog", count)
        run_dir = Path(tempfile.mkdtemp(prefix="bench-seen-"))
        try:
            sources = run_dir / "sources.yaml"
            sources.write_text(yaml.safe_dump({"sources": []}))

            def env(namespace: str) -> dict[str, str]:
                return {"NEWSFLOW_KAFKA_BOOTSTRAP": bootstrap, "NEWSFLOW_KAFKA_TOPIC_NAMESPACE": namespace,
                        "NEWSFLOW_SCRAPER_SOURCES_FILE": str(sources), "NEWSFLOW_LOG_LEVEL": "INFO",
                        "NEWSFLOW_SCRAPER_STATE_STORE": "rocksdb://"}

            data = run_dir / "data"
            cold = await asyncio.to_thread(run_scraper, run_dir, data, env(big))
            warm = await asyncio.to_thread(run_scraper, run_dir, data, env(big))
            disk_mib = sum(p.stat().st_size for p in data.rglob("*") if p.is_file()) / 1024 / 1024
            small_ours = await asyncio.to_thread(run_scraper, run_dir, run_dir / "data-small", env(small))
            small_faust = await asyncio.to_thread(run_faust_baseline, bootstrap, f"{small}.newsflow-scraper",
                                                  f"{small}.{FRONTIER.name}", run_dir / "data-faust")
            startup_ours = await asyncio.to_thread(run_scraper, run_dir, run_dir / "data-startup", env(startup))
            startup_faust = await asyncio.to_thread(run_faust_baseline, bootstrap, f"{startup}.newsflow-scraper",
                                                    f"{startup}.{FRONTIER.name}", run_dir / "data-faust-startup")
        finally:
            stop_all(run_dir)
            if not os.environ.get("BENCH_KEEP"):
                shutil.rmtree(run_dir, ignore_errors=True)

    def row(name: str, r: dict[str, Any]) -> list[str]:
        if r.get("restore_s") is not None:
            restore = f"{r['restore_s']:.1f} ({r['records']:,} records)"
            cpu = f"{r['restore_cpu_s']:.1f}"
        else:  # faust: its recovery, measured from the start of the process
            restore, cpu = f"{r['recovery_s']:.1f} (from the process start)", f"{r['cpu_s']:.1f} (whole process)"
        return [name, f"{r['ready_s']:.1f}", restore, cpu, f"{r['rss_mib']:.0f}", f"{r['peak_mib']:.0f}"]

    rows = [
        row(f"{urls:,} URLs, empty disk (whole changelog restored)", cold),
        row(f"{urls:,} URLs, same disk again", warm),
        row(f"{baseline_urls:,} URLs, empty disk", small_ours),
        row(f"baseline: {baseline_urls:,} URLs, faust's table recovery (faust RocksDB store)", small_faust),
        row(f"{startup_urls:,} URLs, empty disk", startup_ours),
        row(f"baseline: {startup_urls:,} URLs, faust's table recovery", startup_faust),
    ]
    table = markdown_table(["scraper start", "start → ready (s)", "restore, wall (s)", "restore, CPU (s)", "RSS when ready (MiB)",
                            "peak RSS (MiB)"], rows)
    ours_rate = small_ours["records"] / max(small_ours["restore_cpu_s"], 1e-3)
    faust_rate = baseline_urls / max(small_faust["cpu_s"], 1e-3)
    load_s, load_bytes = loaded[big]
    load_avg = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    text = (f"Seen state: {urls:,} URLs ({load_bytes / urls:.0f} bytes per key and value, {load_bytes / 1024 / 1024:.0f} MiB in the "
            f"changelog), one scraper process, 4 frontier partitions:\n\n{table}\n\n"
            f"RocksDB files on disk for {urls:,} URLs: {disk_mib:.0f} MiB. Restore cost on {baseline_urls:,} records: "
            f"{ours_rate:,.0f} records per CPU second against faust's {faust_rate:,.0f} (whole process, start-up included; "
            f"× {ours_rate / faust_rate:.0f}). Targets: ≤ 300 MB RSS, ≤ 60 s restore. "
            f"The machine was shared with other work: load average {load_avg} (1/5/15 min) at the end of the run.")
    return {"cold": cold, "warm": warm, "small": small_ours, "faust": small_faust, "startup": startup_ours,
            "startup_faust": startup_faust, "markdown": text}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_seen_state")
    parser.add_argument("--urls", type=int, default=1_000_000)
    parser.add_argument("--baseline-urls", type=int, default=100_000)
    parser.add_argument("--startup-urls", type=int, default=20_000)
    args = parser.parse_args(argv)
    print(asyncio.run(run(args.urls, args.baseline_urls, args.startup_urls))["markdown"])


if __name__ == "__main__":
    main()
