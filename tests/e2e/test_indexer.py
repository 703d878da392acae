"""The indexer service on the real Kafka and Elasticsearch: stale versions, rejected documents, outages."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from elasticsearch import AsyncElasticsearch

from devtools.devstack.stack import Stack, StackConfig
from tests.e2e.conftest import RunningPipeline, pipeline_running
from tests.helpers import all_indexed, dead_letters, eventually, expected_ids, indexed_count, produce
from tests.services.indexer.conftest import article

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def indexer_only(stack: Stack, stack_config: StackConfig, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPipeline]:
    with pipeline_running(stack_config, tmp_path_factory.mktemp("indexer"), poll_interval=3600, services=("indexer",)) as running:
        yield running


async def _doc(es: AsyncElasticsearch, alias: str, doc_id: str) -> dict | None:  # type: ignore[type-arg]
    try:
        await es.indices.refresh(index=alias)
        hits = (await es.search(index=alias, query={"ids": {"values": [doc_id]}}))["hits"]["hits"]
    except Exception:  # noqa: BLE001 - index not there yet
        return None
    return hits[0]["_source"] if hits else None


async def test_republishing_an_old_version_keeps_the_newer_one(indexer_only: RunningPipeline, stack_config: StackConfig, es: AsyncElasticsearch) -> None:
    topic = indexer_only.topic("news.articles.enriched.v1")
    newer = article(501, minutes_later=30, title="Версия после правки")
    older = article(501, title="Первая версия")
    marker = article(502)
    await produce(stack_config.kafka_bootstrap, topic, [(newer.id.encode(), newer.model_dump_json().encode())])
    await eventually(lambda: _doc(es, indexer_only.alias, newer.id), timeout=120, what="the newer version indexed")

    # The old version arrives later (a replay, a restart, a slow partition), then a marker
    # behind it on the same partition so we know the old one was processed.
    await produce(stack_config.kafka_bootstrap, topic, [(older.id.encode(), older.model_dump_json().encode()),
                                                        (older.id.encode(), marker.model_copy(update={"id": "00000000000001f7"}).model_dump_json().encode())])
    await eventually(lambda: _doc(es, indexer_only.alias, "00000000000001f7"), timeout=120, what="the marker indexed")
    doc = await _doc(es, indexer_only.alias, newer.id)
    assert doc is not None and doc["title"] == "Версия после правки"


async def test_one_unindexable_document_goes_to_dead_letters_with_elasticsearchs_reason(
    indexer_only: RunningPipeline, stack_config: StackConfig, es: AsyncElasticsearch
) -> None:
    topic = indexer_only.topic("news.articles.enriched.v1")
    good = [article(600 + n) for n in range(6)]
    # An enrichment release ahead of the index contract: a provenance field the mapping
    # does not know. dynamic=strict refuses it; the event schema itself accepts it.
    bad = article(650)
    bad_value = bad.model_dump(mode="json")
    bad_value["provenance"]["sentiment"] = {"source": "enrichment", "confidence": 0.5}
    import json

    messages = [(a.id.encode(), a.model_dump_json().encode()) for a in good[:3]]
    messages.append((bad.id.encode(), json.dumps(bad_value).encode()))
    messages += [(a.id.encode(), a.model_dump_json().encode()) for a in good[3:]]
    await produce(stack_config.kafka_bootstrap, topic, messages)

    async def goods_indexed() -> bool:
        return all([await _doc(es, indexer_only.alias, a.id) for a in good])

    await eventually(goods_indexed, timeout=120, what="the six good articles indexed")
    assert await _doc(es, indexer_only.alias, bad.id) is None

    async def rejected() -> list[dict]:  # type: ignore[type-arg]
        records = await dead_letters(stack_config.kafka_bootstrap, indexer_only.topic("news.deadletter.v1"))
        return [r for r in records if r["stage"] == "indexer" and r["article_id"] == bad.id]

    [record] = await eventually(rejected, timeout=60, what="the rejected article in the dead-letter topic")
    assert record["reason"] == "elasticsearch-strict_dynamic_mapping_exception"
    assert "sentiment" in record["detail"] and "dynamic" in record["detail"]
    assert json.loads(__import__("base64").b64decode(record["original_value_b64"]))["id"] == bad.id


async def test_elasticsearch_down_for_half_a_minute_loses_and_duplicates_nothing(
    stack: Stack, stack_config: StackConfig, tmp_path_factory: pytest.TempPathFactory, es: AsyncElasticsearch
) -> None:
    with pipeline_running(stack_config, tmp_path_factory.mktemp("outage"), poll_interval=3600, min_delay=0.3) as running:
        try:
            expected = expected_ids(running.base_url, running.manifest)
            # Articles are flowing (the crawl takes ~10 s at this pace); take Elasticsearch away.
            await asyncio.sleep(2)
            await asyncio.to_thread(stack.elasticsearch.stop)
            await asyncio.sleep(35)
            assert running.pipeline.process("indexer").pid(), "the indexer waits, it does not crash"
            await asyncio.to_thread(stack.elasticsearch.start)
            await asyncio.to_thread(stack.elasticsearch.wait)

            await eventually(lambda: all_indexed(es, running.alias, list(expected)), timeout=240, what="every article after Elasticsearch came back")
            assert await indexed_count(es, running.alias) == len(expected)
            records = await dead_letters(stack_config.kafka_bootstrap, running.topic("news.deadletter.v1"))
            assert not [r for r in records if r["stage"] == "indexer"], "an outage is never dead-lettered"
        finally:
            if not stack.elasticsearch.healthy():
                await asyncio.to_thread(stack.elasticsearch.start)
                await asyncio.to_thread(stack.elasticsearch.wait)
