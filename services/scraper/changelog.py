"""The crawl state's changelog topics on Kafka (for services/scraper/state.py): creating and
configuring them, and reading them in bulk.

A restore reads a plain consumer's batches straight into RocksDB: it is bound by Kafka's
fetch, record decoding and RocksDB's write speed, not by per-record work in Python. It reads
what compaction has not removed yet, so the topics are compacted often: a segment closes
after an hour, and the cleaner runs once half a log is superseded values. A restore then
reads at most about twice the live entries plus the last hour of writes (with Kafka's
defaults, a week of re-fetch updates could pile up before the first compaction).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from schemas.topics import TopicSpec
from services.common.admin import ensure_changelogs
from services.common.logs import get_logger
from services.common.settings import KafkaSettings
from services.scraper.state import Record, TablePartition

log = get_logger(__name__)

# Per fetch: up to this many records (decoding them holds the event loop: keep it short),
# up to this many bytes per partition.
FETCH_RECORDS = 2_000
FETCH_PARTITION_BYTES = 8 * 1024 * 1024


# Kafka's defaults are a week (segment.ms) and 0.5; the cleaner compacts only closed segments.
COMPACTION = {"segment.ms": str(3600 * 1000), "min.cleanable.dirty.ratio": "0.5", "delete.retention.ms": str(24 * 3600 * 1000)}


async def ensure_state_changelogs(kafka: KafkaSettings, names: list[str], partitions: int) -> None:
    """Create the changelog topics if missing and set their compaction (idempotent).

    Raises aiokafka's errors when Kafka cannot be reached (the caller retries).
    """
    await ensure_changelogs(kafka, [(name, partitions) for name in names])
    # Non-incremental AlterConfigs replaces the topic's whole configuration: give all of it.
    base = TopicSpec(name="changelog", schema=dict, key="table key", partitions=partitions, retention_ms=-1,  # type: ignore[arg-type]
                     max_message_bytes=8 * 1024 * 1024, producers=(), consumers=(), cleanup_policy="compact",
                     compression="producer").config()
    admin = AIOKafkaAdminClient(**kafka.aiokafka_kwargs(), request_timeout_ms=10000)  # type: ignore[arg-type]
    await admin.start()
    try:
        await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, name, {**base, **COMPACTION}) for name in names])
    finally:
        await admin.close()


class KafkaChangelogReader:
    """`ChangelogReader` over Kafka; `topic_for(table)` names a table's changelog topic."""

    def __init__(self, kafka_kwargs: dict[str, Any], topic_for: Callable[[str], str]) -> None:
        self.kafka_kwargs = kafka_kwargs
        self.topic_for = topic_for

    def _consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            **self.kafka_kwargs, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest",
            max_partition_fetch_bytes=FETCH_PARTITION_BYTES, fetch_max_bytes=4 * FETCH_PARTITION_BYTES,
            isolation_level="read_uncommitted",
        )

    def _tp(self, table: str, partition: int) -> TopicPartition:
        return TopicPartition(self.topic_for(table), partition)

    async def end_offsets(self, partitions: list[TablePartition]) -> dict[TablePartition, int]:
        """Raises aiokafka's errors when Kafka cannot answer (the caller retries)."""
        consumer = self._consumer()
        await consumer.start()
        try:
            tps = {self._tp(table, partition): (table, partition) for table, partition in partitions}
            ends = await consumer.end_offsets(list(tps))
            return {tps[tp]: offset for tp, offset in ends.items()}
        finally:
            await consumer.stop()

    async def read(self, starts: dict[TablePartition, int], ends: dict[TablePartition, int]) -> AsyncIterator[tuple[str, int, list[Record]]]:
        wanted = {self._tp(table, partition): (table, partition) for (table, partition), start in starts.items()
                  if start < ends[(table, partition)]}
        if not wanted:
            return
        consumer = self._consumer()
        await consumer.start()
        try:
            consumer.assign(list(wanted))
            beginnings = await consumer.beginning_offsets(list(wanted))
            for tp, name in wanted.items():
                # Below the log start (compaction or retention removed it): from the first record kept.
                consumer.seek(tp, max(starts[name], beginnings[tp]))
            open_tps = {tp for tp in wanted if max(starts[wanted[tp]], beginnings[tp]) < ends[wanted[tp]]}
            while open_tps:
                fetched = await consumer.getmany(*open_tps, timeout_ms=1000, max_records=FETCH_RECORDS)
                for tp, messages in fetched.items():
                    name = wanted[tp]
                    end = ends[name]
                    records = [(m.offset, m.key, m.value) for m in messages if m.offset < end and m.key is not None]
                    if records:
                        yield name[0], name[1], records
                    if messages and messages[-1].offset + 1 >= end:
                        open_tps.discard(tp)
                for tp in list(open_tps):
                    # Compaction can leave the last offsets before the end without a record.
                    if await consumer.position(tp) >= ends[wanted[tp]]:
                        open_tps.discard(tp)
        finally:
            await consumer.stop()
