"""A malformed message on each stage's input topic is dead-lettered; the next good one still lands."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from elasticsearch import AsyncElasticsearch

from schemas.enriched_article_v1 import EnrichedArticleV1
from devtools.devstack.stack import Stack, StackConfig
from devtools.samplesite.server import SITE_DIR
from services.scraper.decisions import build_raw_page
from tests.e2e.conftest import RunningPipeline, pipeline_running
from tests.helpers import all_indexed, dead_letters, eventually, produce

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[2] / "schemas" / "examples"


@pytest.fixture(scope="module")
def quiet_pipeline(stack: Stack, stack_config: StackConfig, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPipeline]:
    """A pipeline whose sources poll rarely, so only the messages this test sends flow."""
    with pipeline_running(stack_config, tmp_path_factory.mktemp("dlq"), poll_interval=3600) as running:
        yield running


def good_raw_page(url: str) -> bytes:
    html = (SITE_DIR / "pages/vestnik/moscow-parks-trees.html").read_bytes().replace(b"{{BASE_URL}}", url.rsplit("/", 2)[0].encode())
    raw = build_raw_page(
        source="vestnik", requested_url=url, final_url=url, canonical_url=url, status=200,
        headers={"content-type": "text/html; charset=utf-8"}, body=html, fetched_at=datetime.now(timezone.utc),
        fetch_ms=5, discovered_via=None, trace_id=None, language_hint="ru", timezone="Europe/Moscow",
    )
    return raw.model_dump_json().encode()


def good_enriched_article() -> tuple[str, bytes]:
    example = json.loads(next((EXAMPLES / "enriched_article.v1").glob("*.json")).read_text())
    article = EnrichedArticleV1.model_validate(example).model_copy(update={"id": "0123456789abcdef", "url": "https://dlq.example/good"})
    return article.id, article.model_dump_json().encode()


async def test_malformed_messages_are_dead_lettered_and_good_ones_still_arrive(
    quiet_pipeline: RunningPipeline, stack_config: StackConfig, es: AsyncElasticsearch
) -> None:
    bootstrap = stack_config.kafka_bootstrap
    t = quiet_pipeline.topic
    # A good raw page whose canonical URL differs from the sample article's: a new article id.
    raw_url = quiet_pipeline.base_url + "/vestnik/dlq-test/parks/"
    raw_value = good_raw_page(raw_url)
    raw_id = json.loads(raw_value)["article_id"]
    enriched_id, enriched_value = good_enriched_article()

    await produce(bootstrap, t("news.crawl.frontier.v1"), [(b"127.0.0.1", b"not json at all {")])
    await produce(bootstrap, t("news.pages.raw.v1"), [(b"bad", b'{"event_type": "raw_page", "schema_version": 1, "url": 5}'), (raw_id.encode(), raw_value)])
    await produce(bootstrap, t("news.articles.parsed.v1"), [(b"bad", b'{"event_type": "parsed_article", "schema_version": 99}')])
    await produce(bootstrap, t("news.articles.enriched.v1"), [(b"bad", b"\xff\xfe binary"), (enriched_id.encode(), enriched_value)])

    async def four_dead_letters() -> list[dict]:  # type: ignore[type-arg]
        records = await dead_letters(bootstrap, t("news.deadletter.v1"))
        return records if {r["stage"] for r in records} >= {"scraper", "parser", "enrichment", "indexer"} else []

    records = await eventually(four_dead_letters, timeout=180, what="a dead letter from each stage")
    by_stage = {r["stage"]: r for r in records}
    assert by_stage["scraper"]["reason"] == "invalid-json"
    assert by_stage["parser"]["reason"] == "invalid-schema" and "url" in by_stage["parser"]["detail"]
    assert by_stage["enrichment"]["reason"] == "unsupported-schema"
    assert by_stage["indexer"]["reason"] == "invalid-json"
    for record in by_stage.values():
        assert record["original_value_b64"] and record["source_topic"].startswith(quiet_pipeline.pipeline.namespace)

    await eventually(lambda: all_indexed(es, quiet_pipeline.alias, [raw_id, enriched_id]), timeout=180, what="the good messages in Elasticsearch")

