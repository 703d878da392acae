"""The crawler: runs frontier tasks politely and publishes what they find.

It knows nothing about Kafka. `app.py` hands it mappings for its state (faust tables
in production, dicts in tests) and coroutines that publish raw pages, frontier tasks
and dead letters; tests drive the same object against real local HTTP servers.

Every task ends in exactly one of: published, skipped for a reason that is counted
(duplicate, unchanged, robots, inactive source), parked for later (its host asked us
to wait long, or already holds its share of queued tasks), or dead-lettered with a
reason. `on_done` is called then, and only then, so the wiring can commit the task's
offset.

At a rebalance (`drop_tasks`) every task that is not done is given up without calling
`on_done`: queued ones are dropped, ones whose request is under way are cancelled after a
grace period, ones already publishing what they fetched finish first. The partitions'
owners after the rebalance read the unacknowledged tasks again from the committed offsets.

Every request is one job on the host scheduler (services/scraper/politeness.py): a
retry after a 5xx or a timeout, a redirect hop and robots.txt wait for the host's
gap like a first request, and every one of them is counted in
`newsflow_scraper_fetches_total` by outcome.

State (all values JSON dicts):

- `seen`: `u:<digest>` → the page's `SeenEntry`; `u:<digest of another spelling>` and
  `g:<digest of source+GUID>` → a pointer `{"a": key}`. Every value carries its last
  activity (`l`); values older than the retention read as absent and are swept.
- `later`: tasks to publish at a time — `r:<page key>` the next re-fetch of an article,
  `p:<digest>` a parked task — as `{"t": task, "at": unix time, "l": unix time}`.
- `feeds`: conditional-GET validators and health per feed or sitemap URL.
"""

from __future__ import annotations

import asyncio
import functools
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Awaitable, Callable, MutableMapping
from urllib.parse import urlsplit

from schemas.common import DiscoveredVia, utcnow
from schemas.frontier_task_v1 import FrontierTaskV1
from schemas.raw_page_v1 import RawPageV1
from schemas.sources import Source, SourcesFile
from services.common.logs import bind_event, get_logger
from services.common.outcomes import Rejected
from services.scraper import metrics
from services.scraper.decisions import (
    FeedState,
    SeenEntry,
    alias_value,
    build_raw_page,
    choose_canonical,
    decide,
    dedup_key,
    fetch_url,
    find_canonical,
    is_expired,
    record_fetch,
)
from services.scraper.feeds import FeedError, looks_like_sitemap, parse_feed, parse_sitemap
from services.scraper.fetch import Fetched, FetchFailed, Fetcher, FetchLimits
from services.scraper.politeness import HostScheduler
from services.scraper.robots import RobotsCache, RobotsRules, rules_from_response
from services.scraper.safety import ForbiddenAddress
from services.scraper.schedule import DueIndex, due_time
from services.scraper.source_changes import SourceState
from services.scraper.state_keys import StateKeys
from services.scraper.urls import host_key, host_of

log = get_logger(__name__)

Publish = Callable[[bytes, bytes], Awaitable[Any]]
DeadLetter = Callable[..., Awaitable[Any]]
OnDone = Callable[[], Awaitable[Any]]
LARGE_PAGE_BYTES = 256 * 1024
MAX_URL_CHARS = 2048


@dataclass(frozen=True)
class Dropped:
    """What `Crawler.drop_tasks` did: tasks dropped before their first request, tasks finished
    within the grace period, tasks cancelled with a request under way."""

    queued: int
    finished: int
    cancelled: int


@dataclass
class CrawlerConfig:
    user_agent: str
    limits: FetchLimits
    global_concurrency: int = 16
    max_pending: int = 1000
    max_pending_per_host: int = 100
    max_raw_event_bytes: int = 7 * 1024 * 1024
    robots_ttl: float = 3600.0
    pinned_hosts: dict[str, str] = field(default_factory=dict)
    park_after: float = 30.0
    """A task whose host will not take it within this many seconds is parked instead of queued."""
    seen_retention: timedelta = timedelta(days=30)
    """State values untouched for this long expire (never less than a source's re-fetch window)."""
    max_sitemap_depth: int = 3
    max_sitemap_children: int = 1000
    max_listing_urls: int = 50_000


@dataclass
class _Run:
    """One frontier task (or a robots.txt fetch) on its way through the scheduler."""

    task: FrontierTaskV1
    on_done: OnDone | None
    url: str
    hops: int = 0
    conditional: dict[str, str] = field(default_factory=dict)
    entry: SeenEntry | None = None
    key: str = ""
    inflight: str | None = None
    epoch: int = 0
    """The crawler's epoch when the task came in; a rebalance starts a new one and gives up older runs."""
    settling: bool = False
    """The request was answered: the run is publishing or recording what came back (never cancelled)."""

    @property
    def first_request(self) -> bool:
        return self.hops == 0 and self.task.attempt == 0 and self.task.throttled == 0


def admit_url(url: str, source: Source, *, check_address: Callable[[str, bool], None]) -> str | None:
    """Why a URL found on the web must not become a task, or None when it may.

    http/https only (no `file:`, `ftp:`, `gopher:` …), a host on the source's domains,
    not an internal address by name or literal (`check_address`), not absurdly long.
    """
    if len(url) > MAX_URL_CHARS:
        return "url-too-long"
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        _ = parts.port
    except ValueError:
        return "bad-url"
    if parts.scheme.lower() not in ("http", "https"):
        return "not-http"
    if not host:
        return "bad-url"
    try:
        check_address(url, source.allow_private_addresses)
    except ForbiddenAddress:
        return "forbidden-address"
    except ValueError:
        return "bad-url"
    if not source.allows_host(host):
        return "off-site"
    return None


