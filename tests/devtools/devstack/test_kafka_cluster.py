"""The local stack's three-broker Kafka: replication factor 3, min.insync.replicas 2, one broker killed.

Its own stack instance ("test-cluster", Kafka only) on its own ports: the single-broker test
stack stays as it is. Marked slow (three JVMs start and stop: about a minute and a half here).
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from schemas.topics import ENRICHED_ARTICLES, PARSED_ARTICLES, STORY_ASSIGNMENT, topic_name, used_by
from services.common.admin import ensure_changelogs, ensure_topics
from services.common.settings import KafkaSettings
from devtools.devstack.pipeline import Pipeline
from devtools.devstack.stack import Kafka, StackConfig
from tests.conftest import TEST_PORTS

pytestmark = pytest.mark.slow

CLUSTER_PORT = int(os.environ.get("NEWSFLOW_TEST_KAFKA_CLUSTER_PORT", TEST_PORTS["kafka_port"] + 300))
CLUSTER_CONTROLLER_PORT = int(os.environ.get("NEWSFLOW_TEST_KAFKA_CLUSTER_CONTROLLER_PORT", CLUSTER_PORT + 1))


@pytest.fixture(scope="module")
def cluster() -> Iterator[Kafka]:
    cfg = StackConfig.from_env("test-cluster", kafka_port=CLUSTER_PORT, kafka_controller_port=CLUSTER_CONTROLLER_PORT,
                               kafka_brokers=3, kafka_heap="384m")
    kafka = Kafka(cfg)
    kafka.start()
    try:
        kafka.wait(timeout=240)
        yield kafka
    finally:
        kafka.stop()


def settings_of(pipeline: Pipeline, service: str) -> KafkaSettings:
    """The Kafka settings a service of `pipeline` would read from its environment."""
    env = pipeline.env(service)
    return KafkaSettings(
        bootstrap=env["NEWSFLOW_KAFKA_BOOTSTRAP"], topic_namespace=env["NEWSFLOW_KAFKA_TOPIC_NAMESPACE"],
        replication_factor=int(env["NEWSFLOW_KAFKA_REPLICATION_FACTOR"]),
        security_protocol=env["NEWSFLOW_KAFKA_SECURITY_PROTOCOL"], sasl_mechanism=env["NEWSFLOW_KAFKA_SASL_MECHANISM"],
        username=env["NEWSFLOW_KAFKA_USERNAME"], password=None, password_file=Path(env["NEWSFLOW_KAFKA_PASSWORD_FILE"]),
    )


async def topic_shape(admin: AIOKafkaAdminClient, name: str) -> tuple[list[int], list[list[int]], str]:
    """(replica count per partition, ISR per partition, min.insync.replicas) of a topic."""
    (described,) = await admin.describe_topics([name])
    partitions = sorted(described["partitions"], key=lambda p: p["partition"])
    (configs,) = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name, None)])
    values = {entry[0]: entry[1] for resource in configs.resources for entry in resource[4]}
    return [len(p["replicas"]) for p in partitions], [sorted(p["isr"]) for p in partitions], values["min.insync.replicas"]


async def test_services_topics_and_changelogs_get_three_replicas_and_min_isr_two(cluster: Kafka, tmp_path: Path) -> None:
    namespace = f"c{uuid.uuid4().hex[:8]}"
    pipeline = Pipeline(cluster.cfg, namespace=namespace, alias=f"{namespace}-articles", run_dir=tmp_path)
    try:
        kafka = settings_of(pipeline, "enrichment")
        assert kafka.replication_factor == 3 and kafka.min_insync_replicas == 2
        # What the enrichment does at start-up, as itself: its topics, then its table's changelog.
        await ensure_topics(kafka, used_by("enrichment"))
        changelog = f"{namespace}.newsflow-enrichment-stories-changelog"
        await ensure_changelogs(kafka, [(changelog, STORY_ASSIGNMENT.partitions)])
        admin = AIOKafkaAdminClient(**cluster.cfg.admin_kafka_kwargs())  # type: ignore[arg-type]
        await admin.start()
        try:
            for name in (topic_name(PARSED_ARTICLES, namespace), topic_name(ENRICHED_ARTICLES, namespace), changelog):
                replicas, isr, min_isr = await topic_shape(admin, name)
                assert set(replicas) == {3} and min_isr == "2", name
                assert all(len(i) == 3 for i in isr), name
        finally:
            await admin.close()
    finally:
        pipeline.revoke_access()


async def test_the_cluster_keeps_serving_and_loses_nothing_when_a_broker_is_killed(cluster: Kafka) -> None:
    kwargs = cluster.cfg.admin_kafka_kwargs()
    kafka = KafkaSettings(bootstrap=cluster.cfg.kafka_bootstrap, replication_factor=3, topic_namespace=f"k{uuid.uuid4().hex[:8]}",
                          security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-512",
                          username=str(kwargs["sasl_plain_username"]), password=str(kwargs["sasl_plain_password"]))
    await ensure_topics(kafka, [PARSED_ARTICLES])
    topic = topic_name(PARSED_ARTICLES, kafka.topic_namespace)
    producer = AIOKafkaProducer(**kwargs, acks="all", enable_idempotence=True, request_timeout_ms=30000)  # type: ignore[arg-type]
    await producer.start()
    sent: list[bytes] = []
    try:
        for i in range(200):
            value = b"before %d" % i
            await producer.send_and_wait(topic, value, key=b"%d" % i)
            sent.append(value)
        # kill -9 the node leading partition 0, and keep writing with acks=all: two in-sync replicas are enough.
        admin = AIOKafkaAdminClient(**kwargs)  # type: ignore[arg-type]
        await admin.start()
        try:
            (described,) = await admin.describe_topics([topic])
            leader = next(p["leader"] for p in described["partitions"] if p["partition"] == 0)
        finally:
            await admin.close()
        victim = cluster.node(leader)
        await asyncio.to_thread(victim.kill)
        assert victim.running_pid() is None
        started = time.monotonic()
        for i in range(200):
            value = b"after %d" % i
            await producer.send_and_wait(topic, value, key=b"%d" % i)
            sent.append(value)
        assert time.monotonic() - started < 90, "writes went on after a short leader election"
    finally:
        await producer.stop()

    async def read_all() -> list[bytes]:
        consumer = AIOKafkaConsumer(**kwargs, group_id=None, auto_offset_reset="earliest", enable_auto_commit=False)  # type: ignore[arg-type]
        await consumer.start()
        try:
            partitions = [TopicPartition(topic, p) for p in range(PARSED_ARTICLES.partitions)]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            got: list[bytes] = []

            async def behind() -> bool:
                return any([await consumer.position(tp) < ends[tp] for tp in partitions])

            while await behind():
                for records in (await consumer.getmany(timeout_ms=1000)).values():
                    got.extend(r.value for r in records)
            return got
        finally:
            await consumer.stop()

    received = await read_all()
    assert sorted(received) == sorted(sent), "every acknowledged write survived, none twice"

    # The killed node comes back and catches up: every partition has three in-sync replicas again.
    await asyncio.to_thread(victim.start)
    await asyncio.to_thread(victim.wait, 180)
    admin = AIOKafkaAdminClient(**kwargs)  # type: ignore[arg-type]
    await admin.start()
    try:
        deadline = time.monotonic() + 120
        while True:
            _, isr, min_isr = await topic_shape(admin, topic)
            if all(len(i) == 3 for i in isr) or time.monotonic() > deadline:
                break
            await asyncio.sleep(2)
        assert all(len(i) == 3 for i in isr), isr
        assert min_isr == "2"
    finally:
        await admin.close()
    assert sorted(await read_all()) == sorted(sent)
