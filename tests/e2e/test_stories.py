"""Enrichment end to end: the sample site crawled through the four services into Elasticsearch.

Asks what downstream apps ask: "other outlets' versions of this story", "every article
quoting X", "who is in this article".
"""

from __future__ import annotations

import pytest
from elasticsearch import AsyncElasticsearch

from tests.e2e.conftest import RunningPipeline
from tests.helpers import eventually, expected_ids

pytestmark = pytest.mark.slow

PAIR = ("overchuk-baku-north-south", "baku-north-south-schedule")  # manifest story: baku-north-south-2025-10-15
SEED = "putin-aliev-dushanbe"
SEED_PERSONS = ("Путин", "Алиев", "Песков", "Матвейчев", "Джабаров", "Мирзазаде", "Мусабеков", "Захарова", "Ярошенко")
SEED_LOCATIONS = ("Душанбе", "Баку", "Таджикистан", "Азербайджан")
SEED_SPEAKERS = {
    "Олег Матвейчев": "Личные отношения очень важны",
    "Владимир Джабаров": "Я полагаю, что она послужит началом преодоления",
    "Айдын Мирзазаде": "Интерес есть и у десятков других государств",
    "Мария Захарова": "Очень многие хотят в этом половить какую-то свою удачу",
}


async def _indexed(es: AsyncElasticsearch, alias: str, ids: list[str]) -> dict[str, dict]:  # type: ignore[type-arg]
    try:
        await es.indices.refresh(index=alias)
        hits = (await es.search(index=alias, size=len(ids), query={"ids": {"values": ids}}))["hits"]["hits"]
    except Exception:  # noqa: BLE001 - index not created yet
        return {}
    return {h["_id"]: h["_source"] for h in hits}


@pytest.fixture
async def documents(running_pipeline: RunningPipeline, es: AsyncElasticsearch) -> dict[str, dict]:  # type: ignore[type-arg]
    """Every sample article's indexed document, by manifest id."""
    expected = expected_ids(running_pipeline.base_url, running_pipeline.manifest)

    async def complete() -> dict[str, dict] | None:  # type: ignore[type-arg]
        docs = await _indexed(es, running_pipeline.alias, list(expected))
        return docs if len(docs) == len(expected) else None

    docs = await eventually(complete, timeout=300, what=f"all {len(expected)} sample articles indexed")
    return {expected[i].id: doc for i, doc in docs.items()}


async def test_rewrites_share_a_story_and_an_unrelated_article_does_not(
    documents: dict[str, dict], running_pipeline: RunningPipeline, es: AsyncElasticsearch,  # type: ignore[type-arg]
) -> None:
    vestnik, express, seed = documents[PAIR[0]], documents[PAIR[1]], documents[SEED]
    assert vestnik["story_id"] and vestnik["story_id"] == express["story_id"]
    assert seed["story_id"] and seed["story_id"] != vestnik["story_id"]
    stories = {doc["story_id"] for doc in documents.values()}
    assert len(stories) == len(documents) - 1, "the pair is the only story with two articles"
    # The earliest article known when each was assigned; both point into the story.
    assert vestnik["story_first_id"] in (vestnik["id"], express["id"])
    assert express["story_first_id"] in (vestnik["id"], express["id"])
    assert not any(doc.get("duplicate_of") for doc in documents.values())

    # "Other outlets' versions of this story", as a downstream app asks it.
    result = await es.search(index=running_pipeline.alias, query={"term": {"story_id": vestnik["story_id"]}})
    assert {h["_id"] for h in result["hits"]["hits"]} == {vestnik["id"], express["id"]}


async def test_seed_article_entities_and_quote_speakers_are_indexed(
    documents: dict[str, dict], running_pipeline: RunningPipeline, es: AsyncElasticsearch,  # type: ignore[type-arg]
) -> None:
    seed = documents[SEED]
    for surname in SEED_PERSONS:
        assert any(name.split()[-1] == surname and len(name.split()) >= 2 for name in seed["persons"]), (surname, seed["persons"])
    assert set(SEED_LOCATIONS) <= set(seed["locations"]), seed["locations"]
    assert set(SEED_SPEAKERS) <= set(seed["quote_speakers"])
    assert seed["title_lemmas"] and "переговоры" in seed["body_lemmas"].split()
    assert seed["keywords"] and seed["enrichment_version"] != "newsflow-enrichment/0.1.0"

    # "Every article quoting X": a nested query on the quote's speaker and its words.
    for speaker, words in SEED_SPEAKERS.items():
        result = await es.search(index=running_pipeline.alias, query={"nested": {"path": "quotes", "query": {"bool": {"filter": [
            {"term": {"quotes.speaker": speaker}},
            {"match_phrase": {"quotes.text.exact": words}},
        ]}}}})
        assert [h["_id"] for h in result["hits"]["hits"]] == [seed["id"]], speaker

    # "Top persons in Azerbaijan news": an aggregation over the keyword field.
    result = await es.search(index=running_pipeline.alias, size=0, query={"term": {"locations": "Азербайджан"}},
                             aggs={"top": {"terms": {"field": "persons", "size": 3}}})
    top = [b["key"] for b in result["aggregations"]["top"]["buckets"]]
    assert "Владимир Путин" in top and "Ильхам Алиев" in top, top


async def test_an_enrichment_killed_and_restarted_still_finds_the_story_opened_before(
    stack, stack_config, tmp_path, es: AsyncElasticsearch,  # type: ignore[no-untyped-def]
) -> None:
    # The story step's LSH buckets live in memory and are rebuilt from the restored table:
    # a rewrite arriving after a kill -9 must still join the story its twin opened before.
    from services.parser.extract import parse_page
    from services.samplesite.server import load_manifest
    from tests.e2e.conftest import pipeline_running
    from tests.helpers import all_indexed, produce
    from tests.services.parser.test_sample_site_pages import raw_for

    pages = {page.id: page for page in load_manifest().articles()}
    first, second = (parse_page(raw_for(pages[name])) for name in PAIR)
    with pipeline_running(stack_config, tmp_path, services=("enrichment", "indexer"), with_sources=False) as running:
        topic = running.topic("news.articles.parsed.v1")
        await produce(stack_config.kafka_bootstrap, topic, [(first.id.encode(), first.model_dump_json().encode())])
        await eventually(lambda: all_indexed(es, running.alias, [first.id]), timeout=180, what="the first article indexed")

        enrichment = running.pipeline.process("enrichment")
        enrichment.kill()
        enrichment.start(running.pipeline.env("enrichment"))
        await produce(stack_config.kafka_bootstrap, topic, [(second.id.encode(), second.model_dump_json().encode())])
        await eventually(lambda: all_indexed(es, running.alias, [second.id]), timeout=300, what="the rewrite indexed after the restart")
        docs = await _indexed(es, running.alias, [first.id, second.id])
        assert docs[second.id]["story_id"] == docs[first.id]["story_id"] == first.id
        log = enrichment.logfile.read_text(errors="replace")
        assert "story index buckets rebuilt from the table" in log
