"""Indexer wiring: news.articles.enriched.v1 → batches → Elasticsearch bulk → ack.

Offsets are acknowledged only after every item of a batch has an outcome from
Elasticsearch (indexed, stale or dead-lettered), so a crash or an Elasticsearch
outage never loses an article; redelivered articles are harmless because `_id` is
the article id and versions only move forward.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Callable

import faust
from elasticsearch import ApiError, AsyncElasticsearch

from schemas.common import utcnow
from schemas.enriched_article_v1 import EnrichedArticleV1
from schemas.topics import DEAD_LETTERS, ENRICHED_ARTICLES
from services.common.app import build_app, run_event_agent, run_until_stage_stops, run_worker, stop_service, topic
from services.common.dead_letters import DeadLetterSink, InvalidRatioGuard
from services.common.delivery import Publisher
from services.common.logs import get_logger
from services.common.retry import Backoff, is_transient_status
from services.common.stage import EventPath, RawEvent
from services.indexer import metrics
from services.indexer.batch_outcomes import Pending, build_items, bulk_items, settle
from services.indexer.batching import BatchLimits, Batcher
from services.indexer.bulk import BulkWriter
from services.indexer.settings import IndexerSettings
from services.indexer.templates import IndexNames, install

log = get_logger(__name__)
# Installing the index contract while Elasticsearch is not reachable yet.
INSTALL_BACKOFF = Backoff(0.5, 30.0)


class _Elasticsearch:
    """One client for the service, made on first use (no I/O while the app is built)."""

    def __init__(self, settings: IndexerSettings) -> None:
        self._settings = settings
        self._client: AsyncElasticsearch | None = None

    def __call__(self) -> AsyncElasticsearch:
        if self._client is None:
            self._client = AsyncElasticsearch(**self._settings.es.client_kwargs())  # type: ignore[arg-type]
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()


class _IndexContract:
    """Installs the index templates and first index once; /readyz waits for it."""

    def __init__(self, client: _Elasticsearch, names: IndexNames, replicas: int) -> None:
        self.client = client
        self.names = names
        self.replicas = replicas
        self.installed = asyncio.Event()

    async def ready(self) -> bool:
        health = await self.client().cluster.health(timeout="2s")
        return health.get("status") in ("green", "yellow") and self.installed.is_set()

    async def ensure(self) -> None:
        """Returns once installed: an outage is retried with backoff, a refusal stops the service."""
        names = self.names
        attempt = 0
        while not self.installed.is_set():
            try:
                created = await install(self.client(), names, replicas=self.replicas)
                log.info("index contract installed", alias=names.alias, write_alias=names.write_alias, created_first_index=created)
                self.installed.set()
            except Exception as exc:  # noqa: BLE001 - classified below
                if isinstance(exc, ApiError) and not is_transient_status(exc.meta.status):
                    # The cluster refused our templates: a bug, missing privileges or an
                    # incompatible cluster, not an outage.
                    await stop_service(f"indexer: Elasticsearch refused the index templates: {str(exc)[:500]}")
                delay = INSTALL_BACKOFF.delay(attempt)
                attempt += 1
                log.warning("cannot install index templates yet", error=repr(exc), retry_in=round(delay, 2))
                await asyncio.sleep(delay)


Batched = tuple[Pending, Callable[[], Awaitable[Any]]]
"""An event of a batch and how to acknowledge it (through the stream that read it)."""


def _batch_flusher(settings: IndexerSettings, client: _Elasticsearch, contract: _IndexContract,
                   path: EventPath) -> Callable[[list[Batched]], Awaitable[None]]:
    """The batcher's flush: write, act on every outcome, then acknowledge the whole batch.

    Failures that must stop the indexer become a stop (a refused dead letter or the stop rule
    through the event path, a refused bulk request here); the batch is then not acknowledged
    and Kafka redelivers it after the restart.
    """
    names = contract.names

    async def flush(batch: list[Batched]) -> None:
        await contract.ensure()
        writer = BulkWriter(client(), names, Backoff(settings.retry_base, settings.retry_cap), refresh=settings.refresh)
        started = time.perf_counter()
        # Serialising hundreds of articles is CPU work: keep it off the event loop.
        planned = await asyncio.to_thread(build_items, [p for p, _ in batch], utcnow())
        settled = settle(planned, await writer.write(bulk_items(planned)))
        now = time.time()
        for outcome in settled:
            if outcome.rejected is not None:
                await path.reject(outcome.pending.event, outcome.rejected, outcome.trace_id)
            elif outcome.indexed:
                metrics.FRESHNESS.observe(max(0.0, now - outcome.pending.article.fetched_at.timestamp()))  # type: ignore[union-attr]
                path.emitted(names.write_alias)
        # Acknowledge only now: every item of the batch has its outcome.
        for _, ack in batch:
            await ack()
        path.finished(started, events=len(batch))
        for outcome in settled:
            path.record(outcome.invalid)

    async def guarded_flush(batch: list[Batched]) -> None:
        try:
            await run_until_stage_stops(flush(batch))
        except ApiError as exc:
            # Not an outage (those are retried in BulkWriter): the cluster refuses the request
            # itself (401/403: credentials or privileges; 400; one document too large for a
            # request). Retrying cannot help, dead-lettering would hide a configuration fault.
            await stop_service(f"indexer: Elasticsearch refused a bulk request with {exc.meta.status} "
                               f"({str(exc)[:300]}); the batch is not acknowledged")

    return guarded_flush


def create_app(settings: IndexerSettings) -> faust.App:
    app = build_app("indexer", settings)
    enriched_topic = topic(app, ENRICHED_ARTICLES, settings)
    dlq_topic = topic(app, DEAD_LETTERS, settings)
    client = _Elasticsearch(settings)
    contract = _IndexContract(client, IndexNames(settings.es.alias), settings.replicas)
    app.health.extra_checks["elasticsearch"] = contract.ready
    runtime = settings.runtime
    path = EventPath("indexer", DeadLetterSink("indexer", Publisher.for_faust_topic(dlq_topic, "indexer").deliver),
                     InvalidRatioGuard(runtime.max_invalid_ratio, runtime.invalid_window))
    batcher: Batcher[Batched] = Batcher(
        _batch_flusher(settings, client, contract, path),
        BatchLimits(settings.batch_max_items, settings.batch_max_bytes, settings.batch_max_wait),
        size_of=lambda item: item[0].size,
    )

    async def add_to_batch(event: RawEvent, ack: Callable[[], Awaitable[Any]]) -> None:
        # Acknowledged by the flush, once Elasticsearch settled the whole batch.
        article = path.decode(EnrichedArticleV1, event)
        await batcher.add((Pending(event, article, len(event.value or b"")), ack))

    @app.agent(enriched_topic)
    async def index_articles(stream):  # type: ignore[no-untyped-def]
        await run_event_agent(stream, add_to_batch)

    @app.task
    async def flush_due_batches() -> None:
        # A loop, not a 0.2 s timer: a flush can take longer than the tick.
        while not app.should_stop:
            await batcher.flush_if_due()
            await asyncio.sleep(0.1)

    @app.task
    async def install_templates() -> None:
        await contract.ensure()

    @app.on_before_shutdown.connect  # type: ignore[misc]
    async def close_client(app_, **kwargs) -> None:  # type: ignore[no-untyped-def]
        await client.close()

    return app


def main() -> None:
    settings = IndexerSettings()
    run_worker(create_app(settings), "indexer", settings)


if __name__ == "__main__":
    main()
