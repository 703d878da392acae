"""`newsflow backfill ARCHIVE…`: the HTML responses of WARC archives, published as raw pages.

    archive ──read (thread)──▶ records ──select──▶ workers (decode, charset, canonical, event)
       ──in archive order──▶ batch of ≤200 ──Elasticsearch lookup──▶ publish | skip | dead-letter
       ──every write confirmed by the broker (acks=all)──▶ resume state saved past the batch

Infrastructure and data are kept apart as everywhere in newsflow: a broken HTML response is
a dead letter (stage `scraper`, the stage whose work the backfill does, with the archive and
offset in the detail); Kafka or Elasticsearch trouble is retried with backoff and, when it
does not pass, stops the run with exit code 1 before the state moves: `--resume` then goes
on from the last confirmed batch. Connection settings come from NEWSFLOW_KAFKA_* and
NEWSFLOW_ES_* (services/common/settings.py), like every service's.
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, time as day_time, timezone
from pathlib import Path
from typing import Any, TextIO

from services.batch.backfill import BackfillConfig, Prepared, decide
from services.batch.jobs import default_jobs, iterate_in_thread
from services.batch.pages import Filters, SourceBook, Skipped, select
from services.batch.progress import Progress, Tally, reasons_text
from services.batch.settings import ScraperLimits
from services.batch.state import BackfillState, StateError
from services.batch.warc import BrokenRegion, WarcEntry, is_warc, read_archive
from services.common.ordered import run_ordered
from services.common.outcomes import Rejected

BATCH_RECORDS = 200
BATCH_BYTES = 32 * 1024 * 1024


class BackfillStopped(Exception):
    """Kafka or Elasticsearch stayed unavailable, or refused a write: the run stops, the state stays put."""


class _LimitReached(Exception):
    pass


@dataclass
class BackfillOptions:
    archives: list[Path]
    filters: Filters = field(default_factory=Filters)
    sources_file: str | None = None
    limit: int | None = None
    resume: bool = False
    state_path: Path | None = None
    index_check: bool = True
    jobs: int | None = None
    time_limit: float = 10.0
    progress: bool | None = None
    wait: float = 300.0
    """Seconds Kafka and Elasticsearch may stay unavailable (or a write unconfirmed) before the run stops."""


def _parse_when(value: str | None, end_of_day: bool) -> datetime | None:
    if not value:
        return None
    when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if len(value) <= 10:  # a date: the whole day
        when = datetime.combine(when.date(), day_time.max if end_of_day else day_time.min)
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def options_from_args(args: Any) -> BackfillOptions | str:
    """The options from the command line, or a one-line usage error."""
    archives: list[Path] = []
    for name in args.archives:
        path = Path(name)
        if path.is_dir():
            archives.extend(sorted(p for p in path.rglob("*") if p.is_file() and is_warc(p)))
        elif path.is_file():
            archives.append(path)
        else:
            return f"no such archive: {name}"
    if not archives:
        return "no .warc or .warc.gz archive found in " + ", ".join(args.archives)
    try:
        since, until = _parse_when(args.since, False), _parse_when(args.until, True)
    except ValueError as exc:
        return f"--since/--until: {exc}"
    sources_file = args.sources
    if sources_file:
        from schemas.sources import SourcesError, load_sources

        try:
            load_sources(sources_file)
        except SourcesError as exc:
            return str(exc).replace("\n", " ")
    domains = tuple(d.strip().lower().lstrip(".") for value in args.domain for d in value.split(",") if d.strip())
    languages = tuple(code.strip().lower() for value in args.language for code in value.split(",") if code.strip())
    filters = Filters(domains=domains, sources_only=bool(sources_file) and not args.all_domains,
                      since=since, until=until, languages=languages)
    state_path = Path(args.state) if args.state else None
    return BackfillOptions(archives, filters, sources_file, args.limit, args.resume, state_path,
                           not args.no_index_check, args.jobs, args.time_limit, args.progress, args.wait)


def run(options: BackfillOptions, err: TextIO | None = None) -> int:
    err = err or sys.stderr
    try:
        return asyncio.run(Backfill(options, err).run())
    except KeyboardInterrupt:
        print("newsflow backfill: interrupted; --resume continues after the last confirmed batch", file=err)
        return 130


@dataclass
class _Item:
    archive: Path
    offset: int
    entry: WarcEntry | None
    region: BrokenRegion | None = None


class Backfill:
    def __init__(self, options: BackfillOptions, err: TextIO) -> None:
        self.options = options
        self.err = err
        self.tally = Tally()
        self.published_in_run: dict[str, datetime] = {}
        self.total_bytes = sum(p.stat().st_size for p in options.archives)
        self.done_bytes = 0
        self.position = 0

    # ------------------------------------------------------------------ set-up

    async def run(self) -> int:
        from aiokafka import AIOKafkaProducer

        from schemas.topics import DEAD_LETTERS, RAW_PAGES, topic_name
        from services.common.admin import ensure_topics
        from services.common.dead_letters import DeadLetterSink
        from services.common.delivery import Publisher
        from services.common.settings import KafkaSettings, RuntimeSettings
        from services.common.stage import pooled
        from services.common.workers import PoolUnavailable, WorkerPool

        options = self.options
        state_path = options.state_path or RuntimeSettings().data_dir / "backfill-state.json"
        try:
            self.state = BackfillState.load(state_path)
        except StateError as exc:
            print(f"newsflow backfill: {exc}", file=self.err)
            return 2
        kafka = KafkaSettings()
        try:
            await ensure_topics(kafka, [RAW_PAGES, DEAD_LETTERS], timeout=options.wait)
        except Exception as exc:  # noqa: BLE001 - any failure to reach Kafka ends the run here
            print(f"newsflow backfill: cannot reach Kafka at {kafka.bootstrap}: {type(exc).__name__}: {exc}", file=self.err)
            return 1
        producer = AIOKafkaProducer(
            **kafka.aiokafka_kwargs(), acks="all", enable_idempotence=True, compression_type="gzip",  # type: ignore[arg-type]
            max_request_size=RAW_PAGES.max_message_bytes, linger_ms=20,
        )
        await producer.start()
        raw_topic = topic_name(RAW_PAGES, kafka.topic_namespace)
        dlq_topic = topic_name(DEAD_LETTERS, kafka.topic_namespace)

        def sender(topic: str):  # type: ignore[no-untyped-def]
            async def send(key: bytes | None, value: bytes) -> Any:
                return await producer.send(topic, value, key=key)
            return send

        self.raw_out = Publisher(raw_topic, sender(raw_topic), "scraper", max_wait=options.wait)
        self.dead_letters = DeadLetterSink("scraper", Publisher(dlq_topic, sender(dlq_topic), "scraper", max_wait=options.wait).deliver)
        self.es = self.alias = None
        if options.index_check:
            from elasticsearch import AsyncElasticsearch

            from services.common.settings import ElasticsearchSettings

            es_settings = ElasticsearchSettings()
            self.es, self.alias = AsyncElasticsearch(**es_settings.client_kwargs()), es_settings.alias  # type: ignore[arg-type]
        config = BackfillConfig(ScraperLimits().page_limits(), options.filters, options.sources_file,
                                RAW_PAGES.max_message_bytes - 256 * 1024)
        self.limits = config.limits
        self.book = SourceBook()
        if options.sources_file:
            from schemas.sources import load_sources

            self.book = SourceBook(load_sources(options.sources_file))
        jobs = options.jobs or default_jobs()
        pool = WorkerPool("backfill", "services.batch.backfill:prepare_backfill", (config,), size=jobs,
                          time_limit=options.time_limit)
        self.progress = Progress(self.tally, self._describe, unit="records", fraction=self._fraction,
                                 enabled=Progress.wanted(options.progress, self.err), stream=self.err)
        code = 0
        try:
            await pool.start()
            self.handle = pooled(pool, "backfill")
            for archive in options.archives:
                await self._archive(archive, jobs)
                self.done_bytes += archive.stat().st_size
        except _LimitReached:
            pass
        except (BackfillStopped, PoolUnavailable) as exc:
            self.progress.close()
            print(f"newsflow backfill: stopped: {exc}; --resume continues after the last confirmed batch", file=self.err)
            code = 1
        finally:
            self.progress.close()
            pool.close()
            await producer.stop()
            if self.es is not None:
                await self.es.close()
        print(self.summary(), file=self.err, flush=True)
        return code

    # ------------------------------------------------------------------ one archive

    async def _archive(self, archive: Path, jobs: int) -> None:
        options = self.options
        entry = self.state.entry(archive) if options.resume else self.state.restart(archive)
        if options.resume and entry.complete:
            print(f"newsflow backfill: {archive}: already complete in {self.state.path}; skipped", file=self.err)
            return
        after = entry.last_offset if options.resume else None
        self.archive_state = entry
        self.buffer: list[tuple[_Item, Any]] = []
        self.buffer_bytes = 0

        def items():  # type: ignore[no-untyped-def]
            for record in read_archive(archive, start=after or 0, max_payload=self.limits.max_bytes):
                if isinstance(record, BrokenRegion):
                    yield _Item(archive, record.offset, None, record)
                elif after is None or record.offset > after:
                    yield _Item(archive, record.offset, record)

        await run_ordered(iterate_in_thread(items(), size_of=lambda item: len(item.entry.payload) if item.entry else 0),
                          self._start, self._finish, window=2 * jobs)
        await self._flush()
        entry.complete = True
        await asyncio.to_thread(self.state.save)

    async def _start(self, item: _Item) -> Any:
        if item.region is not None:
            return Rejected("archive-damaged", item.region.detail)
        assert item.entry is not None
        skipped = select(item.entry, self.book, self.options.filters)
        if skipped is not None:
            return skipped
        return await self.handle(item.entry)

    async def _finish(self, item: _Item, outcome: Any) -> None:
        self.position = item.offset
        self.buffer.append((item, outcome))
        if isinstance(outcome, Prepared):
            self.buffer_bytes += len(outcome.value)
        pending = sum(1 for _, o in self.buffer if isinstance(o, Prepared))
        limit_near = self.options.limit is not None and self.tally.outcomes["published"] + pending >= self.options.limit
        if len(self.buffer) >= BATCH_RECORDS or self.buffer_bytes >= BATCH_BYTES or limit_near:
            await self._flush()
        self.progress.update()

    # ------------------------------------------------------------------ one batch

    async def _flush(self) -> None:
        """Decide, publish and dead-letter one batch; the state moves only once all is confirmed."""
        from services.common.delivery import DeliveryFailed

        batch, self.buffer, self.buffer_bytes = self.buffer, [], 0
        if not batch:
            return
        indexed = await self._indexed([o.article_id for _, o in batch if isinstance(o, Prepared)])
        writes: list[Any] = []
        done_upto = None
        published = 0
        limit = self.options.limit
        for item, outcome in batch:
            if limit is not None and self.tally.outcomes["published"] + published >= limit:
                break
            done_upto = item.offset
            self.tally.done += 1
            if isinstance(outcome, Prepared):
                skipped = decide(outcome, indexed.get(outcome.article_id), self.published_in_run)
                if skipped is not None:
                    self.tally.skip(skipped.reason)
                    continue
                self.published_in_run[outcome.article_id] = outcome.fetched_at
                writes.append(self.raw_out.deliver(outcome.article_id.encode(), outcome.value))
                published += 1
            elif isinstance(outcome, Skipped):
                self.tally.skip(outcome.reason)
            else:
                writes.append(self._dead_letter(item, outcome))
                self.tally.reject(outcome.reason)
        results = await asyncio.gather(*writes, return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            first = failures[0]
            raise BackfillStopped(str(first) if isinstance(first, DeliveryFailed) else f"{type(first).__name__}: {first}")
        self.tally.outcomes["published"] += published
        if done_upto is not None:
            self.archive_state.last_offset = done_upto
            self.archive_state.published += published
            self.archive_state.updated_at = None
            await asyncio.to_thread(self.state.save)
        if limit is not None and self.tally.outcomes["published"] >= limit:
            raise _LimitReached()

    async def _dead_letter(self, item: _Item, rejected: Rejected) -> None:
        entry = item.entry
        where = f"backfill {item.archive.name}@{item.offset}"
        detail = f"{where}: {rejected.detail}"
        url = rejected.url or (entry.url if entry else None)
        await self.dead_letters.reject(
            Rejected(rejected.reason, detail, rejected.article_id, url, rejected.trace_id),
            original_value=(entry.payload or None) if entry else None,
            original_key=(rejected.article_id or url or "").encode() or None,
        )

    async def _indexed(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """fetched_at and content_hash of those of `ids` the index holds; retries while Elasticsearch is away."""
        if self.es is None or not ids:
            return {}
        from elasticsearch import ApiError, NotFoundError, TransportError

        from services.common.retry import Backoff

        backoff, attempt, started = Backoff(0.5, 15.0), 0, time.monotonic()
        while True:
            try:
                found = await self.es.search(index=self.alias, query={"ids": {"values": ids}}, size=len(ids),
                                             source=["fetched_at", "content_hash"])
                return {hit["_id"]: hit["_source"] for hit in found["hits"]["hits"]}
            except NotFoundError:
                return {}  # no index yet: nothing is indexed
            except (TransportError, ApiError) as exc:
                status = getattr(exc, "status_code", None) or getattr(getattr(exc, "meta", None), "status", None)
                retryable = isinstance(exc, TransportError) or status in (429, 502, 503, 504)
                if not retryable or time.monotonic() - started > self.options.wait:
                    raise BackfillStopped(f"Elasticsearch lookup failed: {type(exc).__name__}: {exc}") from exc
                delay = backoff.delay(attempt)
                attempt += 1
                self.progress.close()
                print(f"newsflow backfill: Elasticsearch unavailable ({type(exc).__name__}); retrying in {delay:.1f} s",
                      file=self.err, flush=True)
                await asyncio.sleep(delay)

    # ------------------------------------------------------------------ reporting

    def _fraction(self) -> float | None:
        return (self.done_bytes + self.position) / self.total_bytes if self.total_bytes else None

    def _describe(self, tally: Tally) -> str:
        published = tally.outcomes["published"]
        rate = published / tally.elapsed if tally.elapsed else 0.0
        return (f"published {published} ({rate:.1f} pages/s)  skipped {tally.outcomes['skipped']}"
                f"  dead letters {tally.outcomes['rejected']}")

    def summary(self) -> str:
        tally = self.tally
        elapsed = tally.elapsed
        published = tally.outcomes["published"]
        text = (f"newsflow backfill: {tally.done} records in {elapsed:.1f} s ({tally.done / elapsed if elapsed else 0:.1f}/s): "
                f"{published} published ({published / elapsed if elapsed else 0:.1f} pages/s), "
                f"{tally.outcomes['rejected']} dead-lettered")
        if tally.rejected:
            text += f" ({reasons_text(tally.rejected)})"
        text += f", {tally.outcomes['skipped']} skipped"
        if tally.skipped:
            text += f" ({reasons_text(tally.skipped)})"
        return text
