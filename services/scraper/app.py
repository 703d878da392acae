"""Scraper wiring: faust topics, tables and agents around the `Crawler`.

    crawl requests ──▶ handle_crawl_requests ──▶ frontier (keyed by host)
    sources file  ──▶ schedule_polls (owner of requests partition 0) ──▶ frontier
    frontier ──▶ crawl_frontier ──▶ Crawler ──▶ raw pages / frontier / dead letters
    seen table ◀──▶ Crawler (dedup + re-fetch schedule), feeds table (conditional GET)

Frontier offsets are acknowledged only when a task is finished, so a worker killed
mid-crawl resumes where it stopped; the seen table (changelog-backed) makes the
resumed work skip what was already published.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import faust
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from schemas.common import DiscoveredVia, utcnow
from schemas.crawl_request_v1 import CrawlRequestV1
from schemas.frontier_task_v1 import FrontierTaskV1
from schemas.topics import CRAWL_REQUESTS, DEAD_LETTERS, FRONTIER, RAW_PAGES
from services.common.app import build_app, run_worker, stop_service, topic
from services.common.dead_letters import DeadLetterSink, InvalidRatioGuard, TooManyInvalid, dead_letter_record
from services.common.delivery import DeliveryFailed, Publisher
from services.common.logs import get_logger
from services.common.metrics import EVENTS_IN, EVENTS_OUT, LAST_EVENT_TIMESTAMP
from services.common.outcomes import Rejected
from services.common.settings import ServiceSettings
from services.common.stage import decode_model
from services.scraper.crawler import Crawler, CrawlerConfig, feed_tasks, page_task
from services.scraper.fetch import FetchLimits
from services.scraper.safety import parse_pinned_hosts
from schemas.sources import SourcesError, load_sources, parse_source
from services.scraper.urls import host_key

log = get_logger(__name__)


class ScraperSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_SCRAPER_", extra="ignore")

    http_port: int = 8101
    sources_file: Path = Field(default=Path("deploy/local/sources.yaml"))
    user_agent: str | None = Field(default=None, description="Overrides the sources file's user_agent.")
    global_concurrency: int = Field(default=16, ge=1)
    max_pending: int = Field(default=1000, ge=1)
    max_page_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    connect_timeout: float = Field(default=10.0, gt=0)
    total_timeout: float = Field(default=30.0, gt=0)
    max_redirects: int = Field(default=5, ge=0)
    fetch_attempts: int = Field(default=3, ge=1)
    schedule_tick: float = Field(default=1.0, gt=0, description="Seconds between checks for due feed polls.")
    refetch_scan_interval: float = Field(
        default=30.0, gt=0, description="Seconds between scans of the seen table for articles due for a re-fetch."
    )
    pinned_hosts: str = Field(
        default="", description="host=address pairs, comma-separated: trusted DNS answers (like curl --resolve)."
    )


def create_app(settings: ScraperSettings) -> faust.App:
    sources = load_sources(settings.sources_file)
    app = build_app("scraper", settings)
    requests_topic = topic(app, CRAWL_REQUESTS, settings)
    frontier_topic = topic(app, FRONTIER, settings)
    raw_topic = topic(app, RAW_PAGES, settings)
    dlq_topic = topic(app, DEAD_LETTERS, settings)

    # Both tables live in the frontier's partitions: the worker that owns a host owns
    # its pages' state. Runtime sources live with the single requests partition.
    # JSON keys and values: str keys must come back as str when a table is rebuilt
    # from its changelog.
    schema = faust.Schema(key_serializer="json", value_serializer="json")
    seen = app.Table("seen", partitions=FRONTIER.partitions, schema=schema)
    feeds = app.Table("feeds", partitions=FRONTIER.partitions, schema=schema)
    runtime_sources = app.Table("sources", partitions=CRAWL_REQUESTS.partitions, schema=schema)

    # Every write waits for the broker's confirmation; one it refuses for good stops the
    # scraper without acknowledging the frontier task, which is then redone after the restart.
    raw_out = Publisher.for_faust_topic(raw_topic, "scraper")
    frontier_out = Publisher.for_faust_topic(frontier_topic, "scraper")
    dlq_out = Publisher.for_faust_topic(dlq_topic, "scraper")

    async def confirmed(publisher: Publisher, key: bytes | None, value: bytes) -> None:
        try:
            await publisher.deliver(key, value)
        except DeliveryFailed as exc:
            await stop_service(f"scraper: {exc}; the task is not acknowledged")

    dead_letters = DeadLetterSink("scraper", lambda k, v: confirmed(dlq_out, k, v))
    # The stop rule counts the scraper's input messages that are not valid (frontier tasks and
    # crawl requests that do not decode): a bad deploy upstream. Fetch failures are the web's
    # state, not bad input, and have their own per-source alerts.
    stop_rule = InvalidRatioGuard(settings.runtime.max_invalid_ratio, settings.runtime.invalid_window)

    async def check_input(valid: bool) -> None:
        try:
            stop_rule.record(not valid)
        except TooManyInvalid as exc:
            await stop_service(f"scraper: {exc}")

    async def publish_raw(key: bytes, value: bytes) -> None:
        await confirmed(raw_out, key, value)
        EVENTS_OUT.labels("scraper", raw_topic.get_topic_name()).inc()

    async def publish_task(task: FrontierTaskV1) -> None:
        await confirmed(frontier_out, task.host.encode(), task.model_dump_json().encode())

    async def dead_letter(rejected: Rejected, task: FrontierTaskV1, original: bytes | None = None) -> None:
        record = dead_letter_record(
            "scraper", rejected, original_value=original if original is not None else task.model_dump_json().encode(),
            original_key=task.host.encode(), topic=frontier_topic.get_topic_name(), trace_id=task.trace_id,
        )
        await dead_letters.publish(record)

    limits = FetchLimits(
        connect_timeout=settings.connect_timeout,
        total_timeout=settings.total_timeout,
        max_bytes=settings.max_page_bytes,
        max_redirects=settings.max_redirects,
        attempts=settings.fetch_attempts,
    )
    crawler = Crawler(
        CrawlerConfig(
            user_agent=settings.user_agent or sources.user_agent,
            limits=limits,
            global_concurrency=settings.global_concurrency,
            max_pending=settings.max_pending,
            max_raw_event_bytes=RAW_PAGES.max_message_bytes - 256 * 1024,
            pinned_hosts=parse_pinned_hosts(settings.pinned_hosts),
        ),
        sources,
        seen=seen,
        feeds=feeds,
        publish_raw=publish_raw,
        publish_task=publish_task,
        dead_letter=dead_letter,
    )
    app.newsflow_crawler = crawler  # type: ignore[attr-defined]

    @app.agent(frontier_topic)
    async def crawl_frontier(stream):  # type: ignore[no-untyped-def]
        manual = stream.noack()
        async for event in manual.events():
            EVENTS_IN.labels("scraper", event.message.topic).inc()
            task = decode_model(FrontierTaskV1, event.message.value)
            if isinstance(task, Rejected):
                await dead_letters.reject(task, original_value=event.message.value, original_key=event.message.key,
                                          topic=event.message.topic, partition=event.message.partition, offset=event.message.offset)
                await manual.ack(event)
                await check_input(False)
                continue
            await check_input(True)

            async def done(event=event) -> None:  # type: ignore[no-untyped-def]
                await manual.ack(event)
                LAST_EVENT_TIMESTAMP.labels("scraper").set(time.time())

            await crawler.submit(task, done)

    @app.agent(requests_topic)
    async def handle_crawl_requests(stream):  # type: ignore[no-untyped-def]
        manual = stream.noack()
        async for event in manual.events():
            EVENTS_IN.labels("scraper", event.message.topic).inc()
            await handle_crawl_request(event)
            await manual.ack(event)

    async def handle_crawl_request(event) -> None:  # type: ignore[no-untyped-def]
        request = decode_model(CrawlRequestV1, event.message.value)
        await check_input(not isinstance(request, Rejected))
        if isinstance(request, Rejected):
            await dead_letters.reject(request, original_value=event.message.value, original_key=event.message.key,
                                      topic=event.message.topic, partition=event.message.partition, offset=event.message.offset)
            return
        if request.kind == "url":
            # Without a source name the crawler picks the source whose domains cover the URL.
            await publish_task(page_task(request.url or "", request.source_name or "adhoc", force=request.force))
            return
        try:
            source = parse_source(request.source)
        except SourcesError as exc:
            await dead_letters.reject(Rejected("invalid-source", str(exc)), original_value=event.message.value,
                                      topic=event.message.topic, partition=event.message.partition, offset=event.message.offset)
            return
        runtime_sources[source.name] = source.model_dump(mode="json")
        crawler.add_source(source)
        for task in feed_tasks(source):
            await publish_task(task)
        log.info("source added at run time", source=source.name, feeds=len(source.feeds), sitemaps=len(source.sitemaps))

    last_poll: dict[str, float] = {}
    enqueued_refetches: dict[str, str] = {}

    @app.timer(settings.schedule_tick)
    async def schedule_polls() -> None:
        """Poll due feeds and sitemaps.

        Only the worker that owns the requests partition schedules polls, so a group
        of scrapers polls each feed once per interval.
        """
        consumer = getattr(app, "_consumer", None)
        if consumer is None:
            return
        owned = {tp.topic for tp in consumer.assignment()}
        if requests_topic.get_topic_name() in owned:
            for name, value in list(runtime_sources.items()):
                if name not in crawler.sources:
                    crawler.add_source(parse_source(value))
            now = time.monotonic()
            for source in list(crawler.sources.values()):
                interval = source.poll_interval or sources.defaults.poll_interval
                if now - last_poll.get(source.name, -1e9) >= interval:
                    last_poll[source.name] = now
                    for task in feed_tasks(source):
                        await publish_task(task)

    @app.timer(settings.refetch_scan_interval)
    async def schedule_refetches() -> None:
        """Re-fetch articles whose next check is due (a scan of this worker's table partitions)."""
        await _enqueue_due_refetches(seen, publish_task, enqueued_refetches)

    @app.on_before_shutdown.connect  # type: ignore[misc]
    async def close_crawler(app_, **kwargs) -> None:  # type: ignore[no-untyped-def]
        await crawler.close()

    return app


async def _enqueue_due_refetches(seen, publish_task, enqueued: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """Publish re-fetch tasks for articles whose next re-fetch is due.

    Tables can only be written while handling an event, so this timer only reads;
    `enqueued` remembers which due time was already enqueued, and the page task
    itself moves the entry to its next due time when it runs.
    """
    now = utcnow()
    for key, value in list(seen.items()):
        if not key.startswith("due:") or not isinstance(value, dict) or enqueued.get(key) == value.get("at"):
            continue
        try:
            due = datetime.fromisoformat(value["at"])
        except (KeyError, ValueError):
            continue
        if due <= now:
            enqueued[key] = value["at"]
            url = value["url"]
            task = FrontierTaskV1(
                kind="page", url=url, host=host_key(url), source=value.get("source", "adhoc"),
                discovered_via=DiscoveredVia(kind="refetch"), enqueued_at=now,
            )
            await publish_task(task)


def main() -> None:
    settings = ScraperSettings()
    run_worker(create_app(settings), "scraper", settings)


if __name__ == "__main__":
    main()
