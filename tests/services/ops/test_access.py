"""The roles, as Kafka ACLs and Elasticsearch roles: each service gets what its topics need and nothing else."""

from __future__ import annotations

import pytest

from schemas.topics import CATALOGUE, DEAD_LETTERS, consumed_by, produced_by, topic_name
from services.ops.access import (
    ROLES,
    SERVICE_ROLES,
    KafkaAcl,
    Operation,
    PatternType,
    ResourceType,
    es_role,
    group_id,
    kafka_acls,
    kafka_username,
)


def grants(acls: list[KafkaAcl], op: Operation, kind: ResourceType = ResourceType.TOPIC) -> set[str]:
    return {a.resource_name for a in acls if a.operation is op and a.resource_type is kind and a.pattern_type is PatternType.LITERAL}


@pytest.mark.parametrize("service", SERVICE_ROLES)
@pytest.mark.parametrize("namespace", ["", "t1234"])
def test_a_service_reads_its_inputs_and_writes_its_outputs_only(service: str, namespace: str) -> None:
    acls = kafka_acls(service, namespace)
    inputs = {topic_name(s, namespace) for s in consumed_by(service)}
    outputs = {topic_name(s, namespace) for s in produced_by(service)}
    assert inputs and topic_name(DEAD_LETTERS, namespace) in outputs
    assert grants(acls, Operation.READ) == inputs
    assert grants(acls, Operation.WRITE) == outputs
    assert grants(acls, Operation.CREATE) == inputs | outputs
    assert grants(acls, Operation.READ, ResourceType.GROUP) == {group_id(service, namespace)}
    assert {a.principal for a in acls} == {f"User:{kafka_username(service, namespace)}"}
    # Changelogs: everything under `<group>-`, nothing wider.
    prefixed = {(a.resource_name, a.operation) for a in acls if a.pattern_type is PatternType.PREFIXED}
    group = group_id(service, namespace)
    assert prefixed == {(f"{group}-", op) for op in (Operation.CREATE, Operation.READ, Operation.WRITE, Operation.DESCRIBE)}
    # No cluster-wide right, no DELETE or ALTER anywhere.
    assert all(a.resource_type is not ResourceType.CLUSTER for a in acls)


def test_the_parser_may_not_write_the_raw_pages_nor_read_its_own_output() -> None:
    acls = kafka_acls("parser")
    assert "news.pages.raw.v1" not in grants(acls, Operation.WRITE)
    assert "news.articles.parsed.v1" not in grants(acls, Operation.READ)
    assert "news.crawl.requests.v1" not in grants(acls, Operation.WRITE) | grants(acls, Operation.READ)


def test_the_enrichment_owns_both_of_its_steps() -> None:
    acls = kafka_acls("enrichment")
    assert grants(acls, Operation.READ) == {"news.articles.parsed.v1", "news.enrichment.stories.v1"}
    assert grants(acls, Operation.WRITE) == {"news.enrichment.stories.v1", "news.articles.enriched.v1", "news.deadletter.v1"}


def test_a_group_override_moves_the_group_and_its_changelogs() -> None:
    acls = kafka_acls("scraper", "e1", group_override="recrawl")
    assert grants(acls, Operation.READ, ResourceType.GROUP) == {"e1.recrawl"}
    assert {a.resource_name for a in acls if a.pattern_type is PatternType.PREFIXED} == {"e1.recrawl-"}


def test_the_operator_requests_crawls_replays_and_watches_but_consumes_no_stage_input() -> None:
    acls = kafka_acls("operator", "ns")
    every = {topic_name(s, "ns") for s in CATALOGUE}
    # Replay writes a dead letter back where it came from; a backfill publishes pages and dead letters.
    assert grants(acls, Operation.WRITE) == every
    assert grants(acls, Operation.READ) == {"ns.news.deadletter.v1"}
    assert grants(acls, Operation.DESCRIBE) == every
    assert grants(acls, Operation.DESCRIBE, ResourceType.GROUP) == {group_id(s, "ns") for s in SERVICE_ROLES}
    assert not grants(acls, Operation.READ, ResourceType.GROUP), "it joins no stage's group"


def test_the_reader_has_no_kafka_access_and_reads_one_alias() -> None:
    assert kafka_acls("reader") == []
    assert es_role("reader", "articles") == {"cluster": [], "indices": [{"names": ["articles"], "privileges": ["read"]}]}


def test_elasticsearch_roles_are_scoped_to_the_alias_family() -> None:
    indexer = es_role("indexer", "news")
    operator = es_role("operator", "news")
    assert indexer is not None and operator is not None
    assert indexer["indices"] == [{"names": ["news", "news-write", "news-v*"],
                                   "privileges": ["create_index", "write", "read", "manage"]}]
    assert "all" not in indexer["indices"][0]["privileges"]  # type: ignore[index]
    assert operator["indices"][0]["privileges"] == ["all"]  # type: ignore[index]
    assert es_role("parser", "news") is None


def test_unknown_roles_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown role"):
        kafka_acls("root")
    with pytest.raises(ValueError, match="unknown role"):
        es_role("admin")
    assert set(ROLES) == {"reader", "operator", *SERVICE_ROLES}


def test_an_acl_renders_as_a_kafka_acls_command() -> None:
    acl = KafkaAcl("User:newsflow-parser", ResourceType.TOPIC, "newsflow-parser-", PatternType.PREFIXED, Operation.WRITE)
    assert acl.kafka_acls_command("kafka:9092") == (
        "kafka-acls.sh --bootstrap-server kafka:9092 --command-config admin.properties --add "
        "--allow-principal 'User:newsflow-parser' --operation Write --topic 'newsflow-parser-' --resource-pattern-type prefixed"
    )
