"""Producing with the broker's confirmation: what a stage publishes is on Kafka before it acks.

faust's `topic.send()` hands a message to the producer's buffer and returns; a produce
that fails later (message too large for the topic, no permission, no leader for longer
than the producer's timeout) is only logged, and the input's offset would be committed
anyway: the event and its dead letter would both be lost. `Publisher.deliver` waits for
the broker's acknowledgement (acks=all) and raises `DeliveryFailed` when it cannot get
one; the stage then stops without acknowledging the input, which Kafka redelivers once
the cause is fixed.

Transient broker trouble (no leader yet, not enough in-sync replicas, a request timeout)
is retried with backoff for up to `max_wait` seconds before it counts as a failure.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from aiokafka.errors import KafkaError

from services.common.logs import get_logger
from services.common.metrics import INFRA_RETRIES
from services.common.retry import Backoff

log = get_logger(__name__)

Send = Callable[[bytes | None, bytes | None], Awaitable[Awaitable[Any]]]
"""send(key, value) → awaitable that resolves when the broker confirmed the write."""


class DeliveryFailed(RuntimeError):
    """The broker did not confirm a write, and retrying would not help (or did not, in time)."""

    def __init__(self, topic: str, cause: BaseException) -> None:
        super().__init__(f"producing to {topic} failed: {type(cause).__name__}: {cause}")
        self.topic = topic
        self.cause = cause


def _retriable(exc: BaseException) -> bool:
    return isinstance(exc, (asyncio.TimeoutError, ConnectionError)) or (
        isinstance(exc, KafkaError) and bool(getattr(exc, "retriable", False))
    )


@dataclass
class Publisher:
    """Publishes to one topic and returns only when the write is confirmed."""

    topic: str
    send: Send
    stage: str
    max_wait: float = 120.0
    backoff: Backoff = field(default_factory=lambda: Backoff(0.2, 5.0))

    @classmethod
    def for_faust_topic(cls, topic: Any, stage: str, **kwargs: Any) -> Publisher:
        """For a faust topic: `force=True` publishes now, instead of attaching the message to
        the event being processed (faust would then publish it during the commit and not
        check that it arrived)."""

        async def send(key: bytes | None, value: bytes) -> Awaitable[Any]:
            return await topic.send(key=key, value=value, force=True)

        return cls(topic.get_topic_name(), send, stage, **kwargs)

    async def deliver(self, key: bytes | None, value: bytes | None) -> Any:
        """The broker's confirmation (aiokafka's RecordMetadata: partition, offset).

        Raises DeliveryFailed when the broker refuses the write or stays unavailable.
        """
        started = time.monotonic()
        attempt = 0
        while True:
            try:
                confirmation = await self.send(key, value)
                return await confirmation
            except Exception as exc:  # noqa: BLE001 - classified below
                if not _retriable(exc) or time.monotonic() - started > self.max_wait:
                    raise DeliveryFailed(self.topic, exc) from exc
                INFRA_RETRIES.labels(self.stage, "kafka").inc()
                delay = self.backoff.delay(attempt)
                log.warning("kafka did not confirm a write; retrying", topic=self.topic,
                            error=f"{type(exc).__name__}: {exc}", retry_in=round(delay, 2))
                attempt += 1
                await asyncio.sleep(delay)
