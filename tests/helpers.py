"""Small helpers for stack tests: polling, reading topics, sample-site expectations.

Kafka clients here authenticate with what NEWSFLOW_KAFKA_* says: in a stack test,
the administrator's credentials the session exported (tests/conftest.py).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any, Awaitable, Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from services.common.ids import article_id
from services.common.settings import KafkaSettings
from devtools.samplesite.server import Manifest, SamplePage
from services.scraper.decisions import dedup_key


async def eventually(check: Callable[[], Awaitable[Any]], *, timeout: float, interval: float = 1.0, what: str = "condition") -> Any:
    """Await `check()` until it returns a truthy value; fail with the last value after `timeout`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"{what} not reached within {timeout:.0f}s (last value: {last!r})")


def kafka_kwargs(bootstrap: str) -> dict[str, Any]:
    """aiokafka connection arguments for `bootstrap` with the session's credentials."""
    return KafkaSettings(bootstrap=bootstrap).aiokafka_kwargs()


def role_environ(pipeline: Any, role: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """`base` (default: this process' environment) with a pipeline role's credentials instead of
    any it holds, for a `newsflow` command; credentials the role lacks are cleared (set empty)."""
    from devtools.devstack.security import CREDENTIAL_VARIABLES

    env = {k: v for k, v in (os.environ if base is None else base).items() if k not in CREDENTIAL_VARIABLES}
    env.update({k: v if v is not None else "" for k, v in pipeline.role_env(role).items()})
    return env


def deny_output(pipeline: Any, service: str, topics: list[str] | None = None) -> list[str]:
    """Take WRITE on `service`'s output topics (default: all but the dead-letter topic) away from its principal.

    For tests of what a stage does when the broker refuses its produce: call this with the
    `Pipeline` object the service will run from, then start the service and feed it input.
    The principal keeps DESCRIBE on those topics (so the service starts and sees them) and all
    its other rights. Returns the topics denied; `allow_output` gives WRITE back.
    """
    from schemas.topics import DEAD_LETTERS, produced_by, topic_name
    from devtools.devstack.stack import kafka_admin, run_sync
    from services.ops.access import Operation, kafka_acls
    from services.ops.kafka_access import delete_acls

    from dataclasses import replace

    from services.ops.kafka_access import create_acls

    ns = pipeline.namespace
    denied = topics or [topic_name(s, ns) for s in produced_by(service) if s is not DEAD_LETTERS]
    pipeline.grant(service)  # its user exists, and a later grant() on this object will not undo the denial
    acls = [a for a in kafka_acls(service, ns) if a.operation is Operation.WRITE and a.resource_name in denied]
    # It still sees the topics (WRITE implied DESCRIBE): it starts, and only its produce is refused.
    describe = [replace(a, operation=Operation.DESCRIBE) for a in acls]

    async def apply() -> None:
        async with kafka_admin(pipeline.stack) as admin:
            await create_acls(admin, describe)
            await delete_acls(admin, acls)

    run_sync(apply)
    return denied


def allow_output(pipeline: Any, service: str) -> None:
    """Give `service`'s principal its WRITE on its output topics back (after `deny_output`)."""
    from devtools.devstack.stack import kafka_admin, run_sync
    from services.ops.access import Operation, kafka_acls
    from services.ops.kafka_access import create_acls

    acls = [a for a in kafka_acls(service, pipeline.namespace) if a.operation is Operation.WRITE]

    async def apply() -> None:
        async with kafka_admin(pipeline.stack) as admin:
            await create_acls(admin, acls)

    run_sync(apply)


async def read_topic(bootstrap: str, topic: str, *, idle: float = 2.0, limit: float = 30.0) -> list[tuple[bytes | None, bytes | None]]:
    """Every message of `topic` from the beginning, until no new message arrives for `idle` seconds."""
    consumer = AIOKafkaConsumer(topic, **kafka_kwargs(bootstrap), auto_offset_reset="earliest", enable_auto_commit=False, group_id=None)
    await consumer.start()
    messages: list[tuple[bytes | None, bytes | None]] = []
    try:
        deadline = time.monotonic() + limit
        quiet_since = time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - quiet_since < idle:
            batch = await consumer.getmany(timeout_ms=300)
            for records in batch.values():
                for record in records:
                    messages.append((record.key, record.value))
                    quiet_since = time.monotonic()
    finally:
        await consumer.stop()
    return messages


async def dead_letters(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    return [json.loads(v) for _, v in await read_topic(bootstrap, topic) if v]


async def produce(bootstrap: str, topic: str, messages: list[tuple[bytes | None, bytes]]) -> None:
    producer = AIOKafkaProducer(**kafka_kwargs(bootstrap), max_request_size=8 * 1024 * 1024)
    await producer.start()
    try:
        for key, value in messages:
            await producer.send_and_wait(topic, value=value, key=key)
    finally:
        await producer.stop()


async def indexed_count(es: Any, alias: str, ids: list[str] | None = None) -> int:
    """Documents in `alias` (only those with `ids` when given), after a refresh; 0 while the index is missing."""
    try:
        await es.indices.refresh(index=alias)
        query = {"ids": {"values": ids}} if ids is not None else {"match_all": {}}
        return (await es.count(index=alias, query=query))["count"]
    except Exception:  # noqa: BLE001 - the index appears a moment after the indexer starts
        return 0


async def all_indexed(es: Any, alias: str, ids: list[str]) -> bool:
    return await indexed_count(es, alias, ids) == len(ids)


def expected_id(base_url: str, page: SamplePage) -> str:
    return article_id(dedup_key(base_url + page.path))


def expected_ids(base_url: str, manifest: Manifest) -> dict[str, SamplePage]:
    return {expected_id(base_url, page): page for page in manifest.articles()}
