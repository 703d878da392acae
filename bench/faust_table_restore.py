"""The baseline of bench_seen_state: faust's own recovery of a table from its changelog.

A faust app shaped like the scraper before its crawl state had its own restore: a `seen`
Table on faust's RocksDB store (rocksdict, the options the scraper used), co-partitioned
with the frontier topic. It prints one JSON line when faust reports its tables recovered
(`recovery_s` from the worker's start, `cpu_s` of the whole process) and exits.

    python -m bench.faust_table_restore --bootstrap HOST:PORT --app-id ID --topic FRONTIER --datadir DIR
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from pathlib import Path

import faust


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.faust_table_restore")
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--app-id", required=True)
    parser.add_argument("--topic", required=True, help="the frontier topic the table is co-partitioned with")
    parser.add_argument("--datadir", type=Path, required=True)
    parser.add_argument("--partitions", type=int, default=4)
    args = parser.parse_args(argv)
    started = time.monotonic()
    app = faust.App(args.app_id, broker=f"kafka://{args.bootstrap}", datadir=str(args.datadir), autodiscover=False,
                    web_enabled=False, topic_disable_leader=True, table_standby_replicas=0, consumer_auto_offset_reset="earliest")
    frontier = app.topic(args.topic, partitions=args.partitions, internal=False, key_serializer="raw", value_serializer="raw")
    options = {"block_cache_size": 64 * 1024 * 1024, "write_buffer_size": 16 * 1024 * 1024, "max_write_buffer_number": 2,
               "target_file_size_base": 32 * 1024 * 1024, "max_open_files": 256}
    app.Table("seen", partitions=args.partitions, store="rocksdb:seen", options=options,
              schema=faust.Schema(key_serializer="json", value_serializer="json"))

    @app.agent(frontier)
    async def idle(stream):  # type: ignore[no-untyped-def]
        async for _ in stream:
            pass

    @app.task
    async def report() -> None:
        while not (app.tables.recovery.completed.is_set() and app.tables.recovery.active_tps):
            await asyncio.sleep(0.2)
        status = Path("/proc/self/status").read_text().splitlines()
        fields = {line.split(":")[0]: line.split(":")[1].strip() for line in status if ":" in line}
        print(json.dumps({"recovery_s": time.monotonic() - started, "cpu_s": time.process_time(),
                          "rss_mib": int(fields["VmRSS"].split()[0]) / 1024, "peak_mib": int(fields["VmHWM"].split()[0]) / 1024}),
              flush=True)
        os._exit(0)

    faust.Worker(app, loglevel="WARNING", quiet=True, redirect_stdouts=False).execute_from_commandline()


if __name__ == "__main__":
    main()
