"""Enrichment throughput and memory on the bundled sample site (a benchmark, not a test).

    python -m bench.bench_enrichment [--rounds 5]

1. In one process: `load_models()` once, then `enrich` over every sample-site article
   (parsed first with services.parser.extract.parse_page), several rounds; the median
   round gives articles per second. RSS is read from /proc/self/status (VmRSS after
   loading the models, VmHWM as the peak).
2. Through the service's worker pool (`WorkerPool`, what NEWSFLOW_ENRICHMENT_WORKERS
   sets) with 1 and 2 worker processes, articles submitted concurrently: throughput
   including the pickling between processes, and each worker's RSS.

Prints a markdown table for the README's performance section.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
from datetime import datetime, timezone
from typing import Any


def _status(pid: int | str = "self") -> dict[str, int]:
    """VmRSS / VmHWM of a process, in MiB."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                name, value = line.split(":", 1)
                out[name] = int(value.split()[0]) // 1024
    return out


def _memory(pid: int | str = "self") -> dict[str, int]:
    """RSS and PSS of a process, in MiB (PSS shares each shared page among its users, so the
    PSS of a process tree adds up to the memory it really takes; RSS counts shared pages in
    every process)."""
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith(("Rss:", "Pss:")):
                name, value = line.split(":", 1)
                out[name.lower()] = int(value.split()[0]) // 1024
    return out


def sample_articles() -> list[Any]:
    from services.common.outcomes import Rejected
    from services.parser.extract import parse_page
    from devtools.samplesite.server import SITE_DIR, load_manifest
    from services.scraper.decisions import build_raw_page

    manifest = load_manifest()
    base = "http://127.0.0.1:8800"
    articles = []
    for page in manifest.articles():
        outlet = manifest.outlets[page.outlet]
        body = (SITE_DIR / page.file).read_bytes().replace(b"{{BASE_URL}}", base.encode())
        url = base + page.path
        headers = {"content-type": f"text/html; charset={page.encoding}" if page.charset_in_header else "text/html"}
        raw = build_raw_page(
            source=page.outlet, requested_url=url, final_url=url, canonical_url=url, status=200, headers=headers,
            body=body, fetched_at=datetime(2025, 10, 21, tzinfo=timezone.utc), fetch_ms=1, discovered_via=None,
            trace_id=None, language_hint=outlet.language, timezone=outlet.timezone,
        )
        parsed = parse_page(raw)
        if not isinstance(parsed, Rejected):
            articles.append(parsed)
    return articles


async def _pool_run(articles: list[Any], processes: int, rounds: int) -> dict[str, Any]:
    from services.common.workers import WorkerPool

    pool = WorkerPool("enrichment", "services.enrichment.pool_entry:prepare_worker", size=processes, time_limit=300)
    payloads = [a.model_dump_json().encode() for a in articles]
    started = time.perf_counter()
    pids = await pool.start()
    warm = time.perf_counter() - started
    rates = []
    try:
        for _ in range(rounds):
            t0 = time.perf_counter()
            await asyncio.gather(*(pool.run(p) for p in payloads))
            rates.append(len(articles) / (time.perf_counter() - t0))
        rss = [_status(pid)["VmRSS"] for pid in sorted(set(pids))]
        tree: dict[str, Any] = {"zygote": _memory(pool.zygote_pid),  # type: ignore[arg-type]
                                "workers": [_memory(pid) for pid in sorted(set(pids))]}
    finally:
        pool.close()
    tree["total"] = {key: tree["zygote"][key] + sum(w[key] for w in tree["workers"]) for key in ("rss", "pss")}
    return {"processes": processes, "rate": statistics.median(rates), "rss": rss, "warm_up": warm, "tree": tree}


