"""Per-host politeness and a global concurrency cap, for one scraper process.

Frontier tasks are keyed by host, so every task for a host lands in one partition
and therefore in one worker: the limits this scheduler enforces per host hold for
the whole consumer group.

Every request the scraper makes is one job here — first attempts, retries, redirect
hops, robots.txt, feeds and sitemaps alike — so the rules below hold for all of them:

- at most `concurrency` requests in flight per host,
- at least `delay` seconds between the starts of two requests to a host (the larger of
  the source's min_delay and robots.txt's Crawl-delay): job starts are spaced by the queue,
  and `before_request` holds the gap again at the moment a job sends its request,
- nothing starts on a paused host: `pause(host, s)` after Retry-After, `backoff(host)`
  after a 5xx or a timeout (exponential with jitter, capped, reset by `succeeded`),
- at most `global_concurrency` requests in flight overall,
- `submit` waits while `max_pending` tasks are queued overall, which stops the Kafka
  consumer from reading ahead (backpressure instead of unbounded memory);
  `has_room(host)` tells the caller when one host holds `max_pending_per_host` tasks,
  so it can park that host's surplus instead of letting it fill the global budget.
"""

from __future__ import annotations

import asyncio
import contextvars
import random
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Awaitable, Callable

Job = Callable[[], Awaitable[None]]


@dataclass
class _Host:
    delay: float
    concurrency: int
    queue: deque[tuple[Job, contextvars.Context, bool, object]] = field(default_factory=deque)
    inflight: int = 0
    next_start: float = 0.0
    paused_until: float = 0.0
    failures: int = 0
    runner: asyncio.Task[None] | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    last_request: float = float("-inf")
    request_gate: asyncio.Lock = field(default_factory=asyncio.Lock)


