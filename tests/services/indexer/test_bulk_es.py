"""BulkWriter against the real Elasticsearch: versions, rejections, rollover, migration."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from elasticsearch import AsyncElasticsearch

from services.common.retry import Backoff
from services.indexer import metrics
from services.indexer.bulk import BulkItem, BulkWriter
from services.indexer.documents import document_version, to_document
from services.indexer.migrate import indices_behind, migrate
from services.indexer.templates import IndexNames, rollover
from tests.services.indexer.conftest import article

NOW = datetime(2025, 10, 11, tzinfo=timezone.utc)


def item(a, **doc_update):  # type: ignore[no-untyped-def]
    doc = {**to_document(a, NOW), **doc_update}
    return BulkItem(a.id, document_version(a), doc)


async def get(es: AsyncElasticsearch, names: IndexNames, doc_id: str) -> dict:  # type: ignore[type-arg]
    await es.indices.refresh(index=names.alias)
    hits = (await es.search(index=names.alias, query={"ids": {"values": [doc_id]}}, version=True))["hits"]["hits"]
    assert len(hits) == 1, f"{doc_id} is in the index exactly once, found {len(hits)}"
    return hits[0]


async def test_an_older_version_never_replaces_a_newer_one(es_index) -> None:  # type: ignore[no-untyped-def]
    es, names = es_index
    writer = BulkWriter(es, names)
    newer, older = article(1, minutes_later=10, title="Новая версия"), article(1, title="Старая версия")
    assert [o.status for o in await writer.write([item(newer)])] == ["indexed"]
    assert [o.status for o in await writer.write([item(older)])] == ["stale"]
    assert (await get(es, names, newer.id))["_source"]["title"] == "Новая версия"
    # A replay of the same version is harmless (external_gte).
    assert [o.status for o in await writer.write([item(newer)])] == ["indexed"]


async def test_one_unindexable_document_does_not_stop_the_batch(es_index) -> None:  # type: ignore[no-untyped-def]
    es, names = es_index
    writer = BulkWriter(es, names)
    good = [item(article(n)) for n in range(5)]
    bad = item(article(99), provenance={"title": {"source": "jsonld", "confidence": 0.9}, "sentiment": {"source": "x"}})
    outcomes = await writer.write([*good[:2], bad, *good[2:]])
    assert [o.status for o in outcomes] == ["indexed", "indexed", "rejected", "indexed", "indexed", "indexed"]
    assert outcomes[2].reason == "elasticsearch-strict_dynamic_mapping_exception"
    assert "sentiment" in (outcomes[2].detail or "")
    await es.indices.refresh(index=names.alias)
    assert (await es.count(index=names.alias))["count"] == 5


async def test_updates_after_a_rollover_replace_the_article_where_it_lives(es_index) -> None:  # type: ignore[no-untyped-def]
    es, names = es_index
    writer = BulkWriter(es, names)
    first = article(7)
    await writer.write([item(first)])
    result = await rollover(es, names)
    assert result["rolled_over"] and result["new_index"] == f"{names.alias}-v1-000002"
    await writer.write([item(article(7, minutes_later=5, title="Обновлено после ротации"))])
    hit = await get(es, names, first.id)
    assert hit["_index"] == names.first_index and hit["_source"]["title"] == "Обновлено после ротации"
    await writer.write([item(article(8))])
    assert (await get(es, names, article(8).id))["_index"] == f"{names.alias}-v1-000002"


async def test_migration_to_a_new_mapping_version_swaps_aliases_without_losing_updates(es_index) -> None:  # type: ignore[no-untyped-def]
    es, names = es_index
    v1 = BulkWriter(es, names)
    await v1.write([item(article(n)) for n in range(6)])
    v2_names = IndexNames(names.alias, 2)
    report = await migrate(es, names, v2_names)
    assert report.copied == 6 and report.target_index == v2_names.first_index
    assert await indices_behind(es, names.alias) == [v2_names.first_index]
    assert await indices_behind(es, names.write_alias) == [v2_names.first_index]
    # The v2 indexer writes where v2 lives; nothing goes back to v1.
    v2 = BulkWriter(es, v2_names)
    await v2.write([item(article(2, minutes_later=3, title="После миграции"))])
    hit = await get(es, v2_names, article(2).id)
    assert hit["_index"] == v2_names.first_index and hit["_source"]["title"] == "После миграции"
    await es.indices.refresh(index=names.alias)
    assert (await es.count(index=names.alias))["count"] == 6


class RolloverDuringTheBatch(BulkWriter):
    """Runs a real rollover right after the writer looked up where articles live: the race
    between `newsflow index rollover` and a bulk request, made to happen every time."""

    rolled = False

    async def _locate(self, ids):  # type: ignore[no-untyped-def]
        located = await super()._locate(ids)
        if ids and not self.rolled:
            self.rolled = True
            assert (await rollover(self.es, self.names))["rolled_over"]
        return located


async def test_a_rollover_between_lookup_and_bulk_leaves_one_copy_of_an_article(es_index) -> None:  # type: ignore[no-untyped-def]
    es, names = es_index
    await BulkWriter(es, names).write([item(article(5))])
    racing = RolloverDuringTheBatch(es, names)
    outcomes = await racing.write([item(article(5, minutes_later=7, title="Правка во время ротации")), item(article(6))])
    assert racing.rolled and [o.status for o in outcomes] == ["indexed", "indexed"]
    hit = await get(es, names, article(5).id)  # asserts exactly one copy behind the read alias
    assert hit["_source"]["title"] == "Правка во время ротации"
    assert (await get(es, names, article(6).id))["_index"] == f"{names.alias}-v1-000002"


async def test_a_write_block_pauses_the_writer_and_the_pause_ends_when_writes_go_through(es_index) -> None:  # type: ignore[no-untyped-def]
    """Elasticsearch answers 429 while an index refuses writes (read_only_allow_delete, what a full
    disk sets): the writer waits and says it is paused; once writes go through the pause gauge
    is back to 0, so the paused alert stops (it used to stay at 1 for good)."""
    es, names = es_index
    writer = BulkWriter(es, names, Backoff(0.05, 0.2))
    await writer.write([item(article(1))])  # the write index exists
    block = {"index.blocks.read_only_allow_delete": True}
    await es.indices.put_settings(index=f"{names.alias}-v*", settings=block)
    try:
        writing = asyncio.ensure_future(writer.write([item(article(2))]))
        for _ in range(200):
            if metrics.PAUSED._value.get() == 1:  # noqa: SLF001 - the gauge's own value
                break
            await asyncio.sleep(0.05)
        assert metrics.PAUSED._value.get() == 1 and not writing.done()  # noqa: SLF001
    finally:
        await es.indices.put_settings(index=f"{names.alias}-v*", settings={"index.blocks.read_only_allow_delete": None})
    assert [o.status for o in await asyncio.wait_for(writing, 60)] == ["indexed"]
    assert metrics.PAUSED._value.get() == 0  # noqa: SLF001
