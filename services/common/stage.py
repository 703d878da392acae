"""The per-event loop shared by the parser and enrichment: decode → process → emit or dead-letter.

A stage supplies pure functions; this module does the routing:

    bytes ──decode──▶ input model ──process──▶ output model ──emit──▶ next topic
              │                       │
              └──── Rejected ─────────┴──────────────▶ dead-letter topic

`process` may run in an executor (threads or processes) so CPU-heavy work never
blocks the event loop that keeps Kafka heartbeats and commits going.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, AsyncIterator, Awaitable, Callable, Generic, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from services.common.dead_letters import DeadLetterSink, InvalidRatioGuard
from services.common.logs import bind_event, get_logger
from services.common.metrics import EVENTS_IN, EVENTS_OUT, INFRA_RETRIES, LAST_EVENT_TIMESTAMP, PROCESSING_SECONDS
from services.common.outcomes import Rejected

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
    expected_type = model.model_fields["event_type"].default
    expected_version = model.model_fields["schema_version"].default
    got_type, got_version = payload.get("event_type"), payload.get("schema_version")
    if got_type != expected_type or got_version != expected_version:
        return Rejected(
            "unsupported-schema",
            f"expected event_type={expected_type!r} schema_version={expected_version!r}, "
            f"got event_type={got_type!r} schema_version={got_version!r}",
            article_id=article_id if isinstance(article_id, str) else None,
            url=url if isinstance(url, str) else None,
        )
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in exc.errors()[:10]
        )
        return Rejected(
            "invalid-schema",
            f"{model.__name__}: {problems}",
            article_id=article_id if isinstance(article_id, str) else None,
            url=url if isinstance(url, str) else None,
        )


@dataclass
class Stage(Generic[In, Out]):
    """One stream stage: its name, schemas and pure per-event function."""

    name: str
    input_model: type[In]
    process: Callable[[In], Out | Rejected]
    key_of: Callable[[Out], bytes]
    executor: Executor | None = None
    retry_base: float = 0.5
    """First backoff (seconds) when infrastructure fails under `process`; doubles up to 30 s."""

    async def run_process(self, item: In) -> Out | Rejected:
        if self.executor is None:
            return self.process(item)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, self.process, item)


@dataclass
class RawEvent:
    """What a stage needs of a consumed Kafka message."""

    key: bytes | None
    value: bytes | None
    topic: str
    partition: int
    offset: int


async def run_stage(
    stage: Stage[In, Out],
    events: AsyncIterator[RawEvent],
    emit: Callable[[bytes, bytes], Awaitable[Any]],
    dead_letters: DeadLetterSink,
    guard: InvalidRatioGuard,
    out_topic: str,
) -> None:
    """Consume `events` forever; each one ends up emitted or dead-lettered, never dropped.

    Raises TooManyInvalid when the dead-letter share is abnormal; infrastructure
    errors from `emit` propagate (the message is not acked and will be redelivered).
    """
    async for event in events:
        EVENTS_IN.labels(stage.name, event.topic).inc()
        started = time.perf_counter()
        decoded = decode_model(stage.input_model, event.value)
        trace_id = getattr(decoded, "trace_id", None)
        with bind_event(trace_id=trace_id, article_id=getattr(decoded, "article_id", None) or getattr(decoded, "id", None)):
            if isinstance(decoded, Rejected):
                result: Out | Rejected = decoded
            else:
                result = await _process_with_retries(stage, decoded, base=stage.retry_base)
            if isinstance(result, Rejected):
                log.warning("dead-lettered", reason=result.reason, detail=result.detail[:300])
                await dead_letters.reject(
                    result,
                    original_value=event.value,
                    original_key=event.key,
                    topic=event.topic,
                    partition=event.partition,
                    offset=event.offset,
                    trace_id=trace_id,
                )
                guard.record(True)
            else:
                await emit(stage.key_of(result), result.model_dump_json().encode())
                EVENTS_OUT.labels(stage.name, out_topic).inc()
                guard.record(False)
        PROCESSING_SECONDS.labels(stage.name).observe(time.perf_counter() - started)
        LAST_EVENT_TIMESTAMP.labels(stage.name).set(time.time())


def is_infrastructure_error(exc: BaseException) -> bool:
    """Trouble with Kafka, a table's changelog, Elasticsearch or the network, not with the data."""
    module = type(exc).__module__ or ""
    return isinstance(exc, (OSError, TimeoutError, asyncio.TimeoutError, ConnectionError)) or module.startswith(
        ("faust", "aiokafka", "mode", "elasticsearch", "elastic_transport", "kafka")
    )


async def _process_with_retries(stage: Stage[In, Out], item: In, *, base: float = 0.5, cap: float = 30.0) -> Out | Rejected:
    """Run the stage's function; infrastructure errors are retried with backoff (consumption
    waits meanwhile), any other exception is this input's problem and becomes a rejection."""
    attempt = 0
    while True:
        try:
            return await stage.run_process(item)
        except Exception as exc:  # noqa: BLE001 - classified below
            if is_infrastructure_error(exc):
                delay = min(cap, base * 2**attempt)
                attempt += 1
                INFRA_RETRIES.labels(stage.name, type(exc).__module__.split(".")[0]).inc()
                log.warning("infrastructure error, retrying the event", error=f"{type(exc).__name__}: {exc}", retry_in=delay, attempt=attempt)
                await asyncio.sleep(delay)
                continue
            log.exception("stage raised on an event; dead-lettering it")
            return Rejected(
                "unexpected-error",
                f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}",
                article_id=getattr(item, "article_id", None) or getattr(item, "id", None),
                url=getattr(item, "url", None),
            )


async def faust_events(stream: Any) -> AsyncIterator[RawEvent]:
    """Adapt a faust stream to RawEvents (faust acks each event when the next is requested)."""
    async for event in stream.events():
        message = event.message
        yield RawEvent(
            key=message.key, value=message.value, topic=message.topic,
            partition=message.partition, offset=message.offset,
        )