class Crawler:
    def __init__(
        self,
        config: CrawlerConfig,
        sources: SourcesFile,
        *,
        seen: MutableMapping[str, Any],
        feeds: MutableMapping[str, Any],
        later: MutableMapping[str, Any] | None = None,
        publish_raw: Publish,
        publish_task: Callable[[FrontierTaskV1], Awaitable[Any]],
        dead_letter: DeadLetter,
        expire: Callable[[MutableMapping[str, Any], str, Any], None] | None = None,
    ) -> None:
        """`expire(mapping, key, value)` deletes an expired state value (the wiring sends the
        changelog tombstone); by default it is a plain `del`."""
        self.config = config
        self.sources_file = sources
        self.sources: dict[str, Source] = sources.by_name()
        self.inactive: dict[str, SourceState] = {}
        self.seen = seen
        self.feeds = feeds
        self.later = later if later is not None else {}
        self.publish_raw = publish_raw
        self.publish_task = publish_task
        self.dead_letter = dead_letter
        self._expire = expire or (lambda mapping, key, value: mapping.pop(key, None))
        self.fetcher = Fetcher(config.user_agent, config.limits, config.pinned_hosts)
        self.scheduler = HostScheduler(
            config.global_concurrency, config.max_pending, config.max_pending_per_host,
            backoff_base=config.limits.backoff_base, backoff_cap=config.limits.backoff_cap,
            on_depth=lambda host, depth: metrics.QUEUE_DEPTH.labels(self._label_host(host)).set(depth),
        )
        self.robots = RobotsCache(ttl=config.robots_ttl)
        self._robots_pending: set[str] = set()
        self._inflight: set[str] = set()
        self._due = DueIndex()
        self._hosts_for_labels = {d for s in self.sources.values() for d in s.allowed_domains}
        self._epoch = 0
        self._holding = False
        self._running: dict[asyncio.Task[Any], _Run] = {}

    async def close(self) -> None:
        await self.scheduler.close()
        await self.fetcher.close()

    # ------------------------------------------------------------------ sources

    def add_source(self, source: Source) -> None:
        self.sources[source.name] = source
        self.inactive.pop(source.name, None)
        self._hosts_for_labels.update(source.allowed_domains)

    def set_sources(self, active: dict[str, Source], inactive: dict[str, SourceState]) -> None:
        """Replace the source set; tasks already queued see the change when they run.

        A host's politeness follows at once: its gap and concurrency become the strictest of
        the active sources that cover it (its robots.txt Crawl-delay still applies), from its
        next request on.
        """
        self.sources = dict(active)
        self.inactive = dict(inactive)
        for source in active.values():
            self._hosts_for_labels.update(source.allowed_domains)
        for host in self.scheduler.hosts():
            name = host.split(":")[0]
            covering = [s for s in self.sources.values() if s.allows_host(name)]
            if not covering:
                continue
            rules = self.robots.get(f"https://{host}") or self.robots.get(f"http://{host}")
            delay = max(self._delay(s, rules) for s in covering)
            self.scheduler.set_limits(host, delay, min(self._concurrency(s) for s in covering))

    def source_for(self, task: FrontierTaskV1) -> Source | None:
        """The task's source as it is now; None when that source was disabled or removed."""
        if task.source in self.inactive:
            return None
        source = self.sources.get(task.source)
        if source is not None:
            return source
        host = host_of(task.url)
        for candidate in self.sources.values():
            if candidate.allows_host(host):
                return candidate
        # A URL no source covers: the strictest policy, domain pinned to the URL.
        return Source(name="adhoc", allowed_domains=[host] if host else [])

    def _label_host(self, host: str) -> str:
        name = host.split(":")[0]
        return host if any(name == d or name.endswith("." + d) for d in self._hosts_for_labels) else "other"

    def _delay(self, source: Source, rules: RobotsRules | None) -> float:
        base = source.politeness.min_delay
        if base is None:
            base = self.sources_file.defaults.politeness.min_delay or 0.0
        crawl_delay = rules.crawl_delay(self.config.user_agent) if rules else None
        return max(base, crawl_delay or 0.0)

    def _concurrency(self, source: Source) -> int:
        return source.politeness.max_concurrency or self.sources_file.defaults.politeness.max_concurrency or 1

    def _respects_robots(self, source: Source) -> bool:
        flag = source.politeness.respect_robots
        return True if flag is None else flag

    def _window(self, source: Source) -> timedelta:
        hours = source.refetch_window_hours
        if hours is None:
            hours = self.sources_file.defaults.refetch_window_hours
        return timedelta(hours=hours)

    def retention(self) -> timedelta:
        """How long state values live: the configured retention, never shorter than a re-fetch window."""
        windows = [self._window(s) for s in self.sources.values()] or [timedelta(0)]
        return max(self.config.seen_retention, max(windows) + timedelta(hours=1))

    def admit(self, url: str, source: Source) -> str | None:
        return admit_url(url, source, check_address=self.fetcher.check)

    # ------------------------------------------------------------------ state

    def _lookup(self, key: str, now: datetime) -> dict[str, Any] | None:
        """A live state value (expired ones read as absent), following one pointer."""
        value = self.seen.get(key)
        if value is None or is_expired(value, now, self.retention()):
            return None
        if "a" in value:
            target = self.seen.get(value["a"])
            if target is None or is_expired(target, now, self.retention()) or "a" in target:
                return None
            return target
        return value

    def _entry_for(self, task: FrontierTaskV1, source: Source, now: datetime) -> tuple[str, SeenEntry | None]:
        key = StateKeys.page(dedup_key(task.url, source.keep_trailing_slash))
        value = self._lookup(key, now)
        via = task.discovered_via
        if value is None and via is not None and via.guid:
            value = self._lookup(StateKeys.guid(source.name, via.guid), now)
        if value is None:
            return key, None
        entry = SeenEntry.model_validate(value)
        return StateKeys.page(entry.url), entry

    # ------------------------------------------------------------------ entry point

    async def submit(self, task: FrontierTaskV1, on_done: OnDone) -> None:
        """Take a frontier task: skip, park or queue it; waits only when the scheduler is full.

        Whatever is decided without a request (duplicate, inactive source, bad URL,
        parked) calls `on_done` before returning, without taking a politeness slot.
        """
        with bind_event(trace_id=task.trace_id, url=task.url, source=task.source):
            if self._holding:
                # A rebalance is under way: the task's partition may be someone else's by now.
                # Not acknowledged, so its owner reads it again after the rebalance.
                metrics.TASKS_DROPPED.labels("refused").inc()
                return
            self._unpark(task)
            source = self.source_for(task)
            if source is None:
                metrics.SKIPPED.labels(task.source, f"source-{self.inactive.get(task.source, 'inactive')}").inc()
                await on_done()
                return
            refusal = self.admit(task.url, source)
            if refusal is not None:
                metrics.DISCOVERED_REFUSED.labels(source.name, refusal).inc()
                await self.dead_letter(Rejected(refusal, f"{task.kind} URL refused before any request: {task.url[:500]}", url=task.url[:2048]), task)
                await on_done()
                return
            run = _Run(task, on_done, fetch_url(task.url, source.keep_trailing_slash) if task.kind == "page" else task.url, epoch=self._epoch)
            if task.kind == "page":
                run.key, run.entry = self._entry_for(task, source, utcnow())
                if not await self._wanted(run, source):
                    return
            host = host_key(run.url)
            origin = _origin(run.url)
            rules = self.robots.get(origin)
            if rules is not None and self._robots_denies(run.url, source, rules):
                await self._finish(run)
                return
            wait = max(self.scheduler.paused_for(host), self.scheduler.drain_estimate(host))
            if not self.scheduler.has_room(host) or wait > self.config.park_after:
                await self._park(run, source, wait if wait > 0 else self.config.park_after, "host-busy" if wait <= self.config.park_after else "host-paused")
                return
            if rules is None and self._respects_robots(source) and origin not in self._robots_pending:
                # robots.txt goes first in the host's queue, so its Crawl-delay governs
                # the gap before the first page.
                self._robots_pending.add(origin)
                await self.scheduler.submit(host, functools.partial(self._load_robots, origin, source.name),
                                            delay=self._delay(source, None), concurrency=1, exclusive=True)
            if task.kind == "page":
                run.inflight = run.key
                self._inflight.add(run.key)
            await self.scheduler.submit(host, functools.partial(self._step, run), delay=self._delay(source, rules),
                                        concurrency=self._concurrency(source), tag=run)

    async def _wanted(self, run: _Run, source: Source) -> bool:
        """False (and the task finished) when a page need not be fetched: seen and not due, or in flight."""
        task = run.task
        if not task.force and run.key in self._inflight:
            metrics.DEDUP_HITS.labels(source.name, "in-flight").inc()
            await self._finish(run)
            return False
        refetch = task.discovered_via is not None and task.discovered_via.kind == "refetch"
        decision = decide(run.entry, utcnow(), force=task.force, refetch=refetch)
        if not decision.fetch:
            metrics.DEDUP_HITS.labels(source.name, decision.reason).inc()
            await self._finish(run)
            return False
        if run.entry is not None and not task.force:
            if run.entry.etag:
                run.conditional["If-None-Match"] = run.entry.etag
            if run.entry.last_modified:
                run.conditional["If-Modified-Since"] = run.entry.last_modified
        return True

    async def _finish(self, run: _Run) -> None:
        if run.inflight is not None:
            self._inflight.discard(run.inflight)
            run.inflight = None
        if run.on_done is not None:
            await run.on_done()

    def _abandon(self, run: _Run) -> None:
        """Give a run up without `on_done`: its task stays unacknowledged and is read again."""
        if run.inflight is not None:
            self._inflight.discard(run.inflight)
            run.inflight = None
        run.on_done = None

    # ------------------------------------------------------------------ rebalances

    async def drop_tasks(self, grace: float) -> Dropped:
        """Give up every task not done yet, because the partitions are being reassigned.

        Kafka's eager rebalance takes every partition away and its consumer restarts each one
        it gets back from the committed offset, so a task that was read but not acknowledged
        is read again by whoever owns its partition afterwards. Running it here as well would
        fetch the page twice and could publish it twice. So: queued tasks are dropped at once;
        tasks with a request under way get `grace` seconds to finish (each finished one is
        acknowledged, and its page is not fetched again by anyone), then they are cancelled; a
        task publishing what it fetched is never cancelled (a raw page out without its `seen`
        record would be published again by the next owner) and is waited for. None of the
        dropped tasks calls `on_done`. New tasks are refused until `resume()`.

        Returns the counts; does not raise.
        """
        self._holding = True
        self._epoch += 1
        stale = self._epoch
        queued = [run for run in self.scheduler.drop_queued(lambda tag: isinstance(tag, _Run) and tag.epoch < stale)
                  if isinstance(run, _Run)]
        for run in queued:
            self._abandon(run)
        running = dict(self._running)
        if running and grace > 0:
            await asyncio.wait(list(running), timeout=grace)
        cancelled = 0
        for task, run in running.items():
            if not task.done() and not run.settling:
                task.cancel()
                cancelled += 1
        if running:
            await asyncio.wait(list(running))
        metrics.TASKS_DROPPED.labels("queued").inc(len(queued))
        metrics.TASKS_DROPPED.labels("cancelled").inc(cancelled)
        return Dropped(queued=len(queued), finished=len(running) - cancelled, cancelled=cancelled)

    def resume(self) -> None:
        """The rebalance is over: take tasks again."""
        self._holding = False

    # ------------------------------------------------------------------ parking and later tasks

    def _park_key(self, task: FrontierTaskV1) -> str:
        return StateKeys.parked(task.kind, task.source, task.url)

    async def _park(self, run: _Run, source: Source, wait: float, reason: str) -> None:
        """Keep the task in the `later` state and finish it here: its offset moves on, and
        neither the partition nor the other hosts wait for this one."""
        now = utcnow()
        task = run.task
        self._later_put(self._park_key(task), {"t": task.model_dump(mode="json"), "at": int(now.timestamp() + wait + 0.999),
                                               "l": int(now.timestamp())})
        metrics.PARKED.labels(source.name, reason).inc()
        log.info("task parked", reason=reason, seconds=round(wait, 1), host=host_key(run.url))
        await self._finish(run)

    def _unpark(self, task: FrontierTaskV1) -> None:
        key = self._park_key(task)
        if key in self.later:
            self._later_del(key)

    # The `later` state can hold an entry per article still in its re-fetch window (tens of
    # thousands): instead of reading all of it every few seconds, the crawler keeps the due
    # times it wrote in a heap, and reads only what is due. A scan rebuilds the heap when the
    # state changed under the crawler (`reindex_later`: partitions assigned, restored or taken
    # away) and after every expiry sweep.

    def _later_put(self, key: str, value: dict[str, Any]) -> None:
        self.later[key] = value
        self._due.put(key, value["at"])

    def _later_del(self, key: str) -> None:
        del self.later[key]
        self._due.discard(key)

    def reindex_later(self) -> None:
        """The `later` state changed under the crawler: rebuild the due index before the next release."""
        self._due.mark_stale()

    async def _rebuild_due_index(self, batch: int) -> None:
        due: dict[str, int] = {}
        for index, (key, value) in enumerate(self.later.items()):
            if index % batch == batch - 1:
                await asyncio.sleep(0)
            at = due_time(value)
            if at is not None:
                due[key] = at
        self._due.rebuild(due)

    async def release_due(self, now: datetime | None = None, batch: int = 500) -> int:
        """Publish the `later` tasks that are due (parked tasks, article re-fetches).

        Reads only what is due; the task's own run deletes or moves its entry. A task is
        published once per due time by this process (again only after a re-index).
        """
        if self._due.stale:
            await self._rebuild_due_index(batch)
        now = now or utcnow()
        stamp = int(now.timestamp())
        published = 0
        while (due := self._due.pop_due(stamp)) is not None:
            key, at = due
            value = self.later.get(key)
            if not isinstance(value, dict) or value.get("at") != at:
                current = due_time(value)
                if current is not None:
                    self._due.put(key, current)  # changed by another writer: follow the store
                continue
            try:
                task = FrontierTaskV1.model_validate(value["t"])
            except (ValueError, KeyError, TypeError):
                continue
            if StateKeys.kind(key) == "refetch":
                task = task.model_copy(update={"enqueued_at": now})
            await self.publish_task(task)
            published += 1
            if published % batch == 0:
                await asyncio.sleep(0)
        return published

    async def sweep(self, now: datetime | None = None, batch: int = 1000) -> int:
        """Delete state values older than the retention (each deletion becomes a tombstone)."""
        now = now or utcnow()
        retention = self.retention()
        removed = 0
        for mapping in (self.seen, self.later):
            # Collect first, delete afterwards: some stores cannot change while iterated.
            expired: list[tuple[str, Any]] = []
            for index, (key, value) in enumerate(mapping.items()):
                if index % batch == batch - 1:
                    await asyncio.sleep(0)
                if is_expired(value, now, retention):
                    expired.append((key, value))
            for index, (key, value) in enumerate(expired):
                if index % batch == batch - 1:
                    await asyncio.sleep(0)
                self._expire(mapping, key, value)
            removed += len(expired)
        metrics.STATE_EXPIRED.inc(removed)
        self.reindex_later()
        return removed

    # ------------------------------------------------------------------ one request

    async def _request(self, run: _Run, source: Source, kind: str, *, expect: str) -> Fetched | FetchFailed:
        """One request of a run, bounded by what is left of the task's time budget; counted by outcome."""
        limits = self.config.limits
        left = limits.page_budget - run.task.spent_seconds
        await self.scheduler.before_request(host_key(run.url))
        started = time.perf_counter()
        result = await self.fetcher.fetch(run.url, allow_private=source.allow_private_addresses, conditional=run.conditional or None,
                                          expect=expect, timeout=max(0.5, min(limits.total_timeout, left)))  # type: ignore[arg-type]
        elapsed = time.perf_counter() - started
        run.settling = True
        run.task = run.task.model_copy(update={"spent_seconds": round(run.task.spent_seconds + elapsed, 3)})
        outcome = str(result.status) if isinstance(result, Fetched) else result.reason
        metrics.FETCHES.labels(source.name, self._label_host(host_key(run.url)), kind, outcome).inc()
        if isinstance(result, Fetched):
            metrics.FETCH_SECONDS.labels(source.name).observe(elapsed)
            metrics.FETCH_BYTES.labels(source.name).inc(len(result.body))
        return result

    async def _retry_or_give_up(self, run: _Run, source: Source, result: Fetched | FetchFailed) -> bool:
        """After a 429/5xx/timeout: back the host off and schedule the next attempt (or park it).

        Returns False when the task has used its attempts or budget (the caller dead-letters it).
        """
        host = host_key(run.url)
        limits = self.config.limits
        task = run.task
        throttled = isinstance(result, Fetched) and (result.status == 429 or (result.status == 503 and result.retry_after() is not None))
        if throttled:
            assert isinstance(result, Fetched)
            asked = result.retry_after(cap=limits.max_retry_after)
            wait = asked if asked is not None else self.scheduler.backoff(host)
            self.scheduler.pause(host, wait)
            metrics.THROTTLED.labels(source.name).inc()
            task = task.model_copy(update={"throttled": task.throttled + 1})
            exhausted = task.throttled >= limits.max_throttled
        else:
            wait = self.scheduler.backoff(host)
            task = task.model_copy(update={"attempt": task.attempt + 1})
            exhausted = task.attempt >= limits.attempts or task.spent_seconds >= limits.page_budget
        run.task = task
        log.info("request to retry", outcome=result.status if isinstance(result, Fetched) else result.reason,
                 wait=round(wait, 2), attempt=task.attempt, throttled=task.throttled, exhausted=exhausted)
        if exhausted:
            return False
        metrics.RETRIES.labels(source.name, "throttled" if throttled else "failure").inc()
        if wait > self.config.park_after:
            # Start over from the first URL of the chain when the parked task comes back.
            await self._park(run, source, wait, "retry-after" if throttled else "backoff")
        else:
            self.scheduler.requeue(host, functools.partial(self._step, run), delay=self._delay(source, self.robots.get(_origin(run.url))),
                                   concurrency=self._concurrency(source), tag=run)
        return True

    async def _follow(self, run: _Run, source: Source, result: Fetched) -> str | None:
        """Schedule the next hop of a redirect on its host's queue; a refusal reason otherwise."""
        target = result.location
        if target is None:
            return "bad-redirect"
        if run.hops + 1 > self.config.limits.max_redirects:
            return "too-many-redirects"
        refusal = self.admit(target, source)
        if refusal is not None:
            return {"off-site": "redirect-off-site", "not-http": "bad-redirect", "bad-url": "bad-redirect"}.get(refusal, refusal)
        run.url = target
        run.hops += 1
        run.conditional = {}
        host = host_key(target)
        self.scheduler.requeue(host, functools.partial(self._step, run), delay=self._delay(source, self.robots.get(_origin(target))),
                               concurrency=self._concurrency(source), tag=run)
        origin = _origin(target)
        if self.robots.get(origin) is None and self._respects_robots(source) and origin not in self._robots_pending:
            self._robots_pending.add(origin)
            self.scheduler.requeue(host, functools.partial(self._load_robots, origin, source.name), delay=self._delay(source, None), concurrency=1)
        return None

    async def _step(self, run: _Run) -> None:
        """One scheduled request of a task, and what follows from its answer."""
        if run.epoch != self._epoch:
            # Queued again (a retry, a redirect hop) after a rebalance gave the task up.
            self._abandon(run)
            return
        current = asyncio.current_task()
        assert current is not None
        run.settling = False
        self._running[current] = run
        try:
            await self._run_step(run)
        except asyncio.CancelledError:
            self._abandon(run)
            raise
        finally:
            self._running.pop(current, None)

    async def _run_step(self, run: _Run) -> None:
        with bind_event(trace_id=run.task.trace_id, url=run.url, source=run.task.source):
            try:
                source = self.source_for(run.task)
                if source is None:
                    metrics.SKIPPED.labels(run.task.source, f"source-{self.inactive.get(run.task.source, 'inactive')}").inc()
                    await self._finish(run)
                    return
                rules = self.robots.get(_origin(run.url))
                if rules is not None and rules.unreachable and self._respects_robots(source):
                    await self._park(run, source, self.robots.error_ttl, "robots-unreachable")
                    return
                if rules is not None and self._robots_denies(run.url, source, rules):
                    await self._finish(run)
                    return
                if run.task.kind == "page":
                    await self._page_step(run, source)
                else:
                    await self._listing_step(run, source)
            except Exception:  # noqa: BLE001 - a bug on one task must not stop the host queue
                log.exception("task failed unexpectedly", url=run.url, kind=run.task.kind)
                await self.dead_letter(Rejected("unexpected-error", f"crawler raised on {run.task.kind} task", url=run.url[:2048]), run.task)
                await self._finish(run)

    def _robots_denies(self, url: str, source: Source, rules: RobotsRules) -> bool:
        if self._respects_robots(source) and not rules.unreachable and not rules.can_fetch(url, self.config.user_agent):
            metrics.ROBOTS_DENIED.labels(source.name).inc()
            log.info("robots.txt disallows", url=url)
            return True
        return False

    async def _load_robots(self, origin: str, source_name: str) -> None:
        source = self.sources.get(source_name) or Source(name=source_name, allowed_domains=[host_of(origin)])
        run = _Run(FrontierTaskV1(kind="page", url=f"{origin}/robots.txt", host=host_key(origin), source=source_name, enqueued_at=utcnow()),
                   None, f"{origin}/robots.txt")
        try:
            result = await self._request(run, source, "robots", expect="any")
            if isinstance(result, Fetched) and result.location is not None:
                # Redirected robots.txt: follow one hop on the same origin's terms (RFC 9309 asks for a few).
                target = result.location
                if self.admit(target, source) is None and _origin(target) == origin:
                    run.url = target
                    result = await self._request(run, source, "robots", expect="any")
            if isinstance(result, Fetched) and result.status >= 500:
                self.scheduler.backoff(host_key(origin))
                rules = rules_from_response(None, None)
            elif isinstance(result, Fetched):
                self.scheduler.succeeded(host_key(origin))
                rules = rules_from_response(result.status if result.location is None else 404, result.body)
            else:
                if result.retryable:
                    self.scheduler.backoff(host_key(origin))
                # Unreachable robots.txt waits and is asked again; a hard refusal counts as "not there".
                rules = rules_from_response(None if result.retryable else 404, None)
            self.robots.put(origin, rules)
            self.scheduler.set_delay(host_key(origin), self._delay(source, rules))
            if not source.feeds and not source.sitemaps and source.name in self.sources:
                for sitemap in rules.sitemaps()[: self.config.max_sitemap_children]:
                    if self.admit(sitemap, source) is None:
                        await self.publish_task(_task("sitemap", sitemap, source.name, DiscoveredVia(kind="sitemap", url=f"{origin}/robots.txt")))
        finally:
            self._robots_pending.discard(origin)

    # ------------------------------------------------------------------ pages

    async def _page_step(self, run: _Run, source: Source) -> None:
        """One request of a page task: still wanted? fetch, then record and publish what changed."""
        now = utcnow()
        if run.first_request and not await self._page_wanted(run, source, now):
            return
        result = await self._request(run, source, "page", expect="html")
        fetched = await self._page_answered(run, source, result)
        if fetched is None:
            return
        if fetched.status == 304 and run.entry is not None:
            await self._page_not_modified(run, source, run.entry, now)
            return
        if fetched.status != 200:
            await self._reject(run, Rejected(f"http-{fetched.status}", f"server answered {fetched.status} for {run.url}", url=run.url))
            return
        metrics.LAST_SUCCESS.labels(source.name).set(time.time())
        canonical = self._canonical_url(fetched, source)
        canonical_dedup = dedup_key(canonical, source.keep_trailing_slash)
        canonical_key = StateKeys.page(canonical_dedup)
        if await self._known_by_canonical(run, source, canonical_key, now):
            return
        await self._publish_page(run, source, fetched, canonical, canonical_dedup, canonical_key, now)

    async def _page_wanted(self, run: _Run, source: Source, now: datetime) -> bool:
        """Before the first request: fetch it (new, forced, re-fetch due) or finish it as a duplicate."""
        task = run.task
        # Another spelling may have been fetched while this task waited for its turn.
        run.key, run.entry = self._entry_for(task, source, now)
        refetch = task.discovered_via is not None and task.discovered_via.kind == "refetch"
        decision = decide(run.entry, now, force=task.force, refetch=refetch)
        if not decision.fetch:
            metrics.DEDUP_HITS.labels(source.name, decision.reason).inc()
            await self._finish(run)
        return decision.fetch

    async def _page_answered(self, run: _Run, source: Source, result: Fetched | FetchFailed) -> Fetched | None:
        """The answer to read on, or None when the run went elsewhere: a redirect followed (or
        refused), a retry queued (or given up), a failure dead-lettered."""
        if isinstance(result, Fetched) and result.location is not None:
            refusal = await self._follow(run, source, result)
            if refusal is not None:
                await self._reject(run, Rejected(refusal, f"redirect from {run.url} to {str(result.location)[:500]} refused", url=run.url))
            return None
        if _retryable(result):
            if not await self._retry_or_give_up(run, source, result):
                await self._reject(run, _gave_up(run, result))
            return None
        self.scheduler.succeeded(host_key(run.url))
        if isinstance(result, FetchFailed):
            await self._reject(run, Rejected(result.reason, result.detail, url=run.url), original=result.partial_body)
            return None
        return result

    async def _page_not_modified(self, run: _Run, source: Source, entry: SeenEntry, now: datetime) -> None:
        """304: the page is as we have it; only its schedule moves on."""
        metrics.LAST_SUCCESS.labels(source.name).set(time.time())
        updated, _ = record_fetch(entry, url=entry.url, content_hash=entry.content_hash or "", now=now, window=self._window(source), keep_validators=True)
        self._remember(updated, source, run, requested=None)
        metrics.DEDUP_HITS.labels(source.name, "not-modified").inc()
        await self._finish(run)

    def _canonical_url(self, fetched: Fetched, source: Source) -> str:
        """The page's canonical URL: its declared rel=canonical when admissible, else where it was fetched."""
        declared = find_canonical(fetched.body, fetched.final_url)
        if declared is not None and self.admit(declared, source) is not None:
            declared = None
        return choose_canonical(fetched.final_url, declared, source.allows_host)

    async def _known_by_canonical(self, run: _Run, source: Source, canonical_key: str, now: datetime) -> bool:
        """Another spelling of a page we already have (rel=canonical points to it): remember the
        spelling, finish the run, return True."""
        if canonical_key == run.key or run.entry is not None or run.task.force:
            return False
        if self._lookup(canonical_key, now) is None:
            return False
        self.seen[run.key] = alias_value(canonical_key, now)
        metrics.DEDUP_HITS.labels(source.name, "canonical").inc()
        await self._finish(run)
        return True

    async def _publish_page(self, run: _Run, source: Source, fetched: Fetched, canonical: str, canonical_dedup: str,
                            canonical_key: str, now: datetime) -> None:
        """Build the raw page event; publish it when the content changed (and fits), then remember it."""
        task, entry = run.task, run.entry
        # Charset detection, hashing and serialising a large page take real CPU time: off the
        # event loop, so heartbeats and the other hosts' requests are not held up.
        via = task.discovered_via
        build = functools.partial(
            _raw_event, source=source.name, requested_url=fetch_url(task.url, source.keep_trailing_slash), final_url=fetched.final_url,
            canonical_url=canonical, status=fetched.status, headers=fetched.headers, body=fetched.body, fetched_at=now,
            fetch_ms=fetched.elapsed_ms, discovered_via=via, trace_id=task.trace_id, language_hint=source.language, timezone=source.timezone,
        )
        raw, payload = await asyncio.to_thread(build) if len(fetched.body) > LARGE_PAGE_BYTES else build()
        updated, changed = record_fetch(
            entry if entry is not None and StateKeys.page(entry.url) == canonical_key else None, url=canonical_dedup,
            content_hash=raw.content_hash, now=now, window=self._window(source),
            etag=fetched.headers.get("etag"), last_modified=fetched.headers.get("last-modified"),
        )
        if not changed:
            self._remember(updated, source, run, requested=run.key)
            metrics.DEDUP_HITS.labels(source.name, "unchanged").inc()
            await self._finish(run)
            return
        if len(payload) > self.config.max_raw_event_bytes:
            await self._reject(run, Rejected("too-large", f"raw page event of {len(payload)} bytes exceeds {self.config.max_raw_event_bytes}",
                                             article_id=raw.article_id, url=run.url), original=fetched.body[: self.config.max_raw_event_bytes])
            return
        await self.publish_raw(raw.article_id.encode(), payload)
        metrics.LAST_ARTICLE.labels(source.name).set(time.time())
        self._remember(updated, source, run, requested=run.key, guid=via.guid if via else None)
        await self._finish(run)

    def _remember(self, entry: SeenEntry, source: Source, run: _Run, *, requested: str | None, guid: str | None = None) -> None:
        """Store a page's entry under its canonical key, pointers from the requested spelling and
        the GUID, and its next re-fetch in `later`."""
        now = utcnow()
        key = StateKeys.page(entry.url)
        self.seen[key] = entry.encode()
        if requested and requested != key:
            self.seen[requested] = alias_value(key, now)
        if guid:
            self.seen[StateKeys.guid(source.name, guid)] = alias_value(key, now)
        due_key = StateKeys.refetch(key)
        if entry.next_refetch is not None:
            refetch = _task("page", entry.url, source.name, DiscoveredVia(kind="refetch"))
            self._later_put(due_key, {"t": refetch.model_dump(mode="json"), "at": entry.next_refetch, "l": int(now.timestamp())})
        elif due_key in self.later:
            self._later_del(due_key)

    async def _reject(self, run: _Run, rejected: Rejected, original: bytes | None = None) -> None:
        await self.dead_letter(rejected, run.task, original=original)
        await self._finish(run)

    # ------------------------------------------------------------------ feeds and sitemaps

    async def _listing_step(self, run: _Run, source: Source) -> None:
        task = run.task
        now = utcnow()
        state = FeedState.model_validate(self.feeds.get(task.url) or {"url": task.url, "source": source.name})
        if run.first_request:
            if state.etag:
                run.conditional["If-None-Match"] = state.etag
            if state.last_modified:
                run.conditional["If-Modified-Since"] = state.last_modified
        result = await self._request(run, source, task.kind, expect="xml")
        if isinstance(result, Fetched) and result.location is not None:
            refusal = await self._follow(run, source, result)
            if refusal is not None:
                await self._reject(run, Rejected(f"feed-{refusal}", f"{task.kind} redirect to {str(result.location)[:500]} refused", url=task.url))
            return
        if _retryable(result):
            if not await self._retry_or_give_up(run, source, result):
                state.last_polled = now
                self.feeds[task.url] = state.model_dump(mode="json")
                rejected = _gave_up(run, result)
                await self._reject(run, Rejected(f"feed-{rejected.reason}", rejected.detail, url=task.url))
            return
        self.scheduler.succeeded(host_key(run.url))
        state.last_polled = now
        if isinstance(result, FetchFailed):
            self.feeds[task.url] = state.model_dump(mode="json")
            await self._reject(run, Rejected(f"feed-{result.reason}", result.detail, url=task.url))
            return
        state.last_status = result.status
        if result.status == 304:
            state.last_ok = now
            self.feeds[task.url] = state.model_dump(mode="json")
            metrics.LAST_SUCCESS.labels(source.name).set(time.time())
            await self._finish(run)
            return
        if result.status != 200:
            self.feeds[task.url] = state.model_dump(mode="json")
            await self._reject(run, Rejected(f"feed-http-{result.status}", f"{task.kind} answered {result.status}", url=task.url))
            return
        try:
            if task.kind == "sitemap" or looks_like_sitemap(result.body):
                sitemap = parse_sitemap(result.body, result.final_url)
                await self._publish_children(task, source, sitemap.sitemaps)
                kind = "news-sitemap" if sitemap.is_news else "sitemap"
                items = sitemap.urls
            else:
                items = parse_feed(result.body, result.final_url)
                kind = "feed"
        except FeedError as exc:
            self.feeds[task.url] = state.model_dump(mode="json")
            await self._reject(run, Rejected("invalid-feed", f"{task.url}: {exc}", url=task.url), original=result.body)
            return
        metrics.FEED_ITEMS.labels(source.name).inc(len(items))
        metrics.LAST_SUCCESS.labels(source.name).set(time.time())
        listed: set[str] = set()
        listing_host = host_key(task.url)
        for item in items[: self.config.max_listing_urls]:
            refusal = self.admit(item.url, source)
            if refusal is not None:
                metrics.DISCOVERED_REFUSED.labels(source.name, refusal).inc()
                continue
            try:
                key = StateKeys.page(dedup_key(item.url, source.keep_trailing_slash))
            except ValueError:
                metrics.DISCOVERED_REFUSED.labels(source.name, "bad-url").inc()
                continue
            if key in listed:
                continue
            listed.add(key)
            if host_key(item.url) == listing_host and self._lookup(key, now) is not None:
                # Already known (its re-fetches come from `later`): no task, no slot, no traffic.
                metrics.DEDUP_HITS.labels(source.name, "listed-seen").inc()
                continue
            via = DiscoveredVia(kind=kind, url=task.url, guid=item.guid, title=item.title, published_at=item.published_at)
            await self.publish_task(_task("page", item.url, source.name, via, task.trace_id))
        state.etag = result.headers.get("etag")
        state.last_modified = result.headers.get("last-modified")
        state.last_ok = now
        state.items_seen = len(items)
        self.feeds[task.url] = state.model_dump(mode="json")
        await self._finish(run)

    async def _publish_children(self, task: FrontierTaskV1, source: Source, children: list[str]) -> None:
        """Child sitemaps of an index: on the source's domains, de-duplicated, never the index
        itself, at most `max_sitemap_children`, at most `max_sitemap_depth` levels deep."""
        if not children:
            return
        if task.depth + 1 > self.config.max_sitemap_depth:
            metrics.DISCOVERED_REFUSED.labels(source.name, "sitemap-too-deep").inc(len(children))
            return
        own = {dedup_key(task.url)}
        if task.discovered_via and task.discovered_via.url and task.discovered_via.url.startswith(("http://", "https://")):
            own.add(dedup_key(task.discovered_via.url))
        published: set[str] = set()
        for child in children:
            refusal = self.admit(child, source)
            if refusal is not None:
                metrics.DISCOVERED_REFUSED.labels(source.name, refusal).inc()
                continue
            key = dedup_key(child)
            if key in own or key in published:
                metrics.DISCOVERED_REFUSED.labels(source.name, "sitemap-repeated").inc()
                continue
            if len(published) >= self.config.max_sitemap_children:
                metrics.DISCOVERED_REFUSED.labels(source.name, "sitemap-too-many").inc()
                break
            published.add(key)
            child_task = _task("sitemap", child, source.name, DiscoveredVia(kind="sitemap", url=task.url), task.trace_id)
            await self.publish_task(child_task.model_copy(update={"depth": task.depth + 1}))


