"""Per-host politeness and a global concurrency cap, for one scraper process.

Frontier tasks are keyed by host, so every task for a host lands in one partition
and therefore in one worker: the limits this scheduler enforces per host hold for
the whole consumer group.

- at most `concurrency` requests in flight per host,
- at least `delay` seconds between the starts of two requests to a host
  (the larger of the source's min_delay and robots.txt's Crawl-delay),
- `slow_down(host, seconds)` after 429/503 + Retry-After: nothing starts on that
  host before the time is up, and the host's delay doubles for a while,
- at most `global_concurrency` requests in flight overall,
- `submit` waits while `max_pending` jobs are queued, which stops the Kafka
  consumer from reading ahead (backpressure instead of unbounded memory).
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Awaitable, Callable

Job = Callable[[], Awaitable[None]]


@dataclass
class _Host:
    delay: float
    concurrency: int
    queue: deque[tuple[Job, contextvars.Context, bool]] = field(default_factory=deque)
    inflight: int = 0
    next_start: float = 0.0
    penalty_until: float = 0.0
    runner: asyncio.Task[None] | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)


class HostScheduler:
    def __init__(self, global_concurrency: int = 16, max_pending: int = 1000,
                 on_depth: Callable[[str, int], None] | None = None) -> None:
        """`on_depth(host, queued + in flight)` is called whenever a host's depth changes."""
        self._on_depth = on_depth or (lambda host, depth: None)
        self._global = asyncio.Semaphore(global_concurrency)
        self._hosts: dict[str, _Host] = {}
        self._pending = 0
        self._max_pending = max_pending
        self._room = asyncio.Condition()
        self._tasks: set[asyncio.Task[None]] = set()

    # -- queries -------------------------------------------------------------

    @property
    def pending(self) -> int:
        return self._pending

    # -- control -------------------------------------------------------------

    async def submit(self, host: str, job: Job, *, delay: float, concurrency: int, exclusive: bool = False) -> None:
        """Queue `job` for `host`; waits while the scheduler is full. Never runs `job` inline.

        An `exclusive` job (robots.txt) runs alone: nothing else starts on the host
        until it finished, so what it learns (Crawl-delay) governs the next request.
        """
        async with self._room:
            await self._room.wait_for(lambda: self._pending < self._max_pending)
            self._pending += 1
        state = self._hosts.get(host)
        if state is None:
            state = self._hosts[host] = _Host(delay=delay, concurrency=concurrency)
        state.delay, state.concurrency = delay, max(1, concurrency)
        state.queue.append((job, contextvars.copy_context(), exclusive))
        self._on_depth(host, len(state.queue) + state.inflight)
        state.changed.set()
        if state.runner is None or state.runner.done():
            state.runner = asyncio.create_task(self._run_host(host, state))

    def set_delay(self, host: str, delay: float) -> None:
        state = self._hosts.get(host)
        if state is not None:
            state.delay = delay
            state.changed.set()

    def slow_down(self, host: str, seconds: float) -> None:
        state = self._hosts.get(host)
        if state is None:
            return
        now = time.monotonic()
        state.next_start = max(state.next_start, now + seconds)
        # Keep a doubled delay for a while after the server asked us to back off.
        state.penalty_until = max(state.penalty_until, now + max(60.0, 4 * seconds))
        state.changed.set()

    def requeue_front(self, host: str, job: Job) -> None:
        """Put a job back at the head of its host queue (after a throttled attempt)."""
        state = self._hosts[host]
        state.queue.appendleft((job, contextvars.copy_context(), False))
        self._pending += 1
        self._on_depth(host, len(state.queue) + state.inflight)
        state.changed.set()
        if state.runner is None or state.runner.done():
            state.runner = asyncio.create_task(self._run_host(host, state))

    async def close(self) -> None:
        for state in self._hosts.values():
            if state.runner:
                state.runner.cancel()
        for task in list(self._tasks):
            task.cancel()

    # -- internals -----------------------------------------------------------

    def _effective_delay(self, state: _Host, now: float) -> float:
        return state.delay * (2 if now < state.penalty_until else 1)

    async def _run_host(self, host: str, state: _Host) -> None:
        while state.queue:
            state.changed.clear()
            now = time.monotonic()
            if state.inflight >= state.concurrency:
                await state.changed.wait()
                continue
            wait = state.next_start - now
            if wait > 0:
                try:
                    await asyncio.wait_for(state.changed.wait(), timeout=wait)
                except asyncio.TimeoutError:
                    pass
                continue
            job, ctx, exclusive = state.queue.popleft()
            # Take the global slot before stamping the start, so the per-host gap is
            # measured between real request starts even when the global cap is the
            # bottleneck.
            await self._global.acquire()
            state.inflight += 1
            start = time.monotonic()
            state.next_start = start + self._effective_delay(state, start)
            task = asyncio.create_task(self._run_job(host, state, job), context=ctx)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            if exclusive:
                await asyncio.wait([task])
                # Measure the gap from the end of the exclusive job, with the delay it set.
                state.next_start = time.monotonic() + self._effective_delay(state, time.monotonic())

    async def _run_job(self, host: str, state: _Host, job: Job) -> None:
        try:
            await job()
        finally:
            self._global.release()
            state.inflight -= 1
            self._on_depth(host, len(state.queue) + state.inflight)
            state.changed.set()
            async with self._room:
                self._pending -= 1
                self._room.notify_all()
