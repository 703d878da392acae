"""The crawler: runs frontier tasks politely and publishes what they find.

It knows nothing about Kafka. `app.py` hands it mappings for its state (faust
tables in production, dicts in tests) and coroutines that publish raw pages,
frontier tasks and dead letters; tests drive the same object against a real local
HTTP server.

Every task ends in exactly one of: published, skipped for a reason that is counted
(duplicate, unchanged, robots), or dead-lettered with a reason. `on_done` is called
then, and only then, so the wiring can commit the task's offset.
"""

from __future__ import annotations

import asyncio
import functools
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Awaitable, Callable, MutableMapping
from urllib.parse import urlsplit

from schemas.common import DiscoveredVia, utcnow
from schemas.frontier_task_v1 import FrontierTaskV1
from schemas.raw_page_v1 import RawPageV1
from services.common.logs import bind_event, get_logger
from services.common.outcomes import Rejected
from services.scraper import metrics
from services.scraper.crawl import (
    FeedState,
    SeenEntry,
    build_raw_page,
    choose_canonical,
    decide,
    dedup_key,
    fetch_url,
    find_canonical,
    record_fetch,
)
from services.scraper.feeds import FeedError, looks_like_sitemap, parse_feed, parse_sitemap
from services.scraper.fetch import Fetched, FetchFailed, Fetcher, FetchLimits
from services.scraper.politeness import HostScheduler
from services.scraper.robots import RobotsCache, RobotsRules, rules_from_response
from schemas.sources import Source, SourcesFile
from services.scraper.urls import host_key

log = get_logger(__name__)

Publish = Callable[[bytes, bytes], Awaitable[Any]]
DeadLetter = Callable[..., Awaitable[Any]]
MAX_THROTTLE_RETRIES = 5
LARGE_PAGE_BYTES = 256 * 1024


@dataclass
class CrawlerConfig:
    user_agent: str
    limits: FetchLimits
    global_concurrency: int = 16
    max_pending: int = 1000
    max_raw_event_bytes: int = 7 * 1024 * 1024
    robots_ttl: float = 3600.0
    pinned_hosts: dict[str, str] = field(default_factory=dict)


