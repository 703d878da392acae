"""Backfill and batch throughput: WARC reading, `newsflow backfill` into Kafka, `parse --batch --jobs`.

1. Reading: the same archive (2 × `--pages` records, gzipped per record like CC-NEWS) read
   with FastWARC and with warcio, each record's HTTP payload read: records/s, median of rounds.
2. `newsflow backfill ARCHIVE --jobs 2 --no-index-check` into a real Kafka (a fresh topic
   namespace per round), as an operator runs it: records/s and pages/s from wall time
   (process start to exit); baseline in the same run: a bare aiokafka producer (acks=all,
   gzip) publishing the same number of ready-made raw page events.
3. `newsflow parse --batch DIR --jobs 2` against `--jobs 1` on the same files (the parser
   corpus, repeated to `--files`), wall time, median of rounds.

    python -m bench.bench_backfill [--pages 1000] [--files 400] [--rounds 3]

Needs Kafka: the benchmark starts its own (bench/stack.py, port 29092).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.scoring import markdown_table, median

ROOT = Path(__file__).resolve().parents[1]


def read_fastwarc(path: Path) -> int:
    from fastwarc.warc import ArchiveIterator

    count = 0
    with open(path, "rb") as stream:
        for record in ArchiveIterator(stream, parse_http=True, auto_decode="transfer"):
            if record.reader is not None:
                record.reader.read()
            count += 1
    return count


def read_warcio(path: Path) -> int:
    from warcio.archiveiterator import ArchiveIterator

    count = 0
    with open(path, "rb") as stream:
        for record in ArchiveIterator(stream):
            record.content_stream().read()
            count += 1
    return count


def timed(fn, *args) -> tuple[float, Any]:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - started, result


def cli(env: dict[str, str], *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "services.cli", *args], env=env, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"newsflow {args[0]} failed: {result.stderr[-2000:]}")
    return elapsed, result


async def bare_publish(kafka: dict[str, Any], topic: str, values: list[bytes]) -> float:
    from aiokafka import AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(**kafka)
    await admin.start()
    await admin.create_topics([NewTopic(topic, 4, 1, topic_configs={"max.message.bytes": str(8 * 1024 * 1024)})])
    await admin.close()
    producer = AIOKafkaProducer(**kafka, acks="all", enable_idempotence=True,
                                compression_type="gzip", max_request_size=8 * 1024 * 1024, linger_ms=20)
    await producer.start()
    started = time.perf_counter()
    try:
        futures = [await producer.send(topic, value, key=str(i).encode()) for i, value in enumerate(values)]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return time.perf_counter() - started


def raw_events(path: Path) -> list[bytes]:
    """The raw page events the backfill would publish for `path` (for the bare producer)."""
    from services.batch.pages import Filters, SourceBook, select, to_raw_page
    from services.batch.warc import WarcEntry, read_archive
    from services.common.bounded import PageLimits

    events = []
    for entry in read_archive(path):
        if isinstance(entry, WarcEntry) and select(entry, SourceBook(), Filters()) is None:
            raw = to_raw_page(entry, SourceBook(), Filters(), PageLimits())
            events.append(raw.model_dump_json().encode())  # type: ignore[union-attr]
    return events


async def run(pages: int = 1000, files: int = 400, rounds: int = 3) -> dict[str, Any]:
    from bench.stack import bench_component
    from devtools.devstack.stack import Kafka
    from tests.warc_builder import generated_site_records, write_warc

    work = Path(tempfile.mkdtemp(prefix="newsflow-bench-backfill-"))
    try:
        archive = work / "CC-NEWS-bench.warc.gz"
        records, _ = generated_site_records(pages)
        write_warc(archive, records)
        size_mb = archive.stat().st_size / 1e6

        fast, slow = [], []
        for _ in range(rounds):
            seconds, count = timed(read_fastwarc, archive)
            fast.append(count / seconds)
            seconds, count = timed(read_warcio, archive)
            slow.append(count / seconds)

        events = raw_events(archive)
        ours_records, ours_pages, bare = [], [], []
        async with bench_component(Kafka) as cfg:
            for _ in range(rounds):
                namespace = f"bench{uuid.uuid4().hex[:8]}"
                # The secured bench stack's administrator (it creates the namespace's topics).
                env = {**os.environ, **{k: v or "" for k, v in cfg.env("admin").items()},
                       "NEWSFLOW_KAFKA_BOOTSTRAP": cfg.kafka_bootstrap, "NEWSFLOW_KAFKA_TOPIC_NAMESPACE": namespace,
                       "NEWSFLOW_DATA_DIR": str(work / namespace)}
                seconds, _ = await asyncio.to_thread(cli, env, "backfill", str(archive), "--jobs", "2", "--no-index-check")
                ours_records.append(len(records) / seconds)
                ours_pages.append(pages / seconds)
                bare.append(len(events) / await bare_publish(cfg.admin_kafka_kwargs(), f"bench.bare.{namespace}", events))

        corpus = sorted((ROOT / "bench/corpus/parser/pages").glob("*.html"))
        folder = work / "pages"
        folder.mkdir()
        for i in range(files):
            shutil.copy(corpus[i % len(corpus)], folder / f"{i:05d}-{corpus[i % len(corpus)].name}")
        one, two = [], []
        for _ in range(rounds):
            seconds, _ = cli(dict(os.environ), "parse", "--batch", str(folder), "--jobs", "1")
            one.append(files / seconds)
            seconds, _ = cli(dict(os.environ), "parse", "--batch", str(folder), "--jobs", "2")
            two.append(files / seconds)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    reading = markdown_table(
        ["reader", "records/s (median)", "rounds"],
        [["FastWARC 2.0.0 (used)", round(median(fast)), ", ".join(f"{x:.0f}" for x in fast)],
         ["warcio 1.8.1", round(median(slow)), ", ".join(f"{x:.0f}" for x in slow)]],
    )
    backfill = markdown_table(
        ["contender", "records/s (median)", "pages/s (median)", "rounds (pages/s)"],
        [["`newsflow backfill --jobs 2` (read, decode, charset, canonical, event, publish acks=all), wall time",
          round(median(ours_records), 1), round(median(ours_pages), 1), ", ".join(f"{x:.0f}" for x in ours_pages)],
         ["bare aiokafka producer, the same ready-made events (acks=all, gzip)", "—", round(median(bare), 1),
          ", ".join(f"{x:.0f}" for x in bare)]],
    )
    batch = markdown_table(
        ["`newsflow parse --batch`", "pages/s (median)", "rounds"],
        [["--jobs 1", round(median(one), 1), ", ".join(f"{x:.1f}" for x in one)],
         ["--jobs 2", round(median(two), 1), ", ".join(f"{x:.1f}" for x in two)]],
    )
    text = (f"WARC reading, {len(records)} records ({pages} HTML responses, {size_mb:.1f} MB gzipped per record), "
            f"{rounds} rounds:\n\n{reading}\n\nFastWARC / warcio = {median(fast) / median(slow):.2f}\n\n"
            f"Backfill into Kafka, the same archive:\n\n{backfill}\n\n"
            f"backfill / bare producer (pages/s) = {median(ours_pages) / median(bare):.2f}\n\n"
            f"Batch parsing, {files} files (the parser corpus repeated), wall time including start-up:\n\n{batch}\n\n"
            f"--jobs 2 / --jobs 1 = {median(two) / median(one):.2f}")
    return {"fastwarc": median(fast), "warcio": median(slow), "backfill_pages_per_second": median(ours_pages),
            "bare_pages_per_second": median(bare), "jobs1": median(one), "jobs2": median(two), "markdown": text}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_backfill")
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--files", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    print(asyncio.run(run(args.pages, args.files, args.rounds))["markdown"])


if __name__ == "__main__":
    main()
