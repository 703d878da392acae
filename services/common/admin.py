"""Creating the catalogue's topics (idempotently) before a service subscribes.

Topics get NEWSFLOW_KAFKA_REPLICATION_FACTOR replicas and NEWSFLOW_KAFKA_MIN_INSYNC_REPLICAS
(2 when there are three replicas) as `min.insync.replicas`; changelogs too.

Kafka's auto-creation is off on purpose: an auto-created topic gets the broker's
default shape, and faust tables refuse to run when a topic and its changelog
disagree on partitions. Every service calls `ensure_topics` at start-up, retrying
while Kafka is not reachable yet.
"""

from __future__ import annotations

import asyncio
from typing import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError

from schemas.topics import CATALOGUE, TopicSpec, topic_name
from services.common.logs import get_logger
from services.common.retry import Backoff
from services.common.settings import KafkaSettings

log = get_logger(__name__)
# Waiting for Kafka to become reachable at start-up.
CONNECT_BACKOFF = Backoff(0.5, 10.0)


class TopicShapeError(RuntimeError):
    """An existing topic has fewer partitions than the catalogue asks for."""


async def ensure_topics(
    kafka: KafkaSettings,
    specs: Iterable[TopicSpec] = CATALOGUE,
    *,
    timeout: float = 300.0,
) -> dict[str, int]:
    """Create missing topics; return {name: partitions}. Retries while Kafka is unreachable."""
    specs = list(specs)
    deadline = asyncio.get_running_loop().time() + timeout
    attempt = 0
    while True:
        admin = AIOKafkaAdminClient(**kafka.aiokafka_kwargs(), request_timeout_ms=10000)  # type: ignore[arg-type]
        try:
            await admin.start()
            return await _create_missing(admin, kafka, specs)
        except (KafkaConnectionError, KafkaError, OSError) as exc:
            if isinstance(exc, TopicShapeError):
                raise
            if asyncio.get_running_loop().time() > deadline:
                raise
            delay = CONNECT_BACKOFF.delay(attempt)
            attempt += 1
            log.warning("kafka not reachable yet, retrying", error=repr(exc), retry_in=round(delay, 1))
            await asyncio.sleep(delay)
        finally:
            try:
                await admin.close()
            except Exception:  # noqa: BLE001 - closing a half-open client
                pass


async def ensure_changelogs(kafka: KafkaSettings, changelogs: list[tuple[str, int]], *, timeout: float = 300.0) -> dict[str, int]:
    """Create compacted changelog topics for faust tables (name, partitions), like the catalogue's."""
    specs = [
        TopicSpec(name=name, schema=dict, key="table key", partitions=partitions, retention_ms=-1,  # type: ignore[arg-type]
                  max_message_bytes=8 * 1024 * 1024, producers=("faust table",), consumers=("faust table",),
                  cleanup_policy="compact", compression="producer")
        for name, partitions in changelogs
    ]
    # Changelog names already carry the namespace (through the app id).
    return await ensure_topics(kafka.model_copy(update={"topic_namespace": ""}), specs, timeout=timeout)


async def _create_missing(admin: AIOKafkaAdminClient, kafka: KafkaSettings, specs: list[TopicSpec]) -> dict[str, int]:
    wanted = {topic_name(spec, kafka.topic_namespace): spec for spec in specs}
    existing = set(await admin.list_topics())
    missing = [
        NewTopic(
            name=name,
            num_partitions=spec.partitions,
            replication_factor=kafka.replication_factor,
            # With acks=all, a write counts once this many replicas have it (2 of 3 on a cluster).
            topic_configs={**spec.config(), "min.insync.replicas": str(kafka.min_insync_replicas)},
        )
        for name, spec in wanted.items()
        if name not in existing
    ]
    if missing:
        try:
            await admin.create_topics(missing)
        except TopicAlreadyExistsError:
            pass  # another service created it between our list and create
        log.info("created topics", topics=[t.name for t in missing])
    # Just-created topics can show no partitions until the metadata has propagated.
    deadline = asyncio.get_running_loop().time() + 15
    while True:
        described = await admin.describe_topics(list(wanted))
        shape = {d["topic"]: len(d["partitions"]) for d in described}
        if all(shape.get(name, 0) > 0 for name in wanted) or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.2)
    for name, spec in wanted.items():
        if shape.get(name, 0) < spec.partitions:
            raise TopicShapeError(
                f"topic {name} has {shape.get(name, 0)} partitions, the catalogue needs {spec.partitions}"
            )
    return shape