def run(rounds: int = 5, pool: bool = True, in_process: bool = True) -> dict[str, Any]:
    """Measure; returns {"markdown": report, "summary": numbers} (used by `python -m bench`)."""
    from bench.scoring import markdown_table
    from services.enrichment.logic import ENRICHMENT_VERSION, enrich, load_models

    articles = sample_articles()
    words = sum(len(a.body.split()) for a in articles)
    if not in_process:
        return _pool_only(articles, words, rounds)
    baseline = _status()["VmRSS"]
    t0 = time.perf_counter()
    models = load_models()
    load_seconds = time.perf_counter() - t0
    loaded = _status()["VmRSS"]
    for a in articles:  # first pass: caches (pymorphy3 parses, simplemma dictionaries) fill up
        enrich(a, models)
    rates, per_article = [], []
    for _ in range(rounds):
        times = []
        t0 = time.perf_counter()
        for a in articles:
            t1 = time.perf_counter()
            enrich(a, models)
            times.append(time.perf_counter() - t1)
        rates.append(len(articles) / (time.perf_counter() - t0))
        per_article.extend(times)
    peak = _status()["VmHWM"]
    ordered = sorted(per_article)
    summary: dict[str, Any] = {
        "articles": len(articles), "words": words, "rounds": rounds,
        "articles_per_second": round(statistics.median(rates), 2),
        "latency_ms": {"median": round(statistics.median(per_article) * 1000),
                       "p95": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000),
                       "max": round(ordered[-1] * 1000)},
        "model_load_seconds": round(load_seconds, 1),
        "rss_mib": {"before_models": baseline, "after_models": loaded, "peak": peak},
        "pool": [],
    }
    rows: list[list[object]] = [
        ["articles (sample site)", f"{len(articles)} ({words} words, ru + en)"],
        ["rounds", rounds],
        ["throughput, one process (median round)", f"{summary['articles_per_second']:.1f} articles/s"],
        ["latency per article: median / p95 / max",
         "{median} / {p95} / {max} ms".format(**summary["latency_ms"])],
        ["model loading (once per process)", f"{load_seconds:.1f} s"],
        ["RSS before models / after models / peak", f"{baseline} / {loaded} / {peak} MiB"],
    ]
    if pool:
        for processes in (1, 2):
            result = asyncio.run(_pool_run(articles, processes, max(2, rounds // 2)))
            summary["pool"].append({k: (round(v, 2) if isinstance(v, float) else v) for k, v in result.items()})
            tree = result["tree"]
            rows.append([f"worker pool, NEWSFLOW_ENRICHMENT_WORKERS={processes}",
                         f"{result['rate']:.1f} articles/s; RSS per worker {', '.join(map(str, result['rss']))} MiB;"
                         f" start-up {result['warm_up']:.1f} s"])
            rows.append([f"NLP processes, {processes} worker(s): PSS / RSS of zygote + workers",
                         f"**{tree['total']['pss']} MiB PSS** / {tree['total']['rss']} MiB RSS (zygote "
                         f"{tree['zygote']['pss']} / {tree['zygote']['rss']}, workers "
                         + ", ".join(f"{w['pss']} / {w['rss']}" for w in tree["workers"]) + ")"])
    markdown = (f"## Enrichment benchmark\n\n`{ENRICHMENT_VERSION}`, Python {platform.python_version()}, "
                f"{os.cpu_count()} CPU cores, {platform.machine()}\n\n" + markdown_table(["measure", "value"], rows))
    return {"markdown": markdown, "summary": summary}


def _pool_only(articles: list[Any], words: int, rounds: int) -> dict[str, Any]:
    """The worker-pool measurements alone, in a process that never loaded the models itself
    (as the service's main process): throughput and memory with 1 and 2 workers."""
    from bench.scoring import markdown_table
    from services.enrichment.logic import ENRICHMENT_VERSION

    summary: dict[str, Any] = {"articles": len(articles), "words": words, "pool": []}
    rows: list[list[object]] = [["articles (sample site)", f"{len(articles)} ({words} words, ru + en)"]]
    for processes in (1, 2):
        result = asyncio.run(_pool_run(articles, processes, rounds))
        summary["pool"].append({k: (round(v, 2) if isinstance(v, float) else v) for k, v in result.items()})
        tree = result["tree"]
        rows.append([f"NEWSFLOW_ENRICHMENT_WORKERS={processes}: articles/s (median of {rounds} rounds), start-up",
                     f"{result['rate']:.1f} articles/s, start-up {result['warm_up']:.1f} s"])
        rows.append([f"NEWSFLOW_ENRICHMENT_WORKERS={processes}: PSS / RSS of zygote + workers",
                     f"**{tree['total']['pss']} MiB PSS** / {tree['total']['rss']} MiB RSS (zygote "
                     f"{tree['zygote']['pss']} / {tree['zygote']['rss']}, workers "
                     + ", ".join(f"{w['pss']} / {w['rss']}" for w in tree["workers"]) + ")"])
    markdown = (f"## Enrichment worker pool\n\n`{ENRICHMENT_VERSION}`, Python {platform.python_version()}, "
                f"{os.cpu_count()} CPU cores\n\n" + markdown_table(["measure", "value"], rows))
    return {"markdown": markdown, "summary": summary}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_enrichment")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-pool", action="store_true", help="skip the process-pool measurements")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON after the table")
    parser.add_argument("--pool-only", action="store_true", help="only the worker pool (models never loaded here)")
    args = parser.parse_args(argv)
    result = run(rounds=args.rounds, pool=not args.no_pool, in_process=not args.pool_only)
    print(result["markdown"])
    if args.json:
        import json

        print(json.dumps(result["summary"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
