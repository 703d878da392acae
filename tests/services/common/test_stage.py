"""The shared stage loop, in process: every event is emitted or dead-lettered, never dropped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schemas.dead_letter_v1 import DeadLetterV1
from schemas.raw_page_v1 import RawPageV1
from services.common.dead_letters import DeadLetterSink, InvalidRatioGuard, TooManyInvalid
from services.common.outcomes import Rejected
from services.common.stage import RawEvent, Stage, decode_model, run_stage

RAW = (Path(__file__).resolve().parents[3] / "schemas/examples/raw_page.v1/seed-ru.json").read_bytes()


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


async def test_every_event_is_emitted_or_dead_lettered() -> None:
    emitted: list[tuple[bytes, bytes]] = []
    dead: list[tuple[bytes | None, bytes]] = []

    async def emit(key: bytes, value: bytes) -> None:
        emitted.append((key, value))

    async def send_dead(key: bytes | None, value: bytes) -> None:
        dead.append((key, value))

    def process(page: RawPageV1):  # type: ignore[no-untyped-def]
        if "boom" in (page.url or ""):
            raise RuntimeError("a bug on one input")
        return page if page.status == 200 else Rejected("not-ok-status", "status", page.article_id, page.url)

    stage = Stage("parser", RawPageV1, process, key_of=lambda p: p.article_id.encode())
    good = json.loads(RAW)
    bad_status = {**good, "status": 404}
    boom = {**good, "url": "https://x.example/boom"}

    async def events():  # type: ignore[no-untyped-def]
        for i, value in enumerate([json.dumps(good).encode(), b"garbage", json.dumps(bad_status).encode(), json.dumps(boom).encode()]):
            yield RawEvent(key=b"k", value=value, topic="in", partition=0, offset=i)

    await run_stage(stage, events(), emit, DeadLetterSink("parser", send_dead), InvalidRatioGuard(1.0, 10), "out")
    assert len(emitted) == 1 and emitted[0][0] == good["article_id"].encode()
    records = [DeadLetterV1.model_validate_json(v) for _, v in dead]
    assert [r.reason for r in records] == ["invalid-json", "not-ok-status", "unexpected-error"]
    assert [r.source_offset for r in records] == [1, 2, 3]
    assert records[0].original_value() == b"garbage"
    assert "a bug on one input" in records[2].detail


async def test_infrastructure_errors_are_retried_not_dead_lettered() -> None:
    emitted: list[bytes] = []
    dead: list[bytes] = []
    calls = {"n": 0}

    def flaky(page: RawPageV1):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] < 3:
            raise ConnectionError("broker went away")
        return page

    async def emit(key: bytes, value: bytes) -> None:
        emitted.append(key)

    async def send_dead(key: bytes | None, value: bytes) -> None:
        dead.append(value)

    async def events():  # type: ignore[no-untyped-def]
        yield RawEvent(key=b"k", value=RAW, topic="in", partition=0, offset=0)

    stage = Stage("enrichment", RawPageV1, flaky, key_of=lambda p: p.article_id.encode(), retry_base=0.01)
    await run_stage(stage, events(), emit, DeadLetterSink("enrichment", send_dead), InvalidRatioGuard(1.0, 10), "out")
    assert calls["n"] == 3 and len(emitted) == 1 and not dead
