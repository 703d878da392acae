"""Poll schedule and the due index of the `later` state: pure, no clock, no Kafka."""

from __future__ import annotations

from schemas.sources import Source
from services.scraper.schedule import DueIndex, PollSchedule, due_time


def source(name: str, interval: float | None = None) -> Source:
    return Source(name=name, feeds=[f"https://{name}.example/feed"], poll_interval=interval)


def test_every_source_is_due_at_once_then_every_interval() -> None:
    polls = PollSchedule(default_interval=300)
    fast, slow = source("fast", 60), source("slow")
    assert [s.name for s in polls.take_due([fast, slow], now=1000)] == ["fast", "slow"]
    assert polls.take_due([fast, slow], now=1059) == []
    assert [s.name for s in polls.take_due([fast, slow], now=1060)] == ["fast"]
    assert [s.name for s in polls.take_due([slow], now=1299)] == []
    assert [s.name for s in polls.take_due([fast, slow], now=1300)] == ["fast", "slow"], "the default interval applies"


def test_a_forgotten_source_is_due_on_the_next_tick() -> None:
    polls = PollSchedule(default_interval=300)
    s = source("s")
    polls.take_due([s], now=10)
    assert polls.take_due([s], now=11) == []
    polls.forget("s")
    assert [x.name for x in polls.take_due([s], now=12)] == ["s"]
    polls.forget("never-seen")  # harmless


def test_due_keys_come_out_in_time_order_once() -> None:
    index = DueIndex()
    index.rebuild({"b": 20, "a": 10, "c": 30})
    assert not index.stale and len(index) == 3
    assert index.pop_due(25) == ("a", 10)
    assert index.pop_due(25) == ("b", 20)
    assert index.pop_due(25) is None, "c is not due yet"
    assert index.pop_due(30) == ("c", 30)
    assert index.pop_due(10**9) is None and len(index) == 0


def test_rewritten_and_discarded_keys_are_skipped() -> None:
    index = DueIndex()
    index.rebuild({})
    index.put("moved", 5)
    index.put("moved", 50)  # rewritten: only the new time counts
    index.put("gone", 6)
    index.discard("gone")
    assert index.pop_due(40) is None
    assert index.pop_due(50) == ("moved", 50)


def test_the_index_starts_stale_and_can_be_marked_stale_again() -> None:
    index = DueIndex()
    assert index.stale
    index.rebuild({"a": 1})
    index.mark_stale()
    assert index.stale
    index.rebuild({"b": 2})
    assert index.pop_due(5) == ("b", 2), "a rebuild replaces what was indexed"
    assert index.pop_due(5) is None


def test_due_time_reads_only_well_formed_values() -> None:
    assert due_time({"at": 7, "t": {}}) == 7
    assert due_time({"at": "7"}) is None
    assert due_time({"t": {}}) is None
    assert due_time(None) is None and due_time("garbage") is None
