"""The benchmarks' own Kafka and Elasticsearch (instance "bench", ports 29092 and 29200).

The ports can be moved with NEWSFLOW_BENCH_KAFKA_PORT, NEWSFLOW_BENCH_KAFKA_CONTROLLER_PORT,
NEWSFLOW_BENCH_ES_PORT and NEWSFLOW_BENCH_ES_TRANSPORT_PORT, so that two checkouts can run
their benchmarks side by side on one machine. A component that was already running is left
running; one started here is stopped at the end.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from devtools.devstack.stack import Elasticsearch, Kafka, StackConfig

_DEFAULTS = {"kafka_port": 29092, "kafka_controller_port": 29093, "es_port": 29200, "es_transport_port": 29300}
BENCH = {name: int(os.environ.get(f"NEWSFLOW_BENCH_{name.upper()}", default)) for name, default in _DEFAULTS.items()}


@asynccontextmanager
async def bench_component(kind: type[Kafka] | type[Elasticsearch]) -> AsyncIterator[StackConfig]:
    component = kind(StackConfig.from_env("bench", **BENCH))
    was_running = component.running_pid() is not None
    await asyncio.to_thread(component.start)
    await asyncio.to_thread(component.wait)
    try:
        yield component.cfg
    finally:
        if not was_running:
            await asyncio.to_thread(component.stop)


async def read_json_topic(topic: str, kafka_kwargs: dict[str, Any], idle_ms: int = 1000) -> list[dict[str, Any]]:
    """Every record of `topic` from the start, decoded as JSON; stops after `idle_ms` without one."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(topic, **kafka_kwargs, auto_offset_reset="earliest", enable_auto_commit=False, group_id=None)
    await consumer.start()
    records: list[dict[str, Any]] = []
    try:
        while batch := await consumer.getmany(timeout_ms=idle_ms):
            for partition in batch.values():
                records.extend(json.loads(record.value) for record in partition)
    finally:
        await consumer.stop()
    return records
