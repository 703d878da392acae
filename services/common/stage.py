"""The one event path of every stage: decode → process → emit or dead-letter → ack.

A stage supplies pure functions (`StageLogic`); this module routes their results:

    bytes ──decode──▶ input model ──process──▶ output model ──encode──▶ Emit ──deliver──▶ next topic
              │                       │                                                    │
              └──── Rejected ─────────┴───────────────────▶ dead-letter topic ──deliver──▶ ack

`handle_event` (decode, process, encode) is pure: it runs in a killable worker process
(services/common/workers.py) for untrusted, CPU-heavy work, or inline for cheap steps.

`StageRunner` keeps the promise "emitted or dead-lettered, never dropped, never acked
before": events are handled concurrently (up to `window` at once, so every worker is
busy), but finished strictly in the order they were read, and each one is acknowledged
only after the broker confirmed its output or its dead letter. Acks are therefore
contiguous: a committed offset never skips an event whose output is not on Kafka.

Failure classes:
- bad data (a Rejected from the stage's function, an exception raised by pure code, a
  time limit exceeded, a worker that died twice on one event): dead-lettered, never retried;
- infrastructure (Kafka, a table's changelog, Elasticsearch, the network) under an inline
  function: retried with backoff while consumption waits;
- a write the broker refuses for good, or too many dead letters in a row (the stop rule):
  the service stops without acknowledging the event, with one clear log line, and exits
  non-zero so that the orchestrator backs off and an alert fires.

`EventPath` is the part every stage shares, whatever its acknowledgement timing: counting
what comes in and goes out, dead-lettering a Rejected with the original event's coordinates,
the processing-time metrics and the stop rule, with a refused write or a tripped stop rule
raised as `StageStopped`. `StageRunner` (parser, enrichment) uses it per event; the indexer
uses it around a batch (acknowledged once Elasticsearch settled every item) and the scraper
around its crawler (a frontier task is acknowledged by a callback when the crawl is done).
"""

from __future__ import annotations

import asyncio
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Awaitable, Callable, Generic, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from services.common.dead_letters import DeadLetterSink, InvalidRatioGuard, TooManyInvalid
from services.common.delivery import DeliveryFailed, Publisher
from services.common.logs import bind_event, get_logger
from services.common.metrics import (
    EVENTS_IN, EVENTS_OUT, INFRA_RETRIES, LAST_EVENT_TIMESTAMP, PROCESSING_SECONDS,
)
from services.common.ordered import run_ordered
from services.common.outcomes import Rejected
from services.common.retry import Backoff, is_infrastructure_error
from services.common.workers import PoolUnavailable, WorkerCrashed, WorkerPool, WorkFailed, WorkTimedOut

log = get_logger(__name__)

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=BaseModel)


def decode_model(model: type[In], value: bytes | None) -> In | Rejected:
    """Bytes → model, or a Rejected that says precisely what is wrong."""
    if value is None:
        return Rejected("empty-message", "the message has no value (tombstone or empty payload)")
    try:
        payload = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        return Rejected("invalid-json", f"value is not JSON: {exc}")
    if not isinstance(payload, dict):
        return Rejected("invalid-schema", f"expected a JSON object, got {type(payload).__name__}")
    article_id = payload.get("article_id") or payload.get("id")
    url = payload.get("url")
    article_id = article_id if isinstance(article_id, str) and len(article_id) <= 64 else None
    url = url if isinstance(url, str) and len(url) <= 8192 else None
    trace_id = payload.get("trace_id") if isinstance(payload.get("trace_id"), str) else None
    expected_type = model.model_fields["event_type"].default
    expected_version = model.model_fields["schema_version"].default
    got_type, got_version = payload.get("event_type"), payload.get("schema_version")
    if got_type != expected_type or got_version != expected_version:
        return Rejected(
            "unsupported-schema",
            f"expected event_type={expected_type!r} schema_version={expected_version!r}, "
            f"got event_type={str(got_type)[:100]!r} schema_version={str(got_version)[:100]!r}",
            article_id=article_id, url=url, trace_id=trace_id,
        )
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in exc.errors()[:10]
        )
        return Rejected("invalid-schema", f"{model.__name__}: {problems}"[:4000], article_id=article_id, url=url, trace_id=trace_id)


@dataclass(frozen=True)
class Emit:
    """What a stage publishes for one input: the encoded output and what the wiring needs to know."""

    key: bytes
    value: bytes
    article_id: str | None = None
    trace_id: str | None = None
    notes: dict[str, Any] = field(default_factory=dict)
    """Stage-specific facts for the service's metrics (computed where the work ran)."""


Outcome = Emit | Rejected


