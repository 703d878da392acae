"""The one event path, in process: every event is emitted or dead-lettered, acked in order, only after delivery."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from aiokafka.errors import MessageSizeTooLargeError, NotEnoughReplicasError
from prometheus_client import REGISTRY

from schemas.dead_letter_v1 import DeadLetterV1
from schemas.raw_page_v1 import RawPageV1
from services.common.dead_letters import DeadLetterSink, InvalidRatioGuard, TooManyInvalid
from services.common.delivery import DeliveryFailed, Publisher
from services.common.outcomes import Rejected
from services.common.retry import Backoff
from services.common.stage import Emit, EventPath, RawEvent, StageLogic, StageRunner, StageStopped, decode_model, inline, pooled
from services.common.workers import WorkerPool

RAW = (Path(__file__).resolve().parents[3] / "schemas/examples/raw_page.v1/seed-ru.json").read_bytes()
GOOD = json.loads(RAW)


def page(**changes: Any) -> bytes:
    return json.dumps({**GOOD, **changes}).encode()


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "empty-message"),
        (b"{nope", "invalid-json"),
        (b"[1, 2]", "invalid-schema"),
        (b'{"event_type": "raw_page", "schema_version": 2}', "unsupported-schema"),
        (b'{"event_type": "parsed_article", "schema_version": 1}', "unsupported-schema"),
        (b'{"event_type": "raw_page", "schema_version": 1, "url": 5}', "invalid-schema"),
    ],
)
def test_decoding_names_what_is_wrong(value: bytes | None, reason: str) -> None:
    result = decode_model(RawPageV1, value)
    assert isinstance(result, Rejected) and result.reason == reason


def test_invalid_ratio_guard_trips_only_when_the_window_is_mostly_bad() -> None:
    guard = InvalidRatioGuard(max_ratio=0.5, window=10)
    for _ in range(5):
        guard.record(True)
        guard.record(False)
    with pytest.raises(TooManyInvalid):
        for _ in range(10):
            guard.record(True)


class Topic:
    """A topic as the runner sees it: `send` returns a confirmation that may fail."""

    def __init__(self, name: str, fail_with: BaseException | None = None, fail_times: int = 10**9) -> None:
        self.name = name
        self.fail_with = fail_with
        self.fail_times = fail_times
        self.written: list[tuple[bytes | None, bytes]] = []

    async def send(self, key: bytes | None, value: bytes) -> asyncio.Future[None]:
        confirmation: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.fail_with is not None and self.fail_times > 0:
            self.fail_times -= 1
            confirmation.set_exception(self.fail_with)
        else:
            self.written.append((key, value))
            confirmation.set_result(None)
        return confirmation

    def publisher(self, max_wait: float = 1.0) -> Publisher:
        return Publisher(self.name, self.send, "parser", max_wait=max_wait, backoff=Backoff(0.01, 0.05))


def runner(handle: Any, out: Topic, dlq: Topic, *, window: int = 4, ratio: float = 1.0, size: int = 10) -> StageRunner:
    path = EventPath("parser", DeadLetterSink("parser", dlq.publisher().deliver), InvalidRatioGuard(ratio, size))
    return StageRunner(path, handle, out.publisher(), window=window)


async def feed(values: list[bytes | None]):  # type: ignore[no-untyped-def]
    for i, value in enumerate(values):
        yield RawEvent(key=b"k", value=value, topic="in", partition=0, offset=i)


def logic(process: Any) -> StageLogic[RawPageV1, RawPageV1]:
    return StageLogic("parser", RawPageV1, process, key_of=lambda p: p.article_id.encode())


async def test_every_event_is_emitted_or_dead_lettered_and_acked_after_its_write() -> None:
    out, dlq = Topic("out"), Topic("dlq")
    acked: list[tuple[int, int, int]] = []

    async def ack(event: RawEvent) -> None:
        acked.append((event.offset, len(out.written), len(dlq.written)))

    def process(p: RawPageV1) -> RawPageV1 | Rejected:
        if "boom" in p.url:
            raise RuntimeError("a bug on one input")
        return p if p.status == 200 else Rejected("not-ok-status", "status", p.article_id, p.url)

    values = [page(), b"garbage", page(status=404), page(url="https://x.example/boom")]
    await runner(inline(logic(process)), out, dlq).run(feed(values), ack)
    assert [k for k, _ in out.written] == [GOOD["article_id"].encode()]
    records = [DeadLetterV1.model_validate_json(v) for _, v in dlq.written]
    assert [r.reason for r in records] == ["invalid-json", "not-ok-status", "unexpected-error"]
    assert [r.source_offset for r in records] == [1, 2, 3]
    assert records[0].original_value() == b"garbage"
    assert "a bug on one input" in records[2].detail
    assert records[1].trace_id == GOOD["trace_id"]
    # Each ack came after its own write: (offset, outputs so far, dead letters so far).
    assert acked == [(0, 1, 0), (1, 1, 1), (2, 1, 2), (3, 1, 3)]


async def test_a_plain_oserror_from_pure_code_is_dead_lettered_not_retried() -> None:
    out, dlq = Topic("out"), Topic("dlq")
    calls = {"n": 0}

    def process(p: RawPageV1) -> RawPageV1:
        calls["n"] += 1
        raise OSError(36, "File name too long")  # what zoneinfo raises for a 300-character zone

    async def ack(event: RawEvent) -> None:
        pass

    await runner(inline(logic(process)), out, dlq).run(feed([page()]), ack)
    assert calls["n"] == 1 and not out.written
    assert DeadLetterV1.model_validate_json(dlq.written[0][1]).reason == "unexpected-error"


async def test_infrastructure_errors_under_an_inline_step_are_retried_not_dead_lettered() -> None:
    out, dlq = Topic("out"), Topic("dlq")
    calls = {"n": 0}

    def flaky(p: RawPageV1) -> RawPageV1:
        calls["n"] += 1
        if calls["n"] < 3:
            raise ConnectionError("broker went away")
        return p

    async def ack(event: RawEvent) -> None:
        pass

    await runner(inline(logic(flaky), Backoff(0.01, 0.02)), out, dlq).run(feed([page()]), ack)
    assert calls["n"] == 3 and len(out.written) == 1 and not dlq.written


async def test_events_handled_concurrently_are_acked_in_the_order_they_were_read() -> None:
    out, dlq = Topic("out"), Topic("dlq")
    acked: list[int] = []

    async def handle(value: bytes | None) -> Emit:
        delay = {b"0": 0.2, b"1": 0.0, b"2": 0.1, b"3": 0.0}[value or b""]
        await asyncio.sleep(delay)
        return Emit(b"k", value or b"")

    async def ack(event: RawEvent) -> None:
        acked.append(event.offset)

    started = asyncio.get_running_loop().time()
    await runner(handle, out, dlq, window=4).run(feed([b"0", b"1", b"2", b"3"]), ack)
    assert acked == [0, 1, 2, 3]
    assert [v for _, v in out.written] == [b"0", b"1", b"2", b"3"]
    assert asyncio.get_running_loop().time() - started < 0.3 + 0.25  # handled at once, not one after the other


@pytest.mark.parametrize("refusal", [MessageSizeTooLargeError(), NotEnoughReplicasError()])
async def test_a_write_the_broker_refuses_stops_the_stage_without_acking(refusal: BaseException) -> None:
    out, dlq = Topic("out", fail_with=refusal), Topic("dlq")
    acked: list[int] = []

    async def ack(event: RawEvent) -> None:
        acked.append(event.offset)

    async def handle(value: bytes | None) -> Emit:
        return Emit(b"k", value or b"")

    with pytest.raises(StageStopped, match=r"in\[0\]@0 is not acknowledged"):
        await runner(handle, out, dlq).run(feed([b"a", b"b", b"c"]), ack)
    assert acked == [] and out.written == []


async def test_a_transient_refusal_is_retried_until_the_broker_confirms() -> None:
    out, dlq = Topic("out", fail_with=NotEnoughReplicasError(), fail_times=2), Topic("dlq")
    acked: list[int] = []

    async def ack(event: RawEvent) -> None:
        acked.append(event.offset)

    async def handle(value: bytes | None) -> Emit:
        return Emit(b"k", value or b"")

    await runner(handle, out, dlq).run(feed([b"a"]), ack)
    assert acked == [0] and out.written == [(b"k", b"a")]


async def test_a_dead_letter_that_cannot_be_written_stops_the_stage_too() -> None:
    out, dlq = Topic("out"), Topic("dlq", fail_with=MessageSizeTooLargeError())
    acked: list[int] = []

    async def ack(event: RawEvent) -> None:
        acked.append(event.offset)

    with pytest.raises(StageStopped):
        await runner(inline(logic(lambda p: p)), out, dlq).run(feed([b"garbage"]), ack)
    assert acked == []


async def test_the_stop_rule_stops_the_stage_on_a_poisoned_topic() -> None:
    out, dlq = Topic("out"), Topic("dlq")
    acked: list[int] = []

    async def ack(event: RawEvent) -> None:
        acked.append(event.offset)

    with pytest.raises(StageStopped, match="dead-lettered"):
        await runner(inline(logic(lambda p: p)), out, dlq, ratio=0.5, size=10).run(feed([b"junk"] * 50), ack)
    # It stopped as soon as the window was full of dead letters, not at the end of the topic.
    assert len(acked) == 10 and len(dlq.written) == 10


async def test_pooled_work_over_the_limit_or_killing_its_worker_becomes_a_dead_letter() -> None:
    pool = WorkerPool("test", "tests.services.common.pool_handlers:make_stage_handler", size=2, time_limit=1.0)
    await pool.start()
    try:
        out, dlq = Topic("out"), Topic("dlq")

        async def ack(event: RawEvent) -> None:
            pass

        values = [page(url="https://x.example/slow"), page(url="https://x.example/die"),
                  page(url="https://x.example/boom"), page()]
        await runner(pooled(pool, "parser"), out, dlq).run(feed(values), ack)
        reasons = [DeadLetterV1.model_validate_json(v).reason for _, v in dlq.written]
        assert reasons == ["timeout", "worker-crashed", "unexpected-error"]
        assert "a pure function tripped" in DeadLetterV1.model_validate_json(dlq.written[2][1]).detail
        assert len(out.written) == 1  # the good page after them went through
    finally:
        pool.close()


# EventPath: the part of the path every stage shares, whatever its acknowledgement timing.

def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def event_path(dlq: Topic, *, name: str = "path-test", ratio: float = 1.0, size: int = 10,
               guard: InvalidRatioGuard | None = None) -> EventPath:
    return EventPath(name, DeadLetterSink("indexer", dlq.publisher().deliver), guard or InvalidRatioGuard(ratio, size))


def test_decode_counts_the_event_in_and_names_what_is_wrong() -> None:
    path = event_path(Topic("dlq"), name="path-decode")
    good = path.decode(RawPageV1, RawEvent(b"k", page(), "news.in", 0, 1))
    bad = path.decode(RawPageV1, RawEvent(b"k", b"{nope", "news.in", 0, 2))
    assert isinstance(good, RawPageV1) and good.article_id == GOOD["article_id"]
    assert isinstance(bad, Rejected) and bad.reason == "invalid-json"
    assert sample("newsflow_events_in_total", stage="path-decode", topic="news.in") == 2


async def test_reject_dead_letters_the_original_event_with_its_coordinates() -> None:
    dlq = Topic("dlq")
    path = event_path(dlq, name="path-reject")
    before = sample("newsflow_events_dead_lettered_total", stage="indexer", reason="not-ok")
    event = RawEvent(key=b"the-key", value=b"the bytes", topic="news.in", partition=3, offset=41)
    await path.reject(event, Rejected("not-ok", "why", article_id="a1", trace_id="in-the-rejection"), "trace-7")
    await path.reject(event, Rejected("not-ok", "again"))
    [(key, value), (_, second)] = dlq.written
    record = DeadLetterV1.model_validate_json(value)
    assert key == b"a1"
    assert (record.stage, record.reason, record.detail) == ("indexer", "not-ok", "why")
    assert (record.source_topic, record.source_partition, record.source_offset) == ("news.in", 3, 41)
    assert record.original_value() == b"the bytes" and record.original_key_b64 == "dGhlLWtleQ=="
    # The trace id is the one the caller names (each stage says which one its records carry);
    # without one the record gets a fresh id of its own.
    assert record.trace_id == "trace-7"
    assert DeadLetterV1.model_validate_json(second).trace_id not in (None, "trace-7", "in-the-rejection")
    assert sample("newsflow_events_dead_lettered_total", stage="indexer", reason="not-ok") == before + 2


async def test_a_dead_letter_the_broker_refuses_stops_the_stage_naming_the_event() -> None:
    path = event_path(Topic("dlq", fail_with=MessageSizeTooLargeError()), name="path-refused")
    with pytest.raises(StageStopped, match=r"^path-refused: .*news\.in\[2\]@9 is not acknowledged"):
        await path.reject(RawEvent(b"k", b"v", "news.in", 2, 9), Rejected("bad", "bad"))


async def test_emit_delivers_and_counts_only_what_the_broker_confirmed() -> None:
    good, refused = Topic("out"), Topic("out-refused", fail_with=MessageSizeTooLargeError())
    path = event_path(Topic("dlq"), name="path-emit")
    event = RawEvent(b"k", b"v", "news.in", 0, 5)
    await path.emit(event, good.publisher(), b"key", b"value")
    assert good.written == [(b"key", b"value")]
    with pytest.raises(StageStopped, match=r"news\.in\[0\]@5"):
        await path.emit(event, refused.publisher(), b"key", b"value")
    assert sample("newsflow_events_out_total", stage="path-emit", topic="out") == 1
    assert sample("newsflow_events_out_total", stage="path-emit", topic="out-refused") == 0
    path.emitted("articles-write", 3)  # what the indexer counts after a bulk write
    assert sample("newsflow_events_out_total", stage="path-emit", topic="articles-write") == 3


def test_the_stop_rule_of_the_path_stops_the_stage_when_the_window_is_mostly_bad() -> None:
    path = event_path(Topic("dlq"), name="path-rule", ratio=0.5, size=4)
    for invalid in (False, False, True, False, True):  # at most half of the last four
        path.record(invalid)
    with pytest.raises(StageStopped, match=r"^path-rule: .*dead-lettered"):
        path.record(True)  # three of the last four


def test_two_paths_sharing_a_stop_rule_count_towards_it_together() -> None:
    guard = InvalidRatioGuard(0.5, 4)
    nlp, stories = event_path(Topic("d1"), name="path-a", guard=guard), event_path(Topic("d2"), name="path-b", guard=guard)
    nlp.record(True)
    stories.record(True)
    nlp.record(False)
    with pytest.raises(StageStopped, match="^path-b: "):
        stories.record(True)


def test_finished_stamps_the_time_and_observes_the_time_per_event() -> None:
    path = event_path(Topic("dlq"), name="path-finished")
    path.finished()  # the scraper's way: a time stamp, no processing time
    assert sample("newsflow_processing_seconds_count", stage="path-finished") == 0
    assert abs(sample("newsflow_last_event_timestamp_seconds", stage="path-finished") - time.time()) < 5
    path.finished(time.perf_counter() - 2.0, events=4)  # a batch of four that took two seconds
    assert sample("newsflow_processing_seconds_count", stage="path-finished") == 1
    assert 0.5 <= sample("newsflow_processing_seconds_sum", stage="path-finished") < 0.6
