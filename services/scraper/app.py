"""Scraper wiring: faust topics, tables and agents around the `Crawler`.

    crawl requests ──▶ handle_crawl_requests ──▶ sources table (global: every worker sees it)
    sources file + sources table ──▶ schedule_polls (owner of requests partition 0) ──▶ frontier
    frontier ──▶ crawl_frontier ──▶ Crawler ──▶ raw pages / frontier / dead letters
    crawl state (seen, later, feeds: RocksDB + changelogs) ◀──▶ Crawler: dedup, re-fetch schedule,
        parked tasks, feed validators
    release_later (timer) ──▶ frontier: due re-fetches and parked tasks
    expire_state (timer) ──▶ tombstones for state older than the retention

Frontier offsets are acknowledged only when a task is finished (published, skipped,
parked or dead-lettered) and its state changes are confirmed on the changelog, so a worker
killed mid-crawl resumes where it stopped; the seen state (restored from its changelog when
a partition is assigned, before that partition's tasks run) makes the resumed work skip what
was already published.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, Awaitable, Callable

import faust
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from schemas.common import utcnow
from schemas.crawl_request_v1 import CrawlRequestV1
from schemas.frontier_task_v1 import FrontierTaskV1
from schemas.sources import SourcesFile, load_sources
from schemas.topics import CRAWL_REQUESTS, DEAD_LETTERS, FRONTIER, RAW_PAGES
from services.common.app import build_app, run_event_agent, run_worker, running_consumer, stop_service, topic
from services.common.dead_letters import DeadLetterSink, InvalidRatioGuard, dead_letter_record
from services.common.delivery import DeliveryFailed, Publisher
from services.common.logs import get_logger
from services.common.outcomes import Rejected
from services.common.retry import Backoff, is_infrastructure_error
from services.common.service_catalogue import BY_NAME
from services.common.settings import ServiceSettings
from services.common.stage import EventPath, RawEvent
from services.scraper.changelog import KafkaChangelogReader, ensure_state_changelogs
from services.scraper.crawler import Crawler, CrawlerConfig, feed_tasks, page_task
from services.scraper.fetch import FetchLimits
from services.scraper.safety import parse_pinned_hosts
from services.scraper.schedule import PollSchedule
from services.scraper.source_changes import apply_source_changes, source_change
from services.scraper.state import TABLES as STATE_TABLES
from services.scraper.state import CrawlState, KeyValueStore, MemoryStore, RocksResources, RocksStore

log = get_logger(__name__)
RESTORE_BACKOFF = Backoff(1.0, 30.0)


class ScraperSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_SCRAPER_", extra="ignore")

    http_port: int = BY_NAME["scraper"].http_port
    sources_file: Path = Field(default=Path("deploy/local/sources.yaml"))
    user_agent: str | None = Field(default=None, description="Overrides the sources file's user_agent.")
    global_concurrency: int = Field(default=16, ge=1)
    max_pending: int = Field(default=2000, ge=1, description="Tasks queued in memory overall (backpressure beyond).")
    max_pending_per_host: int = Field(default=100, ge=1, description="Tasks queued per host; the surplus is parked.")
    park_after: float = Field(default=30.0, ge=0, description="A task that would wait longer for its host is parked.")
    max_page_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    connect_timeout: float = Field(default=10.0, gt=0)
    total_timeout: float = Field(default=30.0, gt=0, description="Deadline of one request.")
    page_budget: float = Field(default=60.0, gt=0, description="Request time all attempts of one task may take together.")
    max_redirects: int = Field(default=5, ge=0)
    fetch_attempts: int = Field(default=3, ge=1, description="Requests per task for timeouts and 5xx.")
    backoff_base: float = Field(default=1.0, gt=0, description="First pause of a host after a 5xx or a timeout (doubles, capped).")
    backoff_cap: float = Field(default=300.0, gt=0)
    max_retry_after: float = Field(default=3600.0, gt=0, description="Retry-After is honoured up to this many seconds.")
    schedule_tick: float = Field(default=1.0, gt=0, description="Seconds between checks for due feed polls.")
    refetch_scan_interval: float = Field(
        default=5.0, gt=0, description="Seconds between scans for due re-fetches and parked tasks."
    )
    pinned_hosts: str = Field(
        default="", description="host=address pairs, comma-separated: trusted DNS answers (like curl --resolve)."
    )
    state_store: str = Field(default="rocksdb://", description="Store of the crawl state: rocksdb:// (on disk) or memory://.")
    state_cache_mb: int = Field(default=32, ge=8, description="RocksDB block cache shared by all partitions, MiB.")
    state_write_buffer_mb: int = Field(
        default=32, ge=4, description="RocksDB memtables of all partitions together, MiB (charged to the cache)."
    )
    seen_retention_days: float = Field(default=30.0, gt=0, description="Crawl state untouched this long expires.")
    expire_interval: float = Field(default=3600.0, gt=0, description="Seconds between sweeps for expired state.")
    rebalance_grace: float = Field(
        default=5.0, ge=0, description="At a rebalance, requests under way get this long to finish before they are cancelled."
    )


class _Outputs:
    """The crawler's confirmed writes: raw pages, frontier tasks, dead letters of fetched pages.

    Every write waits for the broker's confirmation; one it refuses for good stops the
    scraper without acknowledging the frontier task, which is then redone after the restart.
    (The crawler writes from its own tasks, outside the agents' event path: it stops the
    service itself rather than raising StageStopped.)
    """

    def __init__(self, raw_topic: faust.TopicT, frontier_topic: faust.TopicT, dlq: Publisher, path: EventPath) -> None:
        self.raw_name = raw_topic.get_topic_name()
        self.frontier_name = frontier_topic.get_topic_name()
        self.raw = Publisher.for_faust_topic(raw_topic, "scraper")
        self.frontier = Publisher.for_faust_topic(frontier_topic, "scraper")
        self.dead_letters = DeadLetterSink("scraper", lambda k, v: self.confirmed(dlq, k, v))
        self.path = path

    @staticmethod
    async def confirmed(publisher: Publisher, key: bytes | None, value: bytes) -> None:
        try:
            await publisher.deliver(key, value)
        except DeliveryFailed as exc:
            await stop_service(f"scraper: {exc}; the task is not acknowledged")

    async def publish_raw(self, key: bytes, value: bytes) -> None:
        await self.confirmed(self.raw, key, value)
        self.path.emitted(self.raw_name)

    async def publish_task(self, task: FrontierTaskV1) -> None:
        await self.confirmed(self.frontier, task.host.encode(), task.model_dump_json().encode())

    async def dead_letter(self, rejected: Rejected, task: FrontierTaskV1, original: bytes | None = None) -> None:
        record = dead_letter_record(
            "scraper", rejected, original_value=original if original is not None else task.model_dump_json().encode(),
            original_key=task.host.encode(), topic=self.frontier_name, trace_id=task.trace_id,
        )
        await self.dead_letters.publish(record)


def open_crawl_state(app: faust.App, settings: ScraperSettings) -> tuple[CrawlState, dict[str, str]]:
    """The crawl state and its changelog topic per table.

    The state lives in the frontier's partitions (the worker that owns a host owns its
    pages' state), on disk, restored in bulk from its changelogs (services/scraper/state.py).
    """
    changelog_topics = {name: f"{app.conf.id}-{name}-changelog" for name in STATE_TABLES}
    state_dir = Path(app.conf.datadir) / "crawl-state"
    rocks = RocksResources(cache_bytes=settings.state_cache_mb * 1024 * 1024, write_buffer_bytes=settings.state_write_buffer_mb * 1024 * 1024)

    def open_store(partition: int) -> KeyValueStore:
        if settings.state_store.startswith("rocksdb"):
            return RocksStore(state_dir / f"frontier-{partition}", rocks)
        return MemoryStore()

    changelog_out: dict[tuple[str, int], Publisher] = {}

    async def deliver_changelog(table: str, partition: int, key: bytes, value: bytes | None) -> int | None:
        publisher = changelog_out.get((table, partition))
        if publisher is None:
            name = changelog_topics[table]

            async def send(k: bytes | None, v: bytes | None, name: str = name, partition: int = partition) -> Any:
                return await app.producer.send(name, k, v, partition, None, None)

            publisher = changelog_out[(table, partition)] = Publisher(name, send, "scraper")
        try:
            return getattr(await publisher.deliver(key, value), "offset", None)
        except DeliveryFailed as exc:
            await stop_service(f"scraper: crawl state: {exc}; the task is not acknowledged")
            return None

    return CrawlState(open_store, deliver_changelog), changelog_topics


def _crawler_config(settings: ScraperSettings, sources: SourcesFile) -> CrawlerConfig:
    limits = FetchLimits(
        connect_timeout=settings.connect_timeout,
        total_timeout=settings.total_timeout,
        max_bytes=settings.max_page_bytes,
        max_redirects=settings.max_redirects,
        attempts=settings.fetch_attempts,
        page_budget=settings.page_budget,
        backoff_base=settings.backoff_base,
        backoff_cap=settings.backoff_cap,
        max_retry_after=settings.max_retry_after,
    )
    return CrawlerConfig(
        user_agent=settings.user_agent or sources.user_agent,
        limits=limits,
        global_concurrency=settings.global_concurrency,
        max_pending=settings.max_pending,
        max_pending_per_host=settings.max_pending_per_host,
        park_after=settings.park_after,
        max_raw_event_bytes=RAW_PAGES.max_message_bytes - 256 * 1024,
        pinned_hosts=parse_pinned_hosts(settings.pinned_hosts),
        seen_retention=timedelta(days=settings.seen_retention_days),
    )


def _restorer(settings: ScraperSettings, state: CrawlState, crawler: Crawler, changelog_topics: dict[str, str]) -> Callable[[set[int]], Awaitable[None]]:
    """Restores newly assigned partitions of the crawl state; Kafka trouble is retried with backoff."""
    reader = KafkaChangelogReader(settings.kafka.aiokafka_kwargs(), changelog_topics.__getitem__)
    changelogs_ready: list[bool] = []

    async def restore(partitions: set[int]) -> None:
        attempt = 0
        while True:
            try:
                if not changelogs_ready:
                    await ensure_state_changelogs(settings.kafka, list(changelog_topics.values()), FRONTIER.partitions)
                    changelogs_ready.append(True)
                started, cpu = time.monotonic(), time.process_time()
                records = await state.restore(partitions, reader)
                # CPU seconds (the whole process's) beside wall seconds: on a busy machine the
                # wall time says more about the neighbours than about the restore.
                log.info("crawl state restored", partitions=sorted(partitions), records=records,
                         seconds=round(time.monotonic() - started, 2), cpu_seconds=round(time.process_time() - cpu, 2))
                crawler.reindex_later()
                return
            except Exception as exc:  # noqa: BLE001 - only infrastructure trouble is retried
                if not is_infrastructure_error(exc):
                    await stop_service(f"scraper: restoring the crawl state failed: {type(exc).__name__}: {exc}")
                    return
                delay = RESTORE_BACKOFF.delay(attempt)
                attempt += 1
                log.warning("restoring the crawl state failed; retrying", error=repr(exc), retry_in=round(delay, 1))
                await asyncio.sleep(delay)

    return restore


def _install_rebalance_handlers(app: faust.App, settings: ScraperSettings, frontier_topic: faust.TopicT, state: CrawlState,
                                crawler: Crawler, restore: Callable[[set[int]], Awaitable[None]]) -> set[asyncio.Task[None]]:
    """Restore the state of assigned partitions; give up unfinished tasks of revoked ones.

    Returns the restores under way (cancelled at shutdown).
    """
    restoring: set[asyncio.Task[None]] = set()

    @app.on_partitions_assigned.connect  # type: ignore[misc]
    async def restore_state(app_, assigned, **kwargs) -> None:  # type: ignore[no-untyped-def]
        # Only the assignment is taken here (a rebalance callback must be quick); the restore
        # runs beside it, and frontier events of a partition wait until it is restored.
        frontier_name = frontier_topic.get_topic_name()
        new = state.assign({tp.partition for tp in assigned if tp.topic == frontier_name})
        crawler.reindex_later()
        crawler.resume()
        if new:
            task = asyncio.ensure_future(restore(new))
            restoring.add(task)
            task.add_done_callback(restoring.discard)

    @app.on_partitions_revoked.connect  # type: ignore[misc]
    async def give_up_tasks(app_, revoked, **kwargs) -> None:  # type: ignore[no-untyped-def]
        # Every partition is taken away (eager rebalance) and restarts from its committed
        # offset wherever it goes: tasks not done are given up unacknowledged, what finished
        # has its state on the changelog and its offset committed before the group re-forms,
        # so the next owner of a partition neither redoes a finished task nor misses one.
        if not any(tp.topic == frontier_topic.get_topic_name() for tp in revoked):
            return
        dropped = await crawler.drop_tasks(settings.rebalance_grace)
        try:
            await state.flush()
            await app.consumer.commit()
        except Exception as exc:  # noqa: BLE001 - Kafka trouble: the next owner re-reads a little more
            log.warning("committing before the rebalance failed", error=repr(exc))
        log.info("rebalance: unfinished tasks given up", queued=dropped.queued, finished=dropped.finished, cancelled=dropped.cancelled)

    return restoring


def create_app(settings: ScraperSettings) -> faust.App:
    sources = load_sources(settings.sources_file)
    app = build_app("scraper", settings)
    # faust would wait at every rebalance until every task read so far is acknowledged: with
    # politeness delays that is minutes, the group expels the member meanwhile and the new
    # owners redo the tasks it is still running. The crawler gives them up instead
    # (`give_up_tasks` below).
    app.conf.stream_wait_empty = False
    requests_topic = topic(app, CRAWL_REQUESTS, settings)
    frontier_topic = topic(app, FRONTIER, settings)
    dlq = Publisher.for_faust_topic(topic(app, DEAD_LETTERS, settings), "scraper")
    # The stop rule counts the scraper's input messages that are not valid (frontier tasks and
    # crawl requests that do not decode): a bad deploy upstream. Fetch failures are the web's
    # state, not bad input, and have their own per-source alerts.
    path = EventPath("scraper", DeadLetterSink("scraper", dlq.deliver),
                     InvalidRatioGuard(settings.runtime.max_invalid_ratio, settings.runtime.invalid_window))
    out = _Outputs(topic(app, RAW_PAGES, settings), frontier_topic, dlq, path)

    # Run-time source changes: a global table, so every worker applies them to its tasks. JSON
    # keys and values: str keys must come back as str when it is rebuilt from its changelog.
    schema = faust.Schema(key_serializer="json", value_serializer="json")
    source_changes = app.GlobalTable("sources", partitions=CRAWL_REQUESTS.partitions, schema=schema, recovery_buffer_size=1)

    state, changelog_topics = open_crawl_state(app, settings)
    crawler = Crawler(
        _crawler_config(settings, sources),
        sources,
        seen=state.table("seen"),
        later=state.table("later"),
        feeds=state.table("feeds"),
        publish_raw=out.publish_raw,
        publish_task=out.publish_task,
        dead_letter=out.dead_letter,
    )

    async def state_restored() -> bool:
        return bool(app.tables.recovery.completed.is_set()) and state.ready

    app.health.extra_checks["state_restored"] = state_restored
    restoring = _install_rebalance_handlers(app, settings, frontier_topic, state, crawler,
                                            _restorer(settings, state, crawler, changelog_topics))

    applied_changes: list[dict[str, Any] | None] = [None]

    def sync_sources() -> None:
        """Apply the run-time source changes when they differ from the ones applied last."""
        changes = dict(source_changes.items())
        if changes != applied_changes[0]:
            applied_changes[0] = changes
            crawler.set_sources(*apply_source_changes(sources, changes))

    # When each source was last polled (by this worker, the owner of the requests partition).
    polls = PollSchedule(sources.defaults.poll_interval)

    @app.agent(frontier_topic)
    async def crawl_frontier(stream):  # type: ignore[no-untyped-def]
        await run_event_agent(stream, submit_task)

    async def submit_task(event: RawEvent, ack: Callable[[], Awaitable[Any]]) -> None:
        """Hand a frontier task to the crawler, which calls `done` when it is finished.

        The stop rule counts the task now; it is acknowledged, and its time stamped, only when done.
        """
        task = path.decode(FrontierTaskV1, event)
        if isinstance(task, Rejected):
            await path.reject(event, task)
            await ack()
            path.record(True)
            return
        path.record(False)
        if not await state.wait_ready(event.partition):
            return  # the partition went to another worker meanwhile; that one does the task

        async def done() -> None:
            # The task's state changes are on Kafka before its offset may be committed.
            await state.flush()
            await ack()
            path.finished()

        with state.handling(event.partition):
            await crawler.submit(task, done)

    @app.agent(requests_topic)
    async def handle_crawl_requests(stream):  # type: ignore[no-untyped-def]
        await run_event_agent(stream, handle_crawl_request)

    async def handle_crawl_request(event: RawEvent, ack: Callable[[], Awaitable[Any]]) -> None:
        request = path.decode(CrawlRequestV1, event)
        rejected = request if isinstance(request, Rejected) else await apply_crawl_request(request)
        if rejected is not None:
            await path.reject(event, rejected)
        await ack()
        # Only a request that does not decode is bad input; a refused change is an operator's slip.
        path.record(isinstance(request, Rejected))

    async def apply_crawl_request(request: CrawlRequestV1) -> Rejected | None:
        """Act on a valid crawl request; a Rejected when the source change it asks for is refused."""
        if request.kind == "url":
            # Without a source name the crawler picks the source whose domains cover the URL.
            await out.publish_task(page_task(request.url or "", request.source_name or "adhoc", force=request.force))
            return None
        change = source_change(request, active=crawler.sources, inactive=crawler.inactive, recorded=source_changes, at=utcnow())
        if isinstance(change, Rejected):
            return change
        if change.poll_now:
            polls.forget(change.name)
        # Recorded only: the poll timer polls it on its next tick, once.
        source_changes[change.name] = change.record
        if change.added is not None:
            log.info("source added at run time", source=change.name, feeds=len(change.added.feeds), sitemaps=len(change.added.sitemaps))
        else:
            log.info("source changed at run time", source=change.name, state=change.state)
        sync_sources()
        return None

    @app.timer(settings.schedule_tick)
    async def schedule_polls() -> None:
        """Apply run-time source changes; poll due feeds and sitemaps.

        Only the worker that owns the requests partition schedules polls, so a group
        of scrapers polls each feed once per interval.
        """
        sync_sources()
        consumer = running_consumer(app)
        if consumer is None:
            return
        owned = {tp.topic for tp in consumer.assignment()}
        if requests_topic.get_topic_name() in owned:
            for source in polls.take_due(list(crawler.sources.values()), time.monotonic()):
                for task in feed_tasks(source):
                    await out.publish_task(task)

    @app.timer(settings.refetch_scan_interval)
    async def release_later() -> None:
        """Publish due re-fetches and parked tasks (a scan of this worker's `later` partitions)."""
        await crawler.release_due()

    @app.timer(settings.expire_interval)
    async def expire_state() -> None:
        """Delete crawl state older than the retention; tombstones let the changelog compact."""
        removed = await crawler.sweep()
        if removed:
            log.info("expired crawl state", values=removed)

    @app.on_before_shutdown.connect  # type: ignore[misc]
    async def close_crawler(app_, **kwargs) -> None:  # type: ignore[no-untyped-def]
        await crawler.close()
        for task in list(restoring):
            task.cancel()
        await state.close()

    return app


def main() -> None:
    settings = ScraperSettings()
    run_worker(create_app(settings), "scraper", settings)


if __name__ == "__main__":
    main()
