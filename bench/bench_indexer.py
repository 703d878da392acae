"""Indexing throughput: the indexer's write path against a bare `helpers.async_bulk` loop.

Documents: the sample site's articles, parsed and enriched once, then copied under
new ids up to `--docs` documents. Both contenders index the same documents, in
chunks of 500, into fresh indices built from the same index template, on the same
Elasticsearch node, one after the other, `--rounds` times; we report the median.

- newsflow: event model → `to_document` → `BulkWriter.write` (external versioning,
  the per-batch lookup that keeps updates in the index holding the article,
  per-item outcome classification),
- baseline: `elasticsearch.helpers.async_bulk` with plain index actions (`_id` set)
  of the very same document dicts.

    python -m bench.bench_indexer [--docs 6000] [--rounds 3]

Needs Elasticsearch: the benchmark starts its own (bench/stack.py, port 29200).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import datetime, timezone
from typing import Any

from elasticsearch import AsyncElasticsearch
from elasticsearch.helpers import async_bulk

from bench.scoring import markdown_table, median
from schemas.enriched_article_v1 import EnrichedArticleV1
from services.indexer.bulk import BulkItem, BulkWriter
from services.indexer.documents import document_version, to_document
from services.indexer.templates import IndexNames, install

CHUNK = 500


def articles(count: int) -> list[EnrichedArticleV1]:
    from services.enrichment.logic import enrich, load_models
    from services.parser.extract import parse_page
    from devtools.samplesite.server import SITE_DIR, load_manifest
    from services.scraper.decisions import build_raw_page

    manifest, models, base = load_manifest(), load_models(), []
    for page in manifest.articles():
        url = "http://127.0.0.1:8800" + page.path
        body = (SITE_DIR / page.file).read_bytes().replace(b"{{BASE_URL}}", b"http://127.0.0.1:8800")
        raw = build_raw_page(source=page.outlet, requested_url=url, final_url=url, canonical_url=url, status=200,
                             headers={"content-type": "text/html"}, body=body, fetched_at=datetime.now(timezone.utc), fetch_ms=0,
                             discovered_via=None, trace_id=None, language_hint=None, timezone=manifest.outlets[page.outlet].timezone)
        parsed = parse_page(raw)
        base.append(enrich(parsed, models))  # type: ignore[arg-type]
    out = []
    for i in range(count):
        a = base[i % len(base)]
        out.append(a.model_copy(update={"id": f"{i:016x}", "url": f"{a.url}?copy={i}"}))
    return out


async def newsflow_round(es: AsyncElasticsearch, alias: str, docs: list[EnrichedArticleV1]) -> float:
    names = IndexNames(alias)
    await install(es, names)
    writer = BulkWriter(es, names)
    started = time.perf_counter()
    now = datetime.now(timezone.utc)
    for i in range(0, len(docs), CHUNK):
        items = [BulkItem(a.id, document_version(a), to_document(a, now)) for a in docs[i : i + CHUNK]]
        outcomes = await writer.write(items)
        assert all(o.status == "indexed" for o in outcomes)
    return len(docs) / (time.perf_counter() - started)


async def bare_round(es: AsyncElasticsearch, alias: str, docs: list[EnrichedArticleV1]) -> float:
    names = IndexNames(alias)
    await install(es, names)
    now = datetime.now(timezone.utc)
    prepared = [to_document(a, now) for a in docs]  # the baseline gets its documents ready-made
    started = time.perf_counter()
    ok, errors = await async_bulk(es, ({"_index": names.write_alias, "_id": d["id"], "_source": d} for d in prepared), chunk_size=CHUNK, max_chunk_bytes=100 * 1024 * 1024)
    assert ok == len(prepared) and not errors
    return len(docs) / (time.perf_counter() - started)


async def run(count: int, rounds: int) -> dict[str, Any]:
    from bench.stack import bench_component
    from devtools.devstack.stack import Elasticsearch as ESNode

    async with bench_component(ESNode) as cfg:
        docs = await asyncio.to_thread(articles, count)
        es = AsyncElasticsearch(**cfg.admin_es_kwargs(), request_timeout=120)
        ours, bare = [], []
        try:
            for r in range(rounds):
                stamp = int(time.time())
                bare.append(await bare_round(es, f"bench-bare-{stamp}-{r}", docs))
                ours.append(await newsflow_round(es, f"bench-nf-{stamp}-{r}", docs))
            await es.indices.delete(index="bench-*", ignore_unavailable=True, allow_no_indices=True)
        finally:
            await es.close()
    ours_m, bare_m = median(ours), median(bare)
    table = markdown_table(
        ["contender", "docs/s (median)", "rounds"],
        [["newsflow indexer write path (to_document + BulkWriter)", round(ours_m), ", ".join(f"{x:.0f}" for x in ours)],
         ["bare helpers.async_bulk (ready-made documents)", round(bare_m), ", ".join(f"{x:.0f}" for x in bare)]],
    )
    return {"newsflow_docs_per_second": ours_m, "baseline_docs_per_second": bare_m, "ratio": ours_m / bare_m,
            "markdown": f"Indexing {count} articles in chunks of {CHUNK}, {rounds} rounds:\n\n{table}\n\nnewsflow / bare async_bulk = {ours_m / bare_m:.2f}"}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_indexer")
    parser.add_argument("--docs", type=int, default=6000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    print(asyncio.run(run(args.docs, args.rounds))["markdown"])


if __name__ == "__main__":
    main()
