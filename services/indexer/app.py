"""Indexer wiring: news.articles.enriched.v1 → batches → Elasticsearch bulk → ack.

Offsets are acknowledged only after every item of a batch has an outcome from
Elasticsearch (indexed, stale or dead-lettered), so a crash or an Elasticsearch
outage never loses an article; redelivered articles are harmless because `_id` is
the article id and versions only move forward.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import faust
from elasticsearch import ApiError, AsyncElasticsearch

from schemas.common import utcnow
from schemas.enriched_article_v1 import EnrichedArticleV1
from schemas.topics import DEAD_LETTERS, ENRICHED_ARTICLES
from services.common.app import build_app, run_worker, stop_service, topic
from services.common.dead_letters import DeadLetterSink, InvalidRatioGuard, TooManyInvalid
from services.common.delivery import DeliveryFailed, Publisher
from services.common.logs import get_logger
from services.common.metrics import EVENTS_IN, EVENTS_OUT, LAST_EVENT_TIMESTAMP, PROCESSING_SECONDS
from services.common.outcomes import Rejected
from services.common.retry import is_transient_status
from services.common.stage import decode_model
from services.indexer import metrics
from services.indexer.batch_outcomes import Pending, build_items, bulk_items, settle
from services.indexer.batching import BatchLimits, Batcher
from services.indexer.bulk import BulkWriter, RetryPolicy
from services.indexer.settings import IndexerSettings
from services.indexer.templates import IndexNames, install

log = get_logger(__name__)


def create_app(settings: IndexerSettings) -> faust.App:
    app = build_app("indexer", settings)
    enriched_topic = topic(app, ENRICHED_ARTICLES, settings)
    dlq_topic = topic(app, DEAD_LETTERS, settings)
    names = IndexNames(settings.es.alias)
    dead_letters = DeadLetterSink("indexer", Publisher.for_faust_topic(dlq_topic, "indexer").deliver)
    guard = InvalidRatioGuard(settings.runtime.max_invalid_ratio, settings.runtime.invalid_window)
    state: dict[str, Any] = {}
    installed = asyncio.Event()

    def client() -> AsyncElasticsearch:
        if "es" not in state:
            state["es"] = AsyncElasticsearch(**settings.es.client_kwargs())  # type: ignore[arg-type]
        return state["es"]

    async def es_ready() -> bool:
        health = await client().cluster.health(timeout="2s")
        return health.get("status") in ("green", "yellow") and installed.is_set()

    app.newsflow_health.extra_checks["elasticsearch"] = es_ready  # type: ignore[attr-defined]

    async def ensure_installed() -> None:
        delay = 0.5
        while not installed.is_set():
            try:
                created = await install(client(), names, replicas=settings.replicas)
                log.info("index contract installed", alias=names.alias, write_alias=names.write_alias, created_first_index=created)
                installed.set()
            except Exception as exc:  # noqa: BLE001 - classified below
                if isinstance(exc, ApiError) and not is_transient_status(exc.meta.status):
                    # The cluster refused our templates: a bug, missing privileges or an
                    # incompatible cluster, not an outage.
                    await stop_service(f"indexer: Elasticsearch refused the index templates: {str(exc)[:500]}")
                log.warning("cannot install index templates yet", error=repr(exc), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30)

    async def dead_letter(p: Pending, rejected: Rejected, trace_id: str | None = None) -> None:
        message = p.event.message
        await dead_letters.reject(rejected, original_value=p.raw_value, original_key=message.key, topic=message.topic,
                                  partition=message.partition, offset=message.offset, trace_id=trace_id)

    async def flush(batch: list[Pending]) -> None:
        await ensure_installed()
        writer = BulkWriter(client(), names, RetryPolicy(settings.retry_base, settings.retry_cap), refresh=settings.refresh)
        started = time.perf_counter()
        # Serialising hundreds of articles is CPU work: keep it off the event loop.
        planned = await asyncio.to_thread(build_items, batch, utcnow())
        settled = settle(planned, await writer.write(bulk_items(planned)))
        now = time.time()
        for outcome in settled:
            if outcome.rejected is not None:
                await dead_letter(outcome.pending, outcome.rejected, outcome.trace_id)
            elif outcome.indexed:
                metrics.FRESHNESS.observe(max(0.0, now - outcome.pending.article.fetched_at.timestamp()))  # type: ignore[union-attr]
                EVENTS_OUT.labels("indexer", names.write_alias).inc()
        # Acknowledge only now: every item of the batch has its outcome.
        for p in batch:
            await state["stream"].ack(p.event)
        PROCESSING_SECONDS.labels("indexer").observe((time.perf_counter() - started) / max(1, len(batch)))
        LAST_EVENT_TIMESTAMP.labels("indexer").set(now)
        for outcome in settled:
            guard.record(outcome.invalid)

    async def guarded_flush(batch: list[Pending]) -> None:
        """`flush`, with the failures that must stop the indexer turned into a stop.

        The batch is then not acknowledged: Kafka redelivers it after the restart.
        """
        try:
            await flush(batch)
        except TooManyInvalid as exc:
            await stop_service(f"indexer: {exc}")
        except DeliveryFailed as exc:
            await stop_service(f"indexer: a dead letter could not be written ({exc}); the batch is not acknowledged")
        except ApiError as exc:
            # Not an outage (those are retried in BulkWriter): the cluster refuses the request
            # itself (401/403: credentials or privileges; 400; one document too large for a
            # request). Retrying cannot help, dead-lettering would hide a configuration fault.
            await stop_service(f"indexer: Elasticsearch refused a bulk request with {exc.meta.status} "
                               f"({str(exc)[:300]}); the batch is not acknowledged")

    batcher: Batcher[Pending] = Batcher(
        guarded_flush,
        BatchLimits(settings.batch_max_items, settings.batch_max_bytes, settings.batch_max_wait),
        size_of=lambda p: p.size,
    )

    @app.agent(enriched_topic)
    async def index_articles(stream):  # type: ignore[no-untyped-def]
        manual = stream.noack()
        state["stream"] = manual
        async for event in manual.events():
            EVENTS_IN.labels("indexer", event.message.topic).inc()
            value = event.message.value
            article = decode_model(EnrichedArticleV1, value)
            await batcher.add(Pending(event, article, value, len(value or b"")))

    @app.task
    async def flush_due_batches() -> None:
        # A loop, not a 0.2 s timer: a flush can take longer than the tick.
        while not app.should_stop:
            await batcher.flush_if_due()
            await asyncio.sleep(0.1)

    @app.task
    async def install_templates() -> None:
        await ensure_installed()

    @app.on_before_shutdown.connect  # type: ignore[misc]
    async def close_client(app_, **kwargs) -> None:  # type: ignore[no-untyped-def]
        if "es" in state:
            await state["es"].close()

    return app


def main() -> None:
    settings = IndexerSettings()
    run_worker(create_app(settings), "indexer", settings)


if __name__ == "__main__":
    main()
