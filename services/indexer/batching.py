"""Batches bounded by count, bytes and time, flushed one at a time.

`add` waits while a flush is running or the batch is full, which is what stops the
Kafka consumer from reading ahead while Elasticsearch is slow or down. The flush
callback decides the fate of every item; the batch's events are acknowledged only
after it returns.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Generic, TypeVar

T = TypeVar("T")


@dataclass
class BatchLimits:
    max_items: int = 500
    max_bytes: int = 5 * 1024 * 1024
    max_wait: float = 1.0


@dataclass
class Batcher(Generic[T]):
    flush_fn: Callable[[list[T]], Awaitable[Any]]
    limits: BatchLimits = field(default_factory=BatchLimits)
    size_of: Callable[[T], int] = lambda item: 0  # noqa: E731

    def __post_init__(self) -> None:
        self._items: list[T] = []
        self._bytes = 0
        self._opened_at: float | None = None
        self._lock = asyncio.Lock()

    def __len__(self) -> int:
        return len(self._items)

    @property
    def due(self) -> bool:
        return bool(self._items) and self._opened_at is not None and time.monotonic() - self._opened_at >= self.limits.max_wait

    async def add(self, item: T) -> None:
        size = self.size_of(item)
        if self._items and self._bytes + size > self.limits.max_bytes:
            await self.flush()
        async with self._lock:
            if not self._items:
                self._opened_at = time.monotonic()
            self._items.append(item)
            self._bytes += size
            full = len(self._items) >= self.limits.max_items or self._bytes >= self.limits.max_bytes
        if full:
            await self.flush()

    async def flush(self) -> None:
        async with self._lock:
            if not self._items:
                return
            items, self._items, self._bytes, self._opened_at = self._items, [], 0, None
            await self.flush_fn(items)

    async def flush_if_due(self) -> None:
        if self.due:
            await self.flush()
