"""Dead letters: build the record for a rejected message and publish it.

The record keeps the original key and value bytes, the stage, a reason code and a
human-readable detail, plus where the message came from (topic, partition, offset),
so `newsflow dlq replay` can send it back once the cause is fixed.
"""

from __future__ import annotations

import base64
from collections import deque
from typing import Any, Awaitable, Callable

from schemas.common import utcnow
from schemas.dead_letter_v1 import DeadLetterV1, Stage
from services.common.metrics import DEAD_LETTERS
from services.common.outcomes import Rejected

# The dead-letter topic accepts 16 MiB; keep the original well below it.
MAX_ORIGINAL_BYTES = 8 * 1024 * 1024


def dead_letter_record(
    stage: Stage,
    rejected: Rejected,
    *,
    original_value: bytes | None,
    original_key: bytes | None = None,
    topic: str | None = None,
    partition: int | None = None,
    offset: int | None = None,
    trace_id: str | None = None,
) -> DeadLetterV1:
    truncated = original_value is not None and len(original_value) > MAX_ORIGINAL_BYTES
    value = original_value[:MAX_ORIGINAL_BYTES] if truncated and original_value is not None else original_value
    extra: dict[str, Any] = {"trace_id": trace_id} if trace_id else {}
    return DeadLetterV1(
        stage=stage,
        reason=rejected.reason,
        detail=rejected.detail[:4000],
        source_topic=topic,
        source_partition=partition,
        source_offset=offset,
        article_id=rejected.article_id,
        url=rejected.url,
        original_key_b64=base64.b64encode(original_key).decode() if original_key is not None else None,
        original_value_b64=base64.b64encode(value).decode() if value is not None else None,
        original_truncated=truncated,
        failed_at=utcnow(),
        **extra,
    )


class TooManyInvalid(RuntimeError):
    """The share of dead-lettered messages is abnormal: stop instead of flooding the DLQ."""


class InvalidRatioGuard:
    """Tracks the last `window` outcomes and trips when the invalid share exceeds `max_ratio`."""

    def __init__(self, max_ratio: float, window: int) -> None:
        self.max_ratio = max_ratio
        self.window: deque[bool] = deque(maxlen=window)

    def record(self, invalid: bool) -> None:
        self.window.append(invalid)
        if len(self.window) == self.window.maxlen and self.max_ratio < 1:
            ratio = sum(self.window) / len(self.window)
            if ratio > self.max_ratio:
                raise TooManyInvalid(
                    f"{ratio:.0%} of the last {len(self.window)} messages were dead-lettered "
                    f"(limit {self.max_ratio:.0%}); stopping so a bad deploy or a poisoned topic "
                    "gets a person's attention"
                )


class DeadLetterSink:
    """Publishes dead letters for one stage.

    `deliver(key, value)` must return only once the broker confirmed the write (a
    `Publisher.deliver`, services/common/delivery.py): the offending message is acknowledged
    right after, so a dead letter that was only buffered could be lost with it.
    """

    def __init__(self, stage: Stage, deliver: Callable[[bytes | None, bytes], Awaitable[Any]]) -> None:
        self.stage = stage
        self._send = deliver

    async def publish(self, record: DeadLetterV1) -> None:
        key = (record.article_id or "").encode() or (
            base64.b64decode(record.original_key_b64) if record.original_key_b64 else None
        )
        await self._send(key, record.model_dump_json().encode())
        DEAD_LETTERS.labels(self.stage, record.reason).inc()

    async def reject(self, rejected: Rejected, **where: Any) -> None:
        await self.publish(dead_letter_record(self.stage, rejected, **where))
