"""Parse throughput: pages per second per core, newsflow's parse step against bare trafilatura.

Same pages, same process, same run: every page of the parser corpus and the sample
site, decoded once up front (decoding is the scraper's job). Each contender parses
the whole set `rounds` times; we report the median round. One process, one core.

    python -m bench.bench_parser [--rounds 7]
"""

from __future__ import annotations

import argparse
import gc
import time
from typing import Any, Callable

from bench.eval_parser import load_corpus, raw_event
from bench.scoring import markdown_table, median
from services.parser.extract import parse_page
from devtools.samplesite.server import SITE_DIR, load_manifest


def _pages() -> list[Any]:
    raws = [raw_event(case) for case in load_corpus()]
    manifest = load_manifest()
    for page in manifest.pages:
        from datetime import datetime, timezone

        from services.scraper.decisions import build_raw_page

        body = (SITE_DIR / page.file).read_bytes().replace(b"{{BASE_URL}}", b"http://127.0.0.1:8800")
        url = "http://127.0.0.1:8800" + page.path
        raws.append(build_raw_page(
            source=page.outlet, requested_url=url, final_url=url, canonical_url=url, status=200,
            headers={"content-type": "text/html"}, body=body, fetched_at=datetime.now(timezone.utc), fetch_ms=0,
            discovered_via=None, trace_id=None, language_hint=None, timezone=manifest.outlets[page.outlet].timezone,
        ))
    return raws


def _measure(fn: Callable[[Any], Any], items: list[Any], rounds: int) -> list[float]:
    fn(items[0])  # warm caches and imports outside the clock
    times = []
    for _ in range(rounds):
        gc.collect()
        start = time.perf_counter()
        for item in items:
            fn(item)
        times.append(time.perf_counter() - start)
    return times


def run(rounds: int = 7) -> dict[str, Any]:
    import trafilatura

    raws = _pages()
    contenders: dict[str, Callable[[Any], Any]] = {
        "newsflow parse_page (all fields + provenance)": lambda raw: parse_page(raw),
        "trafilatura.extract (defaults)": lambda raw: trafilatura.extract(raw.html, url=raw.url),
        "trafilatura.extract (favor_precision)": lambda raw: trafilatura.extract(raw.html, url=raw.url, favor_precision=True),
        "trafilatura.extract (json + metadata)": lambda raw: trafilatura.extract(raw.html, url=raw.url, output_format="json", with_metadata=True),
    }
    results = {}
    for name, fn in contenders.items():
        times = _measure(fn, raws, rounds)
        results[name] = len(raws) / median(times)
    base = results["trafilatura.extract (favor_precision)"]
    rows = [[name, round(pps, 1), round(pps / base, 2)] for name, pps in results.items()]
    table = markdown_table(["contender", "pages/s (1 core, median of rounds)", "× trafilatura favor_precision"], rows)
    return {"pages": len(raws), "rounds": rounds, "pages_per_second": results, "markdown": f"Parse throughput over {len(raws)} pages, {rounds} rounds:\n\n{table}"}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_parser")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    print(run(args.rounds)["markdown"])


if __name__ == "__main__":
    main()