@dataclass
class StageLogic(Generic[In, Out]):
    """A stage's pure part: its input schema and its per-event function."""

    name: str
    input_model: type[In]
    process: Callable[[In], Out | Rejected]
    key_of: Callable[[Out], bytes]
    notes_of: Callable[[In, Out | Rejected], dict[str, Any]] | None = None

    def handle(self, value: bytes | None) -> Outcome:
        """decode → process → encode, as one pure step (no I/O; may raise on a bug)."""
        decoded = decode_model(self.input_model, value)
        if isinstance(decoded, Rejected):
            return decoded
        trace_id = getattr(decoded, "trace_id", None)
        result = self.process(decoded)
        notes = self.notes_of(decoded, result) if self.notes_of is not None else {}
        if isinstance(result, Rejected):
            if result.trace_id is None and trace_id:
                result = Rejected(result.reason, result.detail, result.article_id, result.url, trace_id, notes)
            elif notes:
                result = Rejected(result.reason, result.detail, result.article_id, result.url, result.trace_id, notes)
            return result
        article_id = getattr(result, "article_id", None) or getattr(result, "id", None)
        return Emit(self.key_of(result), result.model_dump_json().encode(), article_id, trace_id, notes)


def handle_in_worker(logic: StageLogic[Any, Any]) -> Callable[[bytes | None], Outcome]:
    """The handler a worker pool runs (see WorkerPool: `prepare` returns this)."""
    return logic.handle


@dataclass
class RawEvent:
    """What a stage needs of a consumed Kafka message."""

    key: bytes | None
    value: bytes | None
    topic: str
    partition: int
    offset: int
    source: Any = None
    """The transport's own event (faust's), for acknowledging it."""


Handler = Callable[[bytes | None], Awaitable[Outcome]]


def pooled(pool: WorkerPool, stage: str) -> Handler:
    """A handler that runs `StageLogic.handle` in a killable worker, under the pool's time limit.

    A worker that dies on an event is replaced and the event tried once more; dying twice
    (or running over the limit once) makes it a dead letter: one poisonous page must not
    stop the stream.
    """

    async def handle(value: bytes | None) -> Outcome:
        for attempt in (1, 2):
            try:
                return await pool.run(value)  # type: ignore[no-any-return]
            except WorkTimedOut:
                log.error("time limit exceeded; the worker was replaced", stage=stage, limit=pool.time_limit)
                return Rejected("timeout", f"{stage}: the event took longer than the {pool.time_limit:g} s limit")
            except WorkerCrashed:
                log.error("a worker died on the event", stage=stage, attempt=attempt)
            except WorkFailed as exc:
                return Rejected("unexpected-error", f"{stage}: {exc}\n{exc.remote_traceback}"[:4000])
            except PoolUnavailable as exc:
                raise StageStopped(f"{stage}: {exc}") from exc
        return Rejected("worker-crashed", f"{stage}: a worker process died twice on this event")

    return handle


def inline(logic: StageLogic[Any, Any], backoff: Backoff | None = None) -> Handler:
    """A handler that runs `StageLogic.handle` in this process (cheap steps that use tables).

    Infrastructure errors under it (a table's changelog, Kafka) are retried with backoff while
    consumption waits; any other exception is the input's fault and becomes a dead letter.
    """
    backoff = backoff or Backoff(0.5, 30.0)

    async def handle(value: bytes | None) -> Outcome:
        attempt = 0
        while True:
            try:
                return logic.handle(value)
            except Exception as exc:  # noqa: BLE001 - classified below
                if is_infrastructure_error(exc):
                    INFRA_RETRIES.labels(logic.name, type(exc).__module__.split(".")[0]).inc()
                    delay = backoff.delay(attempt)
                    attempt += 1
                    log.warning("infrastructure error, retrying the event", error=f"{type(exc).__name__}: {exc}",
                                retry_in=round(delay, 2), attempt=attempt)
                    await asyncio.sleep(delay)
                    continue
                log.exception("stage raised on an event; dead-lettering it", stage=logic.name)
                return Rejected("unexpected-error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"[:4000])

    return handle


class StageStopped(Exception):
    """The stage must stop without acknowledging the current event (see `StageRunner`)."""


