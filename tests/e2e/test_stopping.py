"""A stage stops on purpose — exit status 70, one clear log line, nothing acknowledged — when Kafka
refuses its output for good or when its input is poisoned; the event that was not finished is
redelivered once the cause is fixed. Real Kafka, real service processes."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from schemas.topics import CATALOGUE, topic_name
from services.common.admin import ensure_topics
from services.common.app import EXIT_STOPPED
from services.common.settings import KafkaSettings
from devtools.devstack.pipeline import Pipeline
from devtools.devstack.stack import REPO_ROOT, Stack, StackConfig
from tests.helpers import allow_output, dead_letters, deny_output, eventually, kafka_kwargs, produce, read_topic

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[2] / "schemas" / "examples"
INPUT = {
    "scraper": "news.crawl.frontier.v1",
    "parser": "news.pages.raw.v1",
    "enrichment": "news.articles.parsed.v1",
    "indexer": "news.articles.enriched.v1",
}


def new_pipeline(stack_config: StackConfig, tmp_path: Path) -> Pipeline:
    namespace = f"s{uuid.uuid4().hex[:8]}"
    pipeline = Pipeline(stack_config, namespace=namespace, alias=f"{namespace}-articles", run_dir=tmp_path)
    pipeline.write_sources({"sources": []})
    return pipeline


def run_until_exit(pipeline: Pipeline, service: str, extra_env: dict[str, str], timeout: float = 240) -> tuple[int, str]:
    """Run a service in the foreground until it exits by itself; (exit status, its log)."""
    log = pipeline.run_dir / f"{service}-foreground.log"  # type: ignore[operator]
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", f"services.{service}"], cwd=REPO_ROOT,
                                   env={**__import__("os").environ, **pipeline.env(service), **extra_env},
                                   stdout=out, stderr=subprocess.STDOUT)
        try:
            code = process.wait(timeout)
        finally:
            process.kill()
    return code, log.read_text(errors="replace")


async def committed(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    admin = AIOKafkaAdminClient(**kafka_kwargs(bootstrap))
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic and meta.offset >= 0}


async def set_max_message_bytes(bootstrap: str, topic: str, size: int) -> None:
    admin = AIOKafkaAdminClient(**kafka_kwargs(bootstrap))
    await admin.start()
    try:
        await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs={"max.message.bytes": str(size)})])
    finally:
        await admin.close()


async def test_a_write_kafka_refuses_stops_the_parser_without_committing_and_nothing_is_lost(
    stack: Stack, stack_config: StackConfig, tmp_path: Path
) -> None:
    pipeline = new_pipeline(stack_config, tmp_path)
    bootstrap = stack_config.kafka_bootstrap
    await ensure_topics(KafkaSettings(bootstrap=bootstrap, topic_namespace=pipeline.namespace), CATALOGUE)
    parsed = f"{pipeline.namespace}.news.articles.parsed.v1"
    raw = f"{pipeline.namespace}.news.pages.raw.v1"
    # The parsed article (several KiB) will not fit: the broker refuses the write for good.
    await set_max_message_bytes(bootstrap, parsed, 1024)
    value = (EXAMPLES / "raw_page.v1" / "seed-ru.json").read_bytes()
    article_id = json.loads(value)["article_id"]
    await produce(bootstrap, raw, [(article_id.encode(), value)])

    code, log = run_until_exit(pipeline, "parser", {})
    assert code == EXIT_STOPPED, log[-3000:]
    stops = [line for line in log.splitlines() if "stopping the service" in line]
    assert len(stops) == 1 and "MessageSizeTooLarge" in stops[0] and "not acknowledged" in stops[0]
    assert await committed(bootstrap, f"{pipeline.namespace}.newsflow-parser", raw) in ({}, {0: 0}, {1: 0}, {2: 0}, {3: 0})
    assert await read_topic(bootstrap, parsed, idle=1) == []
    assert await dead_letters(bootstrap, f"{pipeline.namespace}.news.deadletter.v1") == []

    # The cause fixed, the same event is redelivered and goes through: nothing was lost.
    await set_max_message_bytes(bootstrap, parsed, 4 * 1024 * 1024)
    pipeline.start(("parser",))
    try:
        async def arrived() -> list[str]:
            return [json.loads(v)["id"] for _, v in await read_topic(bootstrap, parsed, idle=1) if v]

        assert await eventually(arrived, timeout=180, what="the parsed article") == [article_id]
    finally:
        pipeline.stop(("parser",))


async def test_a_write_the_acls_refuse_stops_the_parser_without_committing_and_nothing_is_lost(
    stack: Stack, stack_config: StackConfig, tmp_path: Path
) -> None:
    """Security on: the parser's principal loses its WRITE on its output topic; the broker refuses."""
    pipeline = new_pipeline(stack_config, tmp_path)
    bootstrap = stack_config.kafka_bootstrap
    await ensure_topics(KafkaSettings(bootstrap=bootstrap, topic_namespace=pipeline.namespace), CATALOGUE)
    parsed = f"{pipeline.namespace}.news.articles.parsed.v1"
    raw = f"{pipeline.namespace}.news.pages.raw.v1"
    assert deny_output(pipeline, "parser") == [parsed]
    value = (EXAMPLES / "raw_page.v1" / "seed-ru.json").read_bytes()
    article_id = json.loads(value)["article_id"]
    await produce(bootstrap, raw, [(article_id.encode(), value)])

    code, log = run_until_exit(pipeline, "parser", {})
    assert code == EXIT_STOPPED, log[-3000:]
    stops = [line for line in log.splitlines() if "stopping the service" in line]
    assert len(stops) == 1 and "TopicAuthorizationFailed" in stops[0] and "not acknowledged" in stops[0], stops
    assert await committed(bootstrap, f"{pipeline.namespace}.newsflow-parser", raw) in ({}, {0: 0}, {1: 0}, {2: 0}, {3: 0})
    assert await read_topic(bootstrap, parsed, idle=1) == []
    assert await dead_letters(bootstrap, f"{pipeline.namespace}.news.deadletter.v1") == []

    # The ACL given back, the same event is redelivered and goes through: nothing was lost.
    allow_output(pipeline, "parser")
    pipeline.start(("parser",))
    try:
        async def arrived() -> list[str]:
            return [json.loads(v)["id"] for _, v in await read_topic(bootstrap, parsed, idle=1) if v]

        assert await eventually(arrived, timeout=180, what="the parsed article") == [article_id]
    finally:
        pipeline.stop(("parser",))
        pipeline.revoke_access()


