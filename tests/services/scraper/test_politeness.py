"""The host scheduler on its own (no HTTP): the gap between two requests to a host."""

from __future__ import annotations

import asyncio
import functools
import time

from services.scraper.politeness import HostScheduler


async def test_the_gap_holds_when_requests_are_sent_not_only_when_jobs_start() -> None:
    scheduler = HostScheduler(global_concurrency=4)
    sent: list[float] = []

    async def job(linger: float) -> None:
        await asyncio.sleep(linger)  # work before the request: state lookups, a busy event loop
        await scheduler.before_request("h")
        sent.append(time.monotonic())

    for linger in (0.25, 0.0, 0.0):
        await scheduler.submit("h", functools.partial(job, linger), delay=0.3, concurrency=3)
    deadline = time.monotonic() + 5
    while len(sent) < 3 and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    gaps = [b - a for a, b in zip(sent, sent[1:])]
    assert len(gaps) == 2 and min(gaps) >= 0.29, f"requests sent closer than the host's gap: {gaps}"
    await scheduler.close()
