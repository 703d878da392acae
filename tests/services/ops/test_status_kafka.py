"""`newsflow status` reads consumer lag from Kafka itself: committed offsets against end offsets."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from schemas.topics import CATALOGUE, RAW_PAGES, topic_name
from services.common.admin import ensure_topics
from services.common.settings import KafkaSettings
from devtools.devstack.stack import Stack, StackConfig
from services.ops.status import compute_status, kafka_lag
from tests.helpers import kafka_kwargs


async def test_lag_is_end_offset_minus_the_group_s_committed_offset(stack: Stack, stack_config: StackConfig, namespace: str) -> None:
    kafka = KafkaSettings(bootstrap=stack_config.kafka_bootstrap, topic_namespace=namespace)
    await ensure_topics(kafka, CATALOGUE)
    raw = topic_name(RAW_PAGES, namespace)

    producer = AIOKafkaProducer(**kafka_kwargs(stack_config.kafka_bootstrap))
    await producer.start()
    try:
        for partition, count in ((0, 5), (2, 3)):
            for i in range(count):
                await producer.send_and_wait(raw, value=b"page %d" % i, key=b"k", partition=partition)
    finally:
        await producer.stop()

    # The parser's group (namespaced, as the service names it) has handled 2 messages of partition 0.
    committer = AIOKafkaConsumer(**kafka_kwargs(stack_config.kafka_bootstrap), group_id=f"{namespace}.newsflow-parser",
                                 enable_auto_commit=False)
    await committer.start()
    try:
        committer.assign([TopicPartition(raw, 0)])
        await committer.commit({TopicPartition(raw, 0): 2})
    finally:
        await committer.stop()

    lags = await kafka_lag(kafka)
    parser = lags["parser"]
    assert parser.group == f"{namespace}.newsflow-parser" and parser.error is None
    by_partition = {p.partition: (p.committed, p.end, p.lag) for p in parser.partitions}
    assert by_partition == {0: (2, 5, 3), 1: (None, 0, 0), 2: (None, 3, 3), 3: (None, 0, 0)}
    assert parser.total == 6
    assert lags["enrichment"].total == 0 and len(lags["enrichment"].partitions) == 4 + 1  # parsed (4) + stories (1)
    assert {p.topic for p in lags["scraper"].partitions} == {f"{namespace}.news.crawl.requests.v1", f"{namespace}.news.crawl.frontier.v1"}

    (stage,) = [s for s in compute_status({"parser": []}, None, lags).stages]
    assert (stage.lag, stage.lag_source) == (6, "kafka")


async def test_missing_topics_are_reported_per_group(stack: Stack, stack_config: StackConfig, namespace: str) -> None:
    lags = await kafka_lag(KafkaSettings(bootstrap=stack_config.kafka_bootstrap, topic_namespace=namespace))
    assert {s: r.error for s, r in lags.items()} == {s: "its input topics do not exist yet" for s in ("scraper", "parser", "enrichment", "indexer")}