def _retryable(result: Fetched | FetchFailed) -> bool:
    if isinstance(result, FetchFailed):
        return result.retryable
    return result.status == 429 or result.status >= 500


def _gave_up(run: _Run, result: Fetched | FetchFailed) -> Rejected:
    task = run.task
    reason = f"http-{result.status}" if isinstance(result, Fetched) else result.reason
    detail = (f"gave up on {run.url} after {task.attempt} failed and {task.throttled} throttled attempts "
              f"({task.spent_seconds:.1f}s of requests): last {reason}")
    return Rejected(reason, detail, url=run.url)


def _raw_event(**fields: Any) -> tuple[RawPageV1, bytes]:
    """The raw page event and its serialised form (the CPU-heavy part of publishing a page)."""
    raw = build_raw_page(**fields)
    return raw, raw.model_dump_json().encode()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _task(kind: str, url: str, source: str, via: DiscoveredVia | None, trace_id: str | None = None) -> FrontierTaskV1:
    extra = {"trace_id": trace_id} if trace_id else {}
    return FrontierTaskV1(kind=kind, url=url, host=host_key(url), source=source, discovered_via=via, enqueued_at=utcnow(), **extra)  # type: ignore[arg-type]


def feed_tasks(source: Source) -> list[FrontierTaskV1]:
    """Poll tasks for every feed and sitemap of a source."""
    return [_task("feed", url, source.name, None) for url in source.feeds] + [
        _task("sitemap", url, source.name, None) for url in source.sitemaps
    ]


def page_task(url: str, source: str, *, force: bool = False, kind: str = "request") -> FrontierTaskV1:
    task = _task("page", url, source, DiscoveredVia(kind=kind))  # type: ignore[arg-type]
    return task.model_copy(update={"force": force})