class Crawler:
    def __init__(
        self,
        config: CrawlerConfig,
        sources: SourcesFile,
        *,
        seen: MutableMapping[str, Any],
        feeds: MutableMapping[str, Any],
        publish_raw: Publish,
        publish_task: Callable[[FrontierTaskV1], Awaitable[Any]],
        dead_letter: DeadLetter,
    ) -> None:
        self.config = config
        self.sources_file = sources
        self.sources: dict[str, Source] = sources.by_name()
        self.seen = seen
        self.feeds = feeds
        self.publish_raw = publish_raw
        self.publish_task = publish_task
        self.dead_letter = dead_letter
        self.fetcher = Fetcher(config.user_agent, config.limits, config.pinned_hosts)
        self.scheduler = HostScheduler(
            config.global_concurrency, config.max_pending,
            on_depth=lambda host, depth: metrics.QUEUE_DEPTH.labels(self._label_host(host)).set(depth),
        )
        self.robots = RobotsCache(ttl=config.robots_ttl)
        self._robots_pending: set[str] = set()
        self._inflight: dict[str, asyncio.Future[None]] = {}
        self._hosts_for_labels = {d for s in self.sources.values() for d in s.allowed_domains}

    async def close(self) -> None:
        await self.scheduler.close()
        await self.fetcher.close()

    # ------------------------------------------------------------------ sources

    def add_source(self, source: Source) -> None:
        self.sources[source.name] = source
        self._hosts_for_labels.update(source.allowed_domains)

    def source_for(self, task: FrontierTaskV1) -> Source:
        source = self.sources.get(task.source)
        if source is not None:
            return source
        host = urlsplit(task.url).hostname or ""
        for candidate in self.sources.values():
            if candidate.allows_host(host):
                return candidate
        # A URL no source covers: the strictest policy, domain pinned to the URL.
        return Source(name="adhoc", allowed_domains=[host])

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

    # ------------------------------------------------------------------ entry point

    async def submit(self, task: FrontierTaskV1, on_done: Callable[[], Awaitable[Any]]) -> None:
        """Queue a task with the host scheduler; waits only when the scheduler is full."""
        source = self.source_for(task)
        host = host_key(task.url)
        origin = _origin(task.url)
        rules = self.robots.get(origin)
        if rules is None and self._respects_robots(source) and origin not in self._robots_pending:
            # robots.txt goes first in the host's queue, so its Crawl-delay governs
            # the gap before the first page.
            self._robots_pending.add(origin)
            await self.scheduler.submit(
                host, lambda: self._load_robots(origin, source), delay=self._delay(source, None),
                concurrency=1, exclusive=True,
            )

        async def job(attempt: int = 0) -> None:
            try:
                outcome = await self._run(task, source, attempt)
            except Exception:  # noqa: BLE001 - a bug on one task must not stop the host queue
                log.exception("task failed unexpectedly", url=task.url, kind=task.kind)
                await self.dead_letter(
                    Rejected("unexpected-error", f"crawler raised on {task.kind} task", url=task.url), task
                )
                outcome = None
            if isinstance(outcome, RetryLater):
                # Same host queue, at its head: runs once the host's pause is over.
                # The task stays unacknowledged until then.
                self.scheduler.requeue_front(host, lambda: job(attempt + 1))
                return None
            await on_done()

        await self.scheduler.submit(host, job, delay=self._delay(source, self.robots.get(origin)), concurrency=self._concurrency(source))

    async def _load_robots(self, origin: str, source: Source) -> None:
        try:
            result = await self.fetcher.fetch(f"{origin}/robots.txt", allow_private=source.allow_private_addresses, expect="any")
            if isinstance(result, Fetched):
                rules = rules_from_response(result.status, result.body)
                metrics.FETCHES.labels(source.name, self._label_host(host_key(origin)), "robots", str(result.status)).inc()
            else:
                # Unreachable robots.txt: a 4xx-like "not there" only for hard refusals.
                rules = rules_from_response(None if result.retryable else 404, None)
                metrics.FETCHES.labels(source.name, self._label_host(host_key(origin)), "robots", result.reason).inc()
            self.robots.put(origin, rules)
            self.scheduler.set_delay(host_key(origin), self._delay(source, rules))
            if not source.feeds and not source.sitemaps:
                for sitemap in rules.sitemaps():
                    await self.publish_task(_task("sitemap", sitemap, source.name, DiscoveredVia(kind="sitemap", url=f"{origin}/robots.txt")))
        finally:
            self._robots_pending.discard(origin)

    async def _run(self, task: FrontierTaskV1, source: Source, attempt: int = 0) -> RetryLater | None:
        with bind_event(trace_id=task.trace_id, url=task.url, source=source.name):
            if task.kind == "page":
                outcome = await self._run_page(task, source, attempt)
            elif self._robots_denies(task.url, source):
                outcome = None
            else:
                outcome = await self._run_feed(task, source)
            return outcome

    def _robots_denies(self, url: str, source: Source) -> bool:
        rules = self.robots.get(_origin(url))
        if self._respects_robots(source) and rules is not None and not rules.can_fetch(url, self.config.user_agent):
            metrics.ROBOTS_DENIED.labels(source.name).inc()
            log.info("robots.txt disallows", url=url)
            return True
        return False

    # ------------------------------------------------------------------ pages

    async def _run_page(self, task: FrontierTaskV1, source: Source, attempt: int = 0) -> RetryLater | None:
        """One page task. Spellings of one URL never run concurrently: the second waits
        for the first and then finds it in the seen table."""
        key = dedup_key(task.url, source.keep_trailing_slash)
        while key in self._inflight:
            await asyncio.shield(self._inflight[key])
        done = asyncio.get_running_loop().create_future()
        self._inflight[key] = done
        try:
            return await self._run_page_once(task, source, attempt, key)
        finally:
            del self._inflight[key]
            done.set_result(None)

    async def _run_page_once(self, task: FrontierTaskV1, source: Source, attempt: int, key: str) -> RetryLater | None:
        now = utcnow()
        via = task.discovered_via
        guid_key = f"guid:{source.name}:{via.guid}" if via and via.guid else None
        entry_raw = self.seen.get(key)
        if entry_raw is None and guid_key and self.seen.get(guid_key):
            entry_raw = self.seen.get(self.seen[guid_key])
            if entry_raw is not None:
                key = entry_raw["url"]
        entry = SeenEntry.model_validate(entry_raw) if entry_raw else None
        refetch = via is not None and via.kind == "refetch"
        decision = decide(entry, now, force=task.force, refetch=refetch)
        if not decision.fetch:
            metrics.DEDUP_HITS.labels(source.name, decision.reason).inc()
            return None
        if self._robots_denies(task.url, source):
            return None
        conditional = {}
        if entry is not None and not task.force:
            stored = self.seen.get(f"validators:{key}") or {}
            if stored.get("etag"):
                conditional["If-None-Match"] = stored["etag"]
            if stored.get("last_modified"):
                conditional["If-Modified-Since"] = stored["last_modified"]
        url = fetch_url(task.url, source.keep_trailing_slash)
        started = time.perf_counter()
        result = await self.fetcher.fetch(
            url, allow_private=source.allow_private_addresses, allowed_host=source.allows_host,
            conditional=conditional, expect="html",
        )
        host_label = self._label_host(host_key(url))
        if isinstance(result, FetchFailed):
            metrics.FETCHES.labels(source.name, host_label, "page", result.reason).inc()
            await self.dead_letter(
                Rejected(result.reason, result.detail, url=url), task, original=result.partial_body
            )
            return None
        metrics.FETCHES.labels(source.name, host_label, "page", str(result.status)).inc()
        metrics.FETCH_SECONDS.labels(source.name).observe(time.perf_counter() - started)
        metrics.FETCH_BYTES.labels(source.name).inc(len(result.body))
        if result.status in (429, 503):
            return await self._throttled(task, source, result, attempt)
        if result.status == 304 and entry is not None:
            metrics.LAST_SUCCESS.labels(source.name).set(time.time())
            updated, _ = record_fetch(entry, url=entry.url, aid=entry.article_id, content_hash=entry.content_hash or "", now=now, window=self._window(source))
            self._remember(updated, source, key)
            metrics.DEDUP_HITS.labels(source.name, "not-modified").inc()
            return None
        if result.status != 200:
            await self.dead_letter(Rejected(f"http-{result.status}", f"server answered {result.status} for {url}", url=url), task)
            return None
        metrics.LAST_SUCCESS.labels(source.name).set(time.time())
        declared = find_canonical(result.body, result.final_url)
        canonical = choose_canonical(result.final_url, declared, source.allows_host)
        canonical_key = dedup_key(canonical, source.keep_trailing_slash)
        if canonical_key != key and entry is None and not task.force:
            # Another spelling of a page we already have (rel=canonical points to it).
            other = self.seen.get(canonical_key)
            if other is not None:
                self.seen[key] = other
                metrics.DEDUP_HITS.labels(source.name, "canonical").inc()
                return None
        # Charset detection, hashing and serialising a large page take real CPU time: off the
        # event loop, so heartbeats and the other hosts' requests are not held up.
        build = functools.partial(
            _raw_event,
            source=source.name,
            requested_url=url,
            final_url=result.final_url,
            canonical_url=canonical,
            status=result.status,
            headers=result.headers,
            body=result.body,
            fetched_at=now,
            fetch_ms=result.elapsed_ms,
            discovered_via=via,
            trace_id=task.trace_id,
            language_hint=source.language,
            timezone=source.timezone,
        )
        raw, payload = await asyncio.to_thread(build) if len(result.body) > LARGE_PAGE_BYTES else build()
        updated, changed = record_fetch(
            entry, url=canonical_key, aid=raw.article_id, content_hash=raw.content_hash, now=now,
            window=self._window(source), guid=via.guid if via else None,
        )
        validators = {"etag": result.headers.get("etag"), "last_modified": result.headers.get("last-modified")}
        if not changed:
            self._remember(updated, source, key, validators=validators)
            metrics.DEDUP_HITS.labels(source.name, "unchanged").inc()
            return None
        if len(payload) > self.config.max_raw_event_bytes:
            await self.dead_letter(
                Rejected("too-large", f"raw page event of {len(payload)} bytes exceeds {self.config.max_raw_event_bytes}", article_id=raw.article_id, url=url),
                task, original=result.body[: self.config.max_raw_event_bytes],
            )
            return None
        await self.publish_raw(raw.article_id.encode(), payload)
        metrics.LAST_ARTICLE.labels(source.name).set(time.time())
        self._remember(updated, source, key, validators=validators, guid_key=guid_key)
        return None

    def _remember(self, entry: SeenEntry, source: Source, requested_key: str, *, validators: dict[str, str | None] | None = None, guid_key: str | None = None) -> None:
        """Store what we know of a page under its canonical key (and the requested spelling)."""
        stored = entry.model_dump(mode="json")
        self.seen[entry.url] = stored
        if requested_key != entry.url:
            self.seen[requested_key] = stored
        if validators is not None:
            self.seen[f"validators:{entry.url}"] = validators
            if requested_key != entry.url:
                self.seen[f"validators:{requested_key}"] = validators
        if guid_key:
            self.seen[guid_key] = entry.url
        due_key = f"due:{entry.url}"
        if entry.next_refetch is not None:
            self.seen[due_key] = {"url": entry.url, "source": source.name, "at": entry.next_refetch.isoformat()}
        elif due_key in self.seen:
            del self.seen[due_key]

    async def _throttled(self, task: FrontierTaskV1, source: Source, result: Fetched, attempt: int) -> RetryLater | None:
        host = host_key(task.url)
        wait = result.retry_after() or 30.0
        metrics.THROTTLED.labels(source.name).inc()
        self.scheduler.slow_down(host, wait)
        log.info("host asked us to slow down", status=result.status, retry_after=wait)
        if attempt + 1 >= MAX_THROTTLE_RETRIES:
            await self.dead_letter(Rejected(f"http-{result.status}", f"still throttled after {attempt + 1} attempts", url=task.url), task)
            return None
        return RetryLater(wait)

    # ------------------------------------------------------------------ feeds and sitemaps

    async def _run_feed(self, task: FrontierTaskV1, source: Source) -> None:
        now = utcnow()
        state = FeedState.model_validate(self.feeds.get(task.url) or {"url": task.url, "source": source.name})
        conditional = {}
        if state.etag:
            conditional["If-None-Match"] = state.etag
        if state.last_modified:
            conditional["If-Modified-Since"] = state.last_modified
        result = await self.fetcher.fetch(task.url, allow_private=source.allow_private_addresses, allowed_host=source.allows_host, conditional=conditional, expect="xml")
        host_label = self._label_host(host_key(task.url))
        state.last_polled = now
        if isinstance(result, FetchFailed):
            metrics.FETCHES.labels(source.name, host_label, task.kind, result.reason).inc()
            self.feeds[task.url] = state.model_dump(mode="json")
            await self.dead_letter(Rejected(f"feed-{result.reason}", result.detail, url=task.url), task)
            return None
        metrics.FETCHES.labels(source.name, host_label, task.kind, str(result.status)).inc()
        state.last_status = result.status
        if result.status in (429, 503):
            self.scheduler.slow_down(host_key(task.url), result.retry_after() or 60.0)
            self.feeds[task.url] = state.model_dump(mode="json")
            return None
        if result.status == 304:
            state.last_ok = now
            self.feeds[task.url] = state.model_dump(mode="json")
            metrics.LAST_SUCCESS.labels(source.name).set(time.time())
            return None
        if result.status != 200:
            self.feeds[task.url] = state.model_dump(mode="json")
            await self.dead_letter(Rejected(f"feed-http-{result.status}", f"{task.kind} answered {result.status}", url=task.url), task)
            return None
        try:
            if task.kind == "sitemap" or looks_like_sitemap(result.body):
                sitemap = parse_sitemap(result.body, result.final_url)
                for child in sitemap.sitemaps:
                    await self.publish_task(_task("sitemap", child, source.name, DiscoveredVia(kind="sitemap", url=task.url), task.trace_id))
                kind = "news-sitemap" if sitemap.is_news else "sitemap"
                items = sitemap.urls
            else:
                items = parse_feed(result.body, result.final_url)
                kind = "feed"
        except FeedError as exc:
            self.feeds[task.url] = state.model_dump(mode="json")
            await self.dead_letter(Rejected("invalid-feed", f"{task.url}: {exc}", url=task.url), task, original=result.body)
            return None
        metrics.FEED_ITEMS.labels(source.name).inc(len(items))
        metrics.LAST_SUCCESS.labels(source.name).set(time.time())
        for item in items:
            if not source.allows_host(urlsplit(item.url).hostname or ""):
                continue
            via = DiscoveredVia(kind=kind, url=task.url, guid=item.guid, title=item.title, published_at=item.published_at)
            await self.publish_task(_task("page", item.url, source.name, via))
        state.etag = result.headers.get("etag")
        state.last_modified = result.headers.get("last-modified")
        state.last_ok = now
        state.items_seen = len(items)
        self.feeds[task.url] = state.model_dump(mode="json")


@dataclass(frozen=True)
class RetryLater:
    """The host asked us to wait (429/503 + Retry-After): run the task again later."""

    seconds: float


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
