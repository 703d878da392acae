"""`make bench`: every benchmark, one after the other, with the machine they ran on.

    python -m bench                  # all
    python -m bench parser indexer   # some

Results are printed and written to bench/results/bench-<name>.md. Numbers are medians
of several rounds, each next to a baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
BENCHMARKS = {
    "parser": ("bench.bench_parser", {"rounds": 7}),
    "parser-process": ("bench.bench_parser_process", {"copies": 6, "rounds": 3}),
    "enrichment": ("bench.bench_enrichment", {}),
    "scraper": ("bench.bench_scraper", {"pages_per_host": 250, "rounds": 3}),
    "indexer": ("bench.bench_indexer", {"count": 6000, "rounds": 3}),
    "seen-state": ("bench.bench_seen_state", {"urls": 1_000_000, "baseline_urls": 100_000}),
    "crowd": ("bench.bench_crowd", {"hosts": 20, "pages": 100, "crawl_delay": 0.5}),
    "backfill": ("bench.bench_backfill", {"pages": 1000, "files": 400, "rounds": 3}),
    "hostile": ("bench.bench_hostile", {"rounds": 3}),
}


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(next(l for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")).split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, StopIteration, ValueError):
        pass
    return f"{os.cpu_count()} cores ({cpu}){memory}, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("which", nargs="*", metavar="NAME", help=f"any of: {', '.join(BENCHMARKS)} (default: all)")
    args = parser.parse_args(argv)
    unknown = [w for w in args.which if w not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown: {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    RESULTS.mkdir(exist_ok=True)
    header = f"Machine: {machine()}. Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC."
    print(header + "\n")
    for name in args.which or list(BENCHMARKS):
        module_name, kwargs = BENCHMARKS[name]
        module = importlib.import_module(module_name)
        result = module.run(**kwargs)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
        text = f"{header}\n\n{result['markdown']}\n"
        print(text)
        (RESULTS / f"bench-{name}.md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
