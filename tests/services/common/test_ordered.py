"""run_ordered: work overlaps up to the window, results are finished in input order."""

from __future__ import annotations

import asyncio

import pytest

from services.common.ordered import run_ordered


async def numbers(n: int):  # type: ignore[no-untyped-def]
    for i in range(n):
        yield i


async def test_results_are_finished_in_input_order_with_at_most_window_in_flight() -> None:
    running, most, finished = 0, 0, []

    async def start(i: int) -> int:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.05 if i % 3 == 0 else 0.0)  # every third one is slow
        running -= 1
        return i * 10

    async def finish(i: int, result: int) -> None:
        finished.append((i, result))

    await run_ordered(numbers(12), start, finish, window=4)
    assert finished == [(i, i * 10) for i in range(12)]
    # Bounded by the window: the queued items, the one being finished, the one waiting for a place.
    assert 1 < most <= 4 + 2


async def test_a_failure_in_finish_stops_everything_and_cancels_the_pending_starts() -> None:
    started, cancelled = [], []

    async def start(i: int) -> int:
        started.append(i)
        try:
            await asyncio.sleep(0 if i == 0 else 10)
        except asyncio.CancelledError:
            cancelled.append(i)
            raise
        return i

    async def finish(i: int, result: int) -> None:
        raise RuntimeError(f"finishing {i} failed")

    with pytest.raises(RuntimeError, match="finishing 0 failed"):
        await asyncio.wait_for(run_ordered(numbers(100), start, finish, window=3), timeout=5)
    await asyncio.sleep(0)
    assert len(started) < 10 and cancelled and set(cancelled) <= set(started) - {0}
