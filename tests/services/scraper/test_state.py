"""The crawl state: partitioned writes, confirmed changelog delivery, bulk restore.

The first tests are pure logic (a dict store, changelog records from a list); the last ones
write through the real Kafka and RocksDB and restore from them, cold and warm.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from services.common.settings import KafkaSettings
from tests.helpers import kafka_kwargs
from devtools.devstack.stack import Stack, StackConfig
from services.scraper.changelog import KafkaChangelogReader, ensure_state_changelogs
from services.scraper.state import TABLES, CrawlState, MemoryStore, Record, RocksResources, RocksStore, TablePartition, encode_key


class ListChangelog:
    """Changelog records kept in lists, per (table, partition): the pure-logic stand-in for Kafka."""

    def __init__(self) -> None:
        self.records: dict[TablePartition, list[Record]] = {}
        self.reads: list[dict[TablePartition, int]] = []
        self.gate: asyncio.Event | None = None

    def append(self, table: str, partition: int, key: str, value: object | None) -> int:
        log = self.records.setdefault((table, partition), [])
        offset = log[-1][0] + 1 if log else 0
        log.append((offset, encode_key(key), None if value is None else json.dumps(value).encode()))
        return offset

    async def deliver(self, table: str, partition: int, key: bytes, value: bytes | None) -> int:
        log = self.records.setdefault((table, partition), [])
        offset = log[-1][0] + 1 if log else 0
        log.append((offset, key, value))
        return offset

    async def end_offsets(self, partitions: list[TablePartition]) -> dict[TablePartition, int]:
        return {tp: (self.records[tp][-1][0] + 1 if self.records.get(tp) else 0) for tp in partitions}

    async def read(self, starts: dict[TablePartition, int], ends: dict[TablePartition, int]) -> AsyncIterator[tuple[str, int, list[Record]]]:
        self.reads.append(dict(starts))
        for (table, partition), start in starts.items():
            records = [r for r in self.records.get((table, partition), []) if start <= r[0] < ends[(table, partition)]]
            for i in range(0, len(records), 2):
                if self.gate is not None:
                    await self.gate.wait()
                yield table, partition, records[i:i + 2]


def memory_state(changelog: ListChangelog, stores: dict[int, MemoryStore] | None = None) -> tuple[CrawlState, dict[int, MemoryStore]]:
    """A state over dict stores; pass the `stores` of an earlier one for "the same disk"."""
    stores = {} if stores is None else stores

    def open_store(partition: int) -> MemoryStore:
        return stores.setdefault(partition, MemoryStore())

    return CrawlState(open_store, changelog.deliver), stores


async def test_writes_go_to_the_partition_being_handled_and_to_its_changelog() -> None:
    changelog = ListChangelog()
    state, _ = memory_state(changelog)
    await state.restore(state.assign({0, 1}), changelog)
    seen = state.table("seen")
    with state.handling(1):
        seen["u:a"] = {"u": "https://a.example/1", "l": 5}
        assert seen["u:a"]["l"] == 5
    with state.handling(0):
        assert "u:a" not in seen, "partition 0 does not hold partition 1's key"
    assert seen.get("u:a") == {"u": "https://a.example/1", "l": 5}, "outside any event every partition is searched"
    await state.flush()
    assert [(o, json.loads(k)) for o, k, _ in changelog.records[("seen", 1)]] == [(0, "u:a")]
    with pytest.raises(RuntimeError, match="outside the handling of a frontier partition"):
        seen["u:new"] = {"l": 1}


async def test_a_sweep_deletes_where_the_key_lives_and_leaves_a_tombstone() -> None:
    changelog = ListChangelog()
    changelog.append("later", 2, "r:x", {"at": 1, "l": 1})
    state, _ = memory_state(changelog)
    await state.restore(state.assign({0, 2}), changelog)
    later = state.table("later")
    assert later.pop("r:x") == {"at": 1, "l": 1}
    await state.flush()
    assert changelog.records[("later", 2)][-1][1:] == (encode_key("r:x"), None)
    assert "r:x" not in later and later.pop("r:x", "gone") == "gone"


async def test_flush_returns_only_after_the_broker_confirmed_every_earlier_write() -> None:
    changelog = ListChangelog()
    release = asyncio.Event()
    delivered: list[bytes] = []

    async def slow_deliver(table: str, partition: int, key: bytes, value: bytes | None) -> int:
        await release.wait()
        delivered.append(key)
        return await changelog.deliver(table, partition, key, value)

    state = CrawlState(lambda p: MemoryStore(), slow_deliver)
    await state.restore(state.assign({0}), changelog)
    with state.handling(0):
        for i in range(5):
            state.table("seen")[f"u:{i}"] = {"l": i}
    flushing = asyncio.ensure_future(state.flush())
    await asyncio.sleep(0.05)
    assert not flushing.done(), "flush returned before the broker confirmed"
    release.set()
    await asyncio.wait_for(flushing, 5)
    assert [json.loads(k) for k in delivered] == [f"u:{i}" for i in range(5)], "delivered in write order"


async def test_a_write_that_cannot_be_confirmed_fails_flush_instead_of_hanging_it() -> None:
    async def refused(table: str, partition: int, key: bytes, value: bytes | None) -> int:
        raise RuntimeError("not leader for partition")

    state = CrawlState(lambda p: MemoryStore(), refused)
    await state.restore(state.assign({0}), ListChangelog())
    with state.handling(0):
        state.table("seen")["u:1"] = {"l": 1}
    with pytest.raises(RuntimeError, match="not leader"):
        await asyncio.wait_for(state.flush(), 5)


async def test_restore_marks_only_what_is_still_assigned_ready() -> None:
    changelog = ListChangelog()
    for i in range(6):
        changelog.append("seen", 0, f"u:{i}", {"l": i})
        changelog.append("seen", 3, f"u:{i}", {"l": i})
    changelog.append("seen", 0, "u:0", None)  # a tombstone restores as a deletion
    changelog.gate = asyncio.Event()
    state, stores = memory_state(changelog)
    restoring = state.start_restore(state.assign({0, 3}), changelog)
    waiting = asyncio.ensure_future(state.wait_ready(3))
    await asyncio.sleep(0.05)
    assert not state.ready and not waiting.done(), "tasks of a partition wait for its restore"
    state.assign({0})  # partition 3 went to another worker meanwhile
    assert await asyncio.wait_for(waiting, 1) is False
    changelog.gate.set()
    await asyncio.wait_for(restoring, 5)
    assert state.ready and state.ready_partitions() == [0]
    seen = state.table("seen")
    assert sorted(seen) == [f"u:{i}" for i in range(1, 6)]
    assert not any(k.startswith(b"seen") for k in stores[3].data), "nothing written for the partition taken away"


async def test_a_store_ahead_of_its_changelog_is_restored_from_the_start() -> None:
    changelog = ListChangelog()
    for i in range(4):
        changelog.append("seen", 0, f"u:{i}", {"l": i})
    state, stores = memory_state(changelog)
    await state.restore(state.assign({0}), changelog)
    assert len(state.table("seen")) == 4
    # The topic was deleted and created again with one record: the store knows offset 4.
    changelog.records = {}
    changelog.append("seen", 0, "u:new", {"l": 9})
    again, _ = memory_state(changelog, stores)
    await again.restore(again.assign({0}), changelog)
    assert list(again.table("seen")) == ["u:new"]


# ---------------------------------------------------------------------- real Kafka and RocksDB


async def test_state_restores_from_kafka_cold_and_warm_with_rocksdb(stack: Stack, stack_config: StackConfig, namespace: str,
                                                                       tmp_path: Path) -> None:
    bootstrap = stack_config.kafka_bootstrap
    topics = {table: f"{namespace}.newsflow-scraper-{table}-changelog" for table in TABLES}
    await ensure_state_changelogs(KafkaSettings(bootstrap=bootstrap), list(topics.values()), 4)
    producer = AIOKafkaProducer(**kafka_kwargs(bootstrap), acks="all")
    await producer.start()

    async def deliver(table: str, partition: int, key: bytes, value: bytes | None) -> int:
        metadata = await (await producer.send(topics[table], value=value, key=key, partition=partition))
        return metadata.offset

    reader = KafkaChangelogReader(kafka_kwargs(bootstrap), topics.__getitem__)
    resources = RocksResources(cache_bytes=8 * 1024 * 1024, write_buffer_bytes=8 * 1024 * 1024)

    def rocks_state(disk: Path) -> CrawlState:
        return CrawlState(lambda p: RocksStore(disk / f"frontier-{p}", resources), deliver)

    try:
        # Records as faust wrote them before (JSON key and value, a tombstone) restore as they are.
        await producer.send_and_wait(topics["seen"], key=json.dumps("u:old").encode(), value=b'{"u":"https://x.example/","f":1}', partition=2)
        await producer.send_and_wait(topics["seen"], key=json.dumps("u:gone").encode(), value=b'{"u":"https://x.example/g","f":1}', partition=2)
        await producer.send_and_wait(topics["seen"], key=json.dumps("u:gone").encode(), value=None, partition=2)

        first = rocks_state(tmp_path / "a")
        await first.restore(first.assign({0, 1, 2, 3}), reader)
        assert first.restored_records == 3
        seen, later = first.table("seen"), first.table("later")
        assert seen.get("u:old") == {"u": "https://x.example/", "f": 1} and "u:gone" not in seen
        for partition in range(4):
            with first.handling(partition):
                for i in range(50):
                    seen[f"u:{partition}-{i}"] = {"u": f"https://h{partition}.example/{i}", "f": i}
                later[f"r:{partition}"] = {"at": 100, "l": 1}
        await first.flush()
        await first.close()

        # A restart on the same disk reads nothing it already knows: its own writes were confirmed.
        warm = rocks_state(tmp_path / "a")
        await warm.restore(warm.assign({0, 1, 2, 3}), reader)
        assert warm.restored_records == 0
        assert len(warm.table("seen")) == 4 * 50 + 1 and len(warm.table("later")) == 4
        await warm.close()

        # Another worker owned partition 1 meanwhile and wrote to it: only that is read.
        other = rocks_state(tmp_path / "b")
        await other.restore(other.assign({1}), reader)
        with other.handling(1):
            other.table("seen")["u:1-new"] = {"u": "https://h1.example/new", "f": 7}
        await other.flush()
        await other.close()
        back = rocks_state(tmp_path / "a")
        await back.restore(back.assign({0, 1, 2, 3}), reader)
        assert back.restored_records == 1
        assert back.table("seen").get("u:1-new") == {"u": "https://h1.example/new", "f": 7}
        await back.close()

        # An empty disk gets everything back from Kafka.
        cold = rocks_state(tmp_path / "c")
        await cold.restore(cold.assign({0, 1, 2, 3}), reader)
        assert len(cold.table("seen")) == 4 * 50 + 2 and cold.table("later").get("r:3") == {"at": 100, "l": 1}
        await cold.close()
    finally:
        await producer.stop()

    # Every write of a table went to the changelog partition of the frontier partition that made it.
    consumer = AIOKafkaConsumer(**kafka_kwargs(bootstrap), auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topics["later"], p) for p in range(4)]
        consumer.assign(tps)
        got = await consumer.getmany(*tps, timeout_ms=5000)
        assert {tp.partition: [json.loads(m.key) for m in messages] for tp, messages in got.items()} == {p: [f"r:{p}"] for p in range(4)}
    finally:
        await consumer.stop()


async def test_changelog_topics_are_compacted_every_hour_not_every_week(stack: Stack, stack_config: StackConfig, namespace: str) -> None:
    kafka = KafkaSettings(bootstrap=stack_config.kafka_bootstrap)
    names = [f"{namespace}.newsflow-scraper-seen-changelog", f"{namespace}.newsflow-scraper-later-changelog"]
    await ensure_state_changelogs(kafka, names, 4)
    await ensure_state_changelogs(kafka, names, 4)  # idempotent
    admin = AIOKafkaAdminClient(**kafka_kwargs(stack_config.kafka_bootstrap))
    await admin.start()
    try:
        responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name) for name in names])
        partitions = {d["topic"]: len(d["partitions"]) for d in await admin.describe_topics(names)}
    finally:
        await admin.close()
    configs = {resource[3]: {entry[0]: entry[1] for entry in resource[4]} for response in responses for resource in response.resources}
    assert partitions == {name: 4 for name in names}
    for name in names:
        assert configs[name]["cleanup.policy"] == "compact" and configs[name]["segment.ms"] == "3600000", configs[name]
        assert configs[name]["retention.ms"] == "-1" and configs[name]["max.message.bytes"] == str(8 * 1024 * 1024)


def test_a_second_process_cannot_open_a_partition_store_another_holds(tmp_path: Path) -> None:
    # docs/operations.md: each scraper instance needs its own data directory; a second
    # instance on the same one stops on RocksDB's lock instead of sharing the files.
    import subprocess
    import sys

    path = tmp_path / "frontier-0"
    first = RocksStore(path, RocksResources())
    try:
        other = subprocess.run(
            [sys.executable, "-c",
             "import sys; from pathlib import Path; from services.scraper.state import RocksResources, RocksStore; "
             "RocksStore(Path(sys.argv[1]), RocksResources())", str(path)],
            capture_output=True, text=True, timeout=120, check=False,
        )
    finally:
        first.close()
    assert other.returncode != 0
    assert "LOCK" in other.stderr and "lock" in other.stderr.lower()
