"""The chaos run's plan and checker, without any server: the plan is reproducible from its seed
and covers every fault kind; the checker catches every kind of loss it is there to catch."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import pytest

from bench.chaos import FAULT_KINDS, Expected, judge, plan_faults

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def test_the_plan_is_reproducible_covers_every_kind_and_stays_in_its_window() -> None:
    plan = plan_faults(42, 20, 600.0)
    assert plan == plan_faults(42, 20, 600.0)
    assert plan != plan_faults(43, 20, 600.0)
    assert len(plan) == 20 and {f.kind for f in plan} == set(FAULT_KINDS)
    assert all(10.0 <= f.at < 600.0 for f in plan) and [f.at for f in plan] == sorted(f.at for f in plan)
    short = plan_faults(1, 5, 120.0, ("kill-service", "kill-worker"))
    assert len(short) == 5 and {f.kind for f in short} <= {"kill-service", "kill-worker"}
    with pytest.raises(ValueError):
        plan_faults(1, 0, 100.0)


def letter(key: str, stage: str = "parser", reason: str = "invalid-json") -> dict:  # type: ignore[type-arg]
    return {"stage": stage, "reason": reason, "original_key_b64": base64.b64encode(key.encode()).decode()}


def expected() -> Expected:
    return Expected(newest={"a": T0, "b": T0 + timedelta(minutes=5), "c": T0}, bad_keys={"bad-1", "bad-2"})


def test_a_clean_run_passes() -> None:
    hits = [("a", T0.isoformat()), ("b", (T0 + timedelta(minutes=5)).isoformat()), ("c", T0.isoformat())]
    verdict = judge(expected(), hits, 3, [letter("bad-1"), letter("bad-2"), letter("bad-2")], {"g t": 0})
    assert verdict.ok and verdict.indexed == 3 and verdict.dead_letter_copies == 1


@pytest.mark.parametrize(
    ("hits", "total", "letters", "lag", "what"),
    [
        ([("a", T0.isoformat()), ("b", (T0 + timedelta(minutes=5)).isoformat())], 2, None, None, "lost"),
        ([("a", T0.isoformat()), ("a", T0.isoformat()), ("b", (T0 + timedelta(minutes=5)).isoformat()), ("c", T0.isoformat())], 4, None, None, "duplicated"),
        ([("a", T0.isoformat()), ("b", T0.isoformat()), ("c", T0.isoformat())], 3, None, None, "stale"),
        (None, 4, None, None, "unexpected_docs"),
        (None, 3, [letter("bad-1"), letter("bad-2"), letter("x", "enrichment", "worker-crashed")], None, "unexpected_dead_letters"),
        (None, 3, [letter("bad-1")], None, "missing rejection"),
        (None, 3, None, {"g t": 3}, "uncommitted"),
    ],
)
def test_every_kind_of_failure_fails_the_run(hits, total, letters, lag, what) -> None:  # type: ignore[no-untyped-def]
    good = [("a", T0.isoformat()), ("b", (T0 + timedelta(minutes=5)).isoformat()), ("c", T0.isoformat())]
    verdict = judge(expected(), hits if hits is not None else good, total,
                    letters if letters is not None else [letter("bad-1"), letter("bad-2")], lag or {})
    assert not verdict.ok, what