@pytest.mark.parametrize("service", ["scraper", "parser", "enrichment", "indexer"])
async def test_a_poisoned_input_stops_the_stage_instead_of_flooding_the_dead_letters(
    service: str, stack: Stack, stack_config: StackConfig, tmp_path: Path
) -> None:
    pipeline = new_pipeline(stack_config, tmp_path)
    bootstrap = stack_config.kafka_bootstrap
    await ensure_topics(KafkaSettings(bootstrap=bootstrap, topic_namespace=pipeline.namespace), CATALOGUE)
    topic = topic_name(next(s for s in CATALOGUE if s.name == INPUT[service]), pipeline.namespace)
    await produce(bootstrap, topic, [(b"127.0.0.1", b"not json {%d" % i) for i in range(60)])

    env = {"NEWSFLOW_INVALID_WINDOW": "10", "NEWSFLOW_MAX_INVALID_RATIO": "0.5"}
    if service == "indexer":
        env["NEWSFLOW_INDEXER_BATCH_MAX_ITEMS"] = "5"  # the indexer decides per batch
    code, log = run_until_exit(pipeline, service, env)
    assert code == EXIT_STOPPED, log[-3000:]
    stops = [line for line in log.splitlines() if "stopping the service" in line]
    assert len(stops) == 1 and "dead-lettered" in stops[0], stops
    records = [r for r in await dead_letters(bootstrap, f"{pipeline.namespace}.news.deadletter.v1") if r["stage"] == service]
    # It stopped when the window filled up, not at the end of the topic (and it was not restarted).
    assert 10 <= len(records) < 60


async def test_an_indexer_elasticsearch_refuses_stops_without_committing_and_indexes_after_the_fix(
    stack: Stack, stack_config: StackConfig, tmp_path: Path
) -> None:
    """Elasticsearch answering 403 is a configuration fault, not an outage and not bad data:
    the indexer stops (exit 70, one line naming the refusal) and commits nothing; with its own
    credential back, the same event is indexed."""
    from elasticsearch import AsyncElasticsearch

    pipeline = new_pipeline(stack_config, tmp_path)
    bootstrap = stack_config.kafka_bootstrap
    await ensure_topics(KafkaSettings(bootstrap=bootstrap, topic_namespace=pipeline.namespace), CATALOGUE)
    enriched = f"{pipeline.namespace}.{INPUT['indexer']}"
    value = (EXAMPLES / "enriched_article.v1" / "seed-ru.json").read_bytes()
    article_id = json.loads(value)["id"]
    await produce(bootstrap, enriched, [(article_id.encode(), value)])

    # The read-only credential a downstream application gets, in place of the indexer's own.
    reader = pipeline.role_env("reader")
    secret = tmp_path / "reader.es-password"
    secret.write_text(reader["NEWSFLOW_ES_PASSWORD"] or "")
    code, log = run_until_exit(pipeline, "indexer", {"NEWSFLOW_ES_USERNAME": reader["NEWSFLOW_ES_USERNAME"] or "",
                                                      "NEWSFLOW_ES_PASSWORD_FILE": str(secret)})
    assert code == EXIT_STOPPED, log[-3000:]
    stops = [line for line in log.splitlines() if "stopping the service" in line]
    assert len(stops) == 1 and "refused" in stops[0] and "403" in stops[0], stops
    assert await committed(bootstrap, f"{pipeline.namespace}.newsflow-indexer", enriched) in ({}, {0: 0}, {1: 0}, {2: 0}, {3: 0})
    assert await dead_letters(bootstrap, f"{pipeline.namespace}.news.deadletter.v1") == []

    pipeline.start(("indexer",))
    es = AsyncElasticsearch(**stack_config.admin_es_kwargs())
    try:
        async def indexed() -> bool:
            await es.indices.refresh(index=pipeline.alias, ignore_unavailable=True)
            found = await es.search(index=pipeline.alias, query={"ids": {"values": [article_id]}}, ignore_unavailable=True)
            return found["hits"]["total"]["value"] == 1

        assert await eventually(indexed, timeout=180, what="the article indexed after the fix")
    finally:
        await es.close()
        pipeline.stop(("indexer",))
