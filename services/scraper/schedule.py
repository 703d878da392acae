"""When the scraper does things that are not driven by a frontier event, as pure state.

- `PollSchedule`: which sources' feeds and sitemaps are due for a poll (the worker that
  owns the crawl-requests partition asks it every tick);
- `DueIndex`: the due times of the `later` state (parked tasks and re-fetches) in a heap,
  so that a scan every few seconds reads only what is due instead of the whole table.

Neither reads a clock nor does I/O: the caller passes the time and the state it holds.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from schemas.sources import Source


class PollSchedule:
    """When each source was last polled, and which are due.

    A source never polled by this worker (or forgotten) is due at once; afterwards every
    `poll_interval` seconds (the source's own, else the sources file's default).
    """

    def __init__(self, default_interval: float) -> None:
        self.default_interval = default_interval
        self._last: dict[str, float] = {}

    def forget(self, name: str) -> None:
        """Make a source due on the next tick (it was added, or enabled again)."""
        self._last.pop(name, None)

    def take_due(self, sources: Iterable[Source], now: float) -> list[Source]:
        """The sources due at `now` (monotonic seconds), in the given order, marked as polled."""
        due: list[Source] = []
        for source in sources:
            interval = source.poll_interval or self.default_interval
            if now - self._last.get(source.name, -1e9) >= interval:
                self._last[source.name] = now
                due.append(source)
        return due


class DueIndex:
    """Due times (Unix seconds) of the `later` state's keys, smallest first.

    The state is the truth: `take_due` yields a key at most once per indexed due time, and
    the caller checks the state's value before acting on it. After the state changed under
    the index (partitions assigned, restored or taken away; an expiry sweep) it is marked
    `stale` and rebuilt from the state with `rebuild` before the next scan.
    """

    def __init__(self) -> None:
        self._due: dict[str, int] = {}
        self._heap: list[tuple[int, str]] = []
        self.stale = True

    def __len__(self) -> int:
        return len(self._due)

    def put(self, key: str, at: int) -> None:
        """`key` is due at `at` (a later put for the same key replaces the earlier one)."""
        self._due[key] = at
        heapq.heappush(self._heap, (at, key))

    def discard(self, key: str) -> None:
        self._due.pop(key, None)

    def mark_stale(self) -> None:
        self.stale = True

    def rebuild(self, due: dict[str, int]) -> None:
        """Replace the index with `due` (key → due time), read from the state."""
        self._due = dict(due)
        self._heap = [(at, key) for key, at in self._due.items()]
        heapq.heapify(self._heap)
        self.stale = False

    def pop_due(self, now: int) -> tuple[str, int] | None:
        """The next key due at or before `now` with its due time, removed from the index;
        None when nothing more is due. Entries rewritten or discarded since they were indexed
        are skipped."""
        while self._heap and self._heap[0][0] <= now:
            at, key = heapq.heappop(self._heap)
            if self._due.get(key) != at:
                continue
            del self._due[key]
            return key, at
        return None


def due_time(value: object) -> int | None:
    """The due time of a `later` state value, None when it has none (or is not one)."""
    if isinstance(value, dict) and isinstance(value.get("at"), int):
        return value["at"]
    return None