@dataclass
class EventPath:
    """What every stage does around its own work on an event, written once.

    `name` labels the metrics (`stage`) and starts every stop message; the sink names the
    stage in the dead-letter records. Several paths of one service may share a stop rule
    (the enrichment's two steps count towards one). Acknowledging is the caller's: it comes
    after `reject` or the output's delivery, and before `record`.
    """

    name: str
    dead_letters: DeadLetterSink
    stop_rule: InvalidRatioGuard

    def received(self, event: RawEvent) -> None:
        """Count an event read from its topic (`decode` does this itself)."""
        EVENTS_IN.labels(self.name, event.topic).inc()

    def decode(self, model: type[In], event: RawEvent) -> In | Rejected:
        """Count the event in and decode it with the stage's input schema (see `decode_model`)."""
        self.received(event)
        return decode_model(model, event.value)

    async def reject(self, event: RawEvent, rejected: Rejected, trace_id: str | None = None) -> None:
        """Dead-letter `event` (its key, value, topic, partition and offset) with the rejection.

        Returns once the broker confirmed the dead letter, so the caller may acknowledge the
        event next. Raises StageStopped when the broker refuses it for good: the event must
        then stay unacknowledged.
        """
        log.warning("dead-lettered", reason=rejected.reason, detail=rejected.detail[:300])
        try:
            await self.dead_letters.reject(
                rejected, original_value=event.value, original_key=event.key, topic=event.topic,
                partition=event.partition, offset=event.offset, trace_id=trace_id,
            )
        except DeliveryFailed as exc:
            raise self.stopped(event, exc) from exc

    async def emit(self, event: RawEvent, output: Publisher, key: bytes, value: bytes) -> None:
        """Publish the output of `event` and count it; StageStopped when the broker refuses it."""
        try:
            await output.deliver(key, value)
        except DeliveryFailed as exc:
            raise self.stopped(event, exc) from exc
        self.emitted(output.topic)

    def emitted(self, topic: str, count: int = 1) -> None:
        """Count outputs confirmed on `topic` (an Elasticsearch alias for the indexer)."""
        EVENTS_OUT.labels(self.name, topic).inc(count)

    def record(self, invalid: bool) -> None:
        """Count one finished input for the stop rule; StageStopped when it trips.

        Call it after the input was acknowledged: the event that trips the rule is done, the
        ones after it are not read.
        """
        try:
            self.stop_rule.record(invalid)
        except TooManyInvalid as exc:
            raise StageStopped(f"{self.name}: {exc}") from exc

    def finished(self, started: float | None = None, events: int = 1) -> None:
        """Mark inputs as handled: `newsflow_last_event_timestamp_seconds`, and with `started`
        (a `time.perf_counter()` reading) the processing time, per event over `events`."""
        if started is not None:
            PROCESSING_SECONDS.labels(self.name).observe((time.perf_counter() - started) / max(1, events))
        LAST_EVENT_TIMESTAMP.labels(self.name).set(time.time())

    def stopped(self, event: RawEvent, cause: BaseException) -> StageStopped:
        """The StageStopped for a write refused while `event` was being finished."""
        return StageStopped(f"{self.name}: {cause}; the event at {event.topic}[{event.partition}]@{event.offset} "
                            "is not acknowledged and will be redelivered")


@dataclass
class StageRunner:
    """Consumes events, runs the handler, publishes, acknowledges — in input order."""

    path: EventPath
    handle: Handler
    output: Publisher
    window: int = 1
    on_outcome: Callable[[Outcome], None] | None = None
    """Called in the service process after each outcome is delivered (per-stage metrics)."""

    @property
    def name(self) -> str:
        return self.path.name

    async def run(self, events: AsyncIterator[RawEvent], ack: Callable[[RawEvent], Awaitable[Any]]) -> None:
        """Returns when `events` ends; raises StageStopped when the stage must stop.

        Up to `window` events are handled at once; each is finished (published, then acked)
        in the order it was read. The caller turns StageStopped into a stop of the service.
        """

        async def start(event: RawEvent) -> tuple[Outcome, float]:
            self.path.received(event)
            started = time.perf_counter()
            return await self.handle(event.value), started

        async def finish(event: RawEvent, handled: tuple[Outcome, float]) -> None:
            outcome, started = handled
            await self._finish(event, outcome, ack)
            self.path.finished(started)

        await run_ordered(events, start, finish, self.window)

    async def _finish(self, event: RawEvent, outcome: Outcome, ack: Callable[[RawEvent], Awaitable[Any]]) -> None:
        with bind_event(trace_id=outcome.trace_id, article_id=outcome.article_id):
            if isinstance(outcome, Rejected):
                await self.path.reject(event, outcome, outcome.trace_id)
            else:
                await self.path.emit(event, self.output, outcome.key, outcome.value)
            if self.on_outcome is not None:
                self.on_outcome(outcome)
            await ack(event)
            self.path.record(isinstance(outcome, Rejected))


async def faust_events(stream: Any) -> AsyncIterator[RawEvent]:
    """A faust stream's events as RawEvents (the stream must be `noack()`: acks are explicit)."""
    async for event in stream.events():
        message = event.message
        yield RawEvent(
            key=message.key, value=message.value, topic=message.topic,
            partition=message.partition, offset=message.offset, source=event,
        )
