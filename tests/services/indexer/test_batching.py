"""Batches bounded by count, bytes and time; one flush at a time; nothing lost or reordered."""

from __future__ import annotations

import asyncio

import pytest

from services.indexer.batching import BatchLimits, Batcher


class Recorder:
    def __init__(self, hold: asyncio.Event | None = None) -> None:
        self.batches: list[list[int]] = []
        self.running = 0
        self.most_at_once = 0
        self.hold = hold

    async def __call__(self, items: list[int]) -> None:
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        if self.hold is not None:
            await self.hold.wait()
        await asyncio.sleep(0)
        self.batches.append(items)
        self.running -= 1


async def test_a_full_batch_is_flushed_by_count() -> None:
    flushed = Recorder()
    batcher: Batcher[int] = Batcher(flushed, BatchLimits(max_items=3, max_bytes=10**6, max_wait=60))
    for i in range(7):
        await batcher.add(i)
    assert flushed.batches == [[0, 1, 2], [3, 4, 5]] and len(batcher) == 1
    await batcher.flush()
    assert flushed.batches[-1] == [6] and len(batcher) == 0


async def test_an_item_that_would_overflow_the_bytes_starts_a_new_batch() -> None:
    flushed = Recorder()
    batcher: Batcher[int] = Batcher(flushed, BatchLimits(max_items=100, max_bytes=100, max_wait=60), size_of=lambda n: n)
    await batcher.add(60)
    await batcher.add(30)
    await batcher.add(20)  # 60 + 30 + 20 > 100: the open batch goes first
    assert flushed.batches == [[60, 30]]
    await batcher.add(80)  # 20 + 80 = 100: full by bytes
    assert flushed.batches == [[60, 30], [20, 80]]


async def test_one_item_larger_than_the_limit_goes_alone() -> None:
    flushed = Recorder()
    batcher: Batcher[int] = Batcher(flushed, BatchLimits(max_items=100, max_bytes=100, max_wait=60), size_of=lambda n: n)
    await batcher.add(10)
    await batcher.add(500)
    assert flushed.batches == [[10], [500]]


async def test_a_batch_is_due_after_its_wait() -> None:
    flushed = Recorder()
    batcher: Batcher[int] = Batcher(flushed, BatchLimits(max_items=100, max_bytes=10**6, max_wait=0.05))
    await batcher.flush_if_due()
    assert flushed.batches == [] and not batcher.due, "an empty batch is never due"
    await batcher.add(1)
    await batcher.flush_if_due()
    assert flushed.batches == [] and not batcher.due
    await asyncio.sleep(0.06)
    assert batcher.due
    await batcher.flush_if_due()
    assert flushed.batches == [[1]] and not batcher.due


async def test_flushes_run_one_at_a_time_and_add_waits_meanwhile() -> None:
    hold = asyncio.Event()
    flushed = Recorder(hold)
    batcher: Batcher[int] = Batcher(flushed, BatchLimits(max_items=2, max_bytes=10**6, max_wait=60))
    first = asyncio.create_task(batcher.add(1))
    second = asyncio.create_task(batcher.add(2))  # fills the batch: its flush waits on `hold`
    await asyncio.sleep(0.01)
    third = asyncio.create_task(batcher.add(3))
    await asyncio.sleep(0.01)
    assert not third.done(), "add waits while a flush runs (backpressure)"
    hold.set()
    await asyncio.gather(first, second, third)
    await batcher.flush()
    assert flushed.batches == [[1, 2], [3]] and flushed.most_at_once == 1


async def test_a_failing_flush_raises_to_the_caller_and_the_batch_is_not_kept() -> None:
    # The events of that batch are not acknowledged: Kafka redelivers them after the restart.
    async def fail(items: list[int]) -> None:
        raise RuntimeError("bulk refused")

    batcher: Batcher[int] = Batcher(fail, BatchLimits(max_items=2, max_bytes=10**6, max_wait=60))
    await batcher.add(1)
    with pytest.raises(RuntimeError, match="bulk refused"):
        await batcher.add(2)
    assert len(batcher) == 0
