"""Concurrent work, finished in input order: the loop under every stage's window and the batch commands.

A stage keeps several events in its worker pool at once (so every worker is busy) but must
acknowledge them in the order it read them; `newsflow parse|enrich` prints its results in
input order. Both are `run_ordered`.
"""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator, Awaitable, Callable


async def run_ordered(
    items: AsyncIterator[Any],
    start: Callable[[Any], Awaitable[Any]],
    finish: Callable[[Any, Any], Awaitable[None]],
    window: int,
) -> None:
    """`start(item)` for up to `window` items at once; `finish(item, result)` strictly in input order.

    Memory stays bounded by `window` items in flight, however long the input is. An
    exception from `start` or `finish` stops everything (the pending starts are cancelled)
    and propagates.
    """
    queue: asyncio.Queue[tuple[Any, asyncio.Future[Any]] | None] = asyncio.Queue(max(1, window))

    async def read() -> None:
        async for item in items:
            await queue.put((item, asyncio.ensure_future(start(item))))
        await queue.put(None)

    async def drain() -> None:
        while (entry := await queue.get()) is not None:
            item, future = entry
            await finish(item, await future)

    reader, drainer = asyncio.ensure_future(read()), asyncio.ensure_future(drain())
    try:
        done, _ = await asyncio.wait({reader, drainer}, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()  # re-raise the first failure
        await drainer
    finally:
        for task in (reader, drainer):
            task.cancel()
        while not queue.empty():
            entry = queue.get_nowait()
            if entry is not None:
                entry[1].cancel()