class HostScheduler:
    def __init__(self, global_concurrency: int = 16, max_pending: int = 1000, max_pending_per_host: int = 100,
                 backoff_base: float = 1.0, backoff_cap: float = 300.0,
                 on_depth: Callable[[str, int], None] | None = None) -> None:
        """`on_depth(host, queued + in flight)` is called whenever a host's depth changes."""
        self._on_depth = on_depth or (lambda host, depth: None)
        self._global = asyncio.Semaphore(global_concurrency)
        self._hosts: dict[str, _Host] = {}
        self._pending = 0
        self._max_pending = max_pending
        self.max_pending_per_host = max_pending_per_host
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._room = asyncio.Condition()
        self._tasks: set[asyncio.Task[None]] = set()

    # -- queries -------------------------------------------------------------

    @property
    def pending(self) -> int:
        return self._pending

    def depth(self, host: str) -> int:
        state = self._hosts.get(host)
        return len(state.queue) + state.inflight if state else 0

    def has_room(self, host: str) -> bool:
        return self.depth(host) < self.max_pending_per_host

    def paused_for(self, host: str) -> float:
        """Seconds until the host may be asked again because it is paused (0 when it is not)."""
        state = self._hosts.get(host)
        return max(0.0, state.paused_until - time.monotonic()) if state else 0.0

    def drain_estimate(self, host: str) -> float:
        """Seconds until a task queued now would start, at the host's current pace."""
        state = self._hosts.get(host)
        if state is None:
            return 0.0
        per_start = state.delay / max(1, state.concurrency) if state.delay else 0.0
        return self.paused_for(host) + len(state.queue) * per_start

    # -- control -------------------------------------------------------------

    async def submit(self, host: str, job: Job, *, delay: float, concurrency: int, exclusive: bool = False,
                     tag: object = None) -> None:
        """Queue a new task's first job for `host`; waits while the scheduler is full. Never runs it inline.

        An `exclusive` job (robots.txt) runs alone: nothing else starts on the host
        until it finished, so what it learns (Crawl-delay) governs the next request.
        `tag` is the caller's handle on the job for `drop_queued`.
        """
        async with self._room:
            await self._room.wait_for(lambda: self._pending < self._max_pending)
            self._pending += 1
        state = self._host(host, delay, concurrency)
        state.delay, state.concurrency = delay, max(1, concurrency)
        self._enqueue(host, state, job, front=False, exclusive=exclusive, tag=tag)

    def requeue(self, host: str, job: Job, *, delay: float, concurrency: int, tag: object = None) -> None:
        """Queue the next request of a task that is under way (a retry, a redirect hop).

        It goes to the head of the host's queue — the task already waited its turn —
        and still waits for the host's gap and pauses. Does not wait for global room.
        """
        state = self._host(host, delay, concurrency)
        self._pending += 1
        self._enqueue(host, state, job, front=True, exclusive=False, tag=tag)

    def drop_queued(self, matches: Callable[[object], bool]) -> list[object]:
        """Remove the queued (not yet started) jobs whose tag `matches`; returns their tags.

        Their room is given back at once (a `submit` waiting for room goes on). Jobs already
        running are not touched: the caller cancels or waits for those itself.
        """
        dropped: list[object] = []
        for host, state in self._hosts.items():
            kept = deque(entry for entry in state.queue if entry[3] is None or not matches(entry[3]))
            if len(kept) == len(state.queue):
                continue
            dropped.extend(entry[3] for entry in state.queue if entry[3] is not None and matches(entry[3]))
            state.queue = kept
            self._on_depth(host, len(state.queue) + state.inflight)
            state.changed.set()
        if dropped:
            self._pending -= len(dropped)
            asyncio.ensure_future(self._notify_room())
        return dropped

    async def _notify_room(self) -> None:
        async with self._room:
            self._room.notify_all()

    async def before_request(self, host: str) -> None:
        """Called by a job right before it sends its request: waits until the host's gap since
        the previous request is over, then counts this request as sent.

        The queue already spaces job starts (and holds them during a pause); this second gate
        holds the gap at the moment of sending, whatever a job did between its start and its
        request (state lookups, a busy event loop) and however many of the host's jobs are
        under way. It does not wait out pauses: a job already under way when its host was
        paused would hold its slots for up to the Retry-After cap.
        """
        state = self._hosts.get(host)
        if state is None:
            return
        async with state.request_gate:
            while True:
                wait = state.last_request + state.delay - time.monotonic()
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
            state.last_request = time.monotonic()

    def set_delay(self, host: str, delay: float) -> None:
        state = self._hosts.get(host)
        if state is not None:
            state.delay = delay
            state.changed.set()

    def set_limits(self, host: str, delay: float, concurrency: int) -> None:
        """New politeness for a host, from its next request on (also for tasks already queued)."""
        state = self._hosts.get(host)
        if state is not None:
            state.delay, state.concurrency = delay, max(1, concurrency)
            state.changed.set()

    def hosts(self) -> list[str]:
        """The hosts this scheduler has seen."""
        return list(self._hosts)

    def pause(self, host: str, seconds: float) -> None:
        """Start nothing on `host` for `seconds` (Retry-After)."""
        state = self._host(host, 0.0, 1)
        state.paused_until = max(state.paused_until, time.monotonic() + seconds)
        state.changed.set()

    def backoff(self, host: str) -> float:
        """A 5xx or a timeout: pause the host exponentially longer per consecutive failure. Returns the pause."""
        state = self._host(host, 0.0, 1)
        state.failures += 1
        seconds = min(self.backoff_cap, self.backoff_base * 2 ** (state.failures - 1)) * random.uniform(0.8, 1.0)
        self.pause(host, seconds)
        return seconds

    def succeeded(self, host: str) -> None:
        """The host answered normally: the next failure backs off from the start again."""
        state = self._hosts.get(host)
        if state is not None:
            state.failures = 0

    async def close(self) -> None:
        for state in self._hosts.values():
            if state.runner:
                state.runner.cancel()
        for task in list(self._tasks):
            task.cancel()

    # -- internals -----------------------------------------------------------

    def _host(self, host: str, delay: float, concurrency: int) -> _Host:
        state = self._hosts.get(host)
        if state is None:
            state = self._hosts[host] = _Host(delay=delay, concurrency=max(1, concurrency))
        return state

    def _enqueue(self, host: str, state: _Host, job: Job, *, front: bool, exclusive: bool, tag: object = None) -> None:
        entry = (job, contextvars.copy_context(), exclusive, tag)
        if front:
            state.queue.appendleft(entry)
        else:
            state.queue.append(entry)
        self._on_depth(host, len(state.queue) + state.inflight)
        state.changed.set()
        if state.runner is None or state.runner.done():
            state.runner = asyncio.create_task(self._run_host(host, state))

    async def _run_host(self, host: str, state: _Host) -> None:
        while state.queue:
            state.changed.clear()
            now = time.monotonic()
            if state.inflight >= state.concurrency:
                await state.changed.wait()
                continue
            wait = max(state.next_start, state.paused_until) - now
            if wait > 0:
                try:
                    await asyncio.wait_for(state.changed.wait(), timeout=wait)
                except asyncio.TimeoutError:
                    pass
                continue
            # Take the global slot before stamping the start, so the per-host gap is
            # measured between real request starts even when the global cap is the
            # bottleneck; re-check the host's clock afterwards (it may have been paused).
            await self._global.acquire()
            if max(state.next_start, state.paused_until) > time.monotonic() or not state.queue:
                self._global.release()
                continue
            job, ctx, exclusive, _ = state.queue.popleft()
            state.inflight += 1
            start = time.monotonic()
            state.next_start = start + state.delay
            task = asyncio.create_task(self._run_job(host, state, job), context=ctx)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            if exclusive:
                await asyncio.wait([task])
                # Measure the gap from the end of the exclusive job, with the delay it set.
                state.next_start = time.monotonic() + state.delay

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
